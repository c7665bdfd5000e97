package broker

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/remoting"
	"github.com/rocketgo/rocketgo/store"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// offsetID names one committed offset.
type offsetID struct {
	topic, group string
	queueID      int32
}

// offsetFlushInterval is how often committed offsets are written to the metadata
// database. Offsets arrive with nearly every pull; writing each one costs about as much
// as the rest of the pull, so they collect in memory and go out in one batch. A crash
// loses at most this much progress, and the consumer re-reads those messages, which
// at-least-once delivery allows (Java persists every 5 s).
const offsetFlushInterval = time.Second

// offsetTable holds the consumer offsets in memory; changed ones are written to the
// metadata database in batches every offsetFlushInterval and at Close.
type offsetTable struct {
	meta *metaDB
	now  func() time.Time
	log  zerolog.Logger

	// writeMu serializes batch writes with topic deletions, so a batch taken before a
	// deletion cannot write the deleted offsets back after it. Taken before mu.
	writeMu sync.Mutex
	mu      sync.RWMutex
	offsets map[offsetID]int64
	dirty   map[offsetID]int64 // changed since the last batch

	stop chan struct{}
	wg   sync.WaitGroup
}

// loadOffsetTable loads every committed offset and starts the batch writer.
func loadOffsetTable(m *metaDB, now func() time.Time, log zerolog.Logger) (*offsetTable, error) {
	o := &offsetTable{meta: m, now: now, log: log, offsets: map[offsetID]int64{}, dirty: map[offsetID]int64{}, stop: make(chan struct{})}
	err := m.scan([]byte{prefixOffset}, func(k, v []byte) error {
		topic, group, q, ok := parseOffsetKey(k)
		if !ok {
			return fmt.Errorf("broker: malformed offset key %q", k)
		}
		var co metapb.ConsumerOffset
		if err := proto.Unmarshal(v, &co); err != nil {
			return fmt.Errorf("broker: decode offset %s@%s:%d: %w", group, topic, q, err)
		}
		o.offsets[offsetID{topic, group, q}] = co.GetOffset()
		return nil
	})
	if err != nil {
		return nil, err
	}
	o.wg.Add(1)
	go o.loop()
	return o, nil
}

// loop writes the changed offsets every offsetFlushInterval until Close.
func (o *offsetTable) loop() {
	defer o.wg.Done()
	t := time.NewTicker(offsetFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			// A full disk is logged once by the disk guard; offsets stay pending.
			if err := o.writeDirty(false); err != nil && !errors.Is(err, diskguard.ErrFull) {
				o.log.Warn().Err(err).Msg("write consumer offsets; retrying")
			}
		}
	}
}

// Progress lists every committed offset, for the store's retention (a group that has
// committed an offset counts as subscribed).
func (o *offsetTable) Progress() []store.Consumption {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]store.Consumption, 0, len(o.offsets))
	for id, off := range o.offsets {
		out = append(out, store.Consumption{Group: id.group, Topic: id.topic, QueueID: id.queueID, Offset: off})
	}
	return out
}

// Get returns the committed offset of (group, topic, queueID).
func (o *offsetTable) Get(group, topic string, queueID int32) (int64, bool) {
	o.mu.RLock()
	off, ok := o.offsets[offsetID{topic, group, queueID}]
	o.mu.RUnlock()
	return off, ok
}

// Groups returns the groups with a committed offset on topic, sorted.
func (o *offsetTable) Groups(topic string) []string {
	seen := map[string]bool{}
	o.mu.RLock()
	for id := range o.offsets {
		if id.topic == topic {
			seen[id.group] = true
		}
	}
	o.mu.RUnlock()
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Commit records offset for (group, topic, queueID); the next batch writes it. An
// unchanged offset costs one map lookup under a read lock. It fails only for names an
// offset key cannot hold (a topic over 127 bytes, a group over 65535).
func (o *offsetTable) Commit(group, topic string, queueID int32, offset int64) error {
	if len(topic) > maxNameLen || len(group) > maxGroupKeyLen {
		return reject(errBadRequest, "cannot store an offset for topic of %d bytes and group of %d bytes", len(topic), len(group))
	}
	id := offsetID{topic, group, queueID}
	o.mu.RLock()
	old, ok := o.offsets[id]
	o.mu.RUnlock()
	if ok && old == offset {
		return nil
	}
	o.mu.Lock()
	o.offsets[id] = offset
	o.dirty[id] = offset
	o.mu.Unlock()
	return nil
}

// writeDirty writes the offsets changed since the last batch in one pebble batch
// (fsynced when sync is set). On failure they stay pending, unless committed again
// meanwhile.
func (o *offsetTable) writeDirty(sync bool) error {
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	// Take the length under the lock: when nothing is dirty the map is not swapped, and
	// Commit may be writing into it as soon as the lock is released.
	o.mu.Lock()
	batch := o.dirty
	n := len(batch)
	if n > 0 {
		o.dirty = make(map[offsetID]int64, n)
	} else {
		batch = nil
	}
	o.mu.Unlock()
	if n == 0 {
		if sync {
			return o.meta.Sync()
		}
		return nil
	}
	nowMS := o.now().UnixMilli()
	err := o.meta.applyRaw(n, func(put func(k, v []byte) error) error {
		var buf [24]byte
		for id, off := range batch {
			if err := put(offsetKey(id.topic, id.group, id.queueID), encodeConsumerOffset(buf[:0], off, nowMS)); err != nil {
				return err
			}
		}
		return nil
	}, sync)
	if err != nil {
		o.mu.Lock()
		for id, off := range batch {
			if _, newer := o.dirty[id]; !newer {
				o.dirty[id] = off
			}
		}
		o.mu.Unlock()
	}
	return err
}

// encodeConsumerOffset appends the metapb.ConsumerOffset wire form, written by hand so
// the batch does not pay for reflection: field 1 offset, field 2 update time.
func encodeConsumerOffset(dst []byte, offset, updateMS int64) []byte {
	dst = protowire.AppendTag(dst, 1, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(offset))
	dst = protowire.AppendTag(dst, 2, protowire.VarintType)
	return protowire.AppendVarint(dst, uint64(updateMS))
}

// DeleteTopic forgets every offset of topic, pending ones included.
func (o *offsetTable) DeleteTopic(topic string) error {
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	o.mu.Lock()
	for id := range o.offsets {
		if id.topic == topic {
			delete(o.offsets, id)
			delete(o.dirty, id)
		}
	}
	o.mu.Unlock()
	return o.meta.deletePrefix(offsetTopicPrefix(topic))
}

// Close stops the batch writer and writes every pending offset with fsync.
func (o *offsetTable) Close() error {
	close(o.stop)
	o.wg.Wait()
	return o.writeDirty(true)
}

// checkOffsetNames refuses names that cannot key an offset.
func checkOffsetNames(group, topic string, queueID int32) error {
	if err := checkTopicName(topic); err != nil {
		return err
	}
	if err := checkGroupName(group); err != nil {
		return err
	}
	if queueID < 0 {
		return reject(errBadRequest, "queueId %d is negative", queueID)
	}
	return nil
}

// offsetResponse answers req with code and the offset extField every offset answer
// carries (the Go client reads only that key for 29 and 30).
func offsetResponse(req *remoting.Command, c int16, remark string, offset int64) *remoting.Command {
	resp := req.NewResponse(c, remark)
	resp.ExtFields["offset"] = strconv.FormatInt(offset, 10)
	return resp
}

// offsetError answers a refused offset request: the table's code and remark, and offset
// -1, which every client reads as "unknown".
func offsetError(req *remoting.Command, err error) *remoting.Command {
	resp := errorResponse(req, err)
	resp.ExtFields["offset"] = "-1"
	return resp
}

// handleQueryConsumerOffset serves QUERY_CONSUMER_OFFSET (14): 0 with the committed
// offset, or exactly QUERY_NOT_FOUND (22) for "none" — never another code, because the
// client treats any other code as an error and leaves the queue unassigned for a whole
// rebalance period (PROTOCOL.md §2.5).
//
// With nothing committed, Java answers offset 0 when the queue still starts at 0 and its
// first message is in memory, so a new group reading a young topic does not miss its
// first messages. rocketgo keeps that for groups that registered CONSUME_FROM_LAST_OFFSET
// or CONSUME_FROM_FIRST_OFFSET (or have not sent a heartbeat yet), and answers 22 to
// groups that registered CONSUME_FROM_TIMESTAMP so their timestamp is honoured.
// "In memory" is Java's test: the first message lies within 40% of physical memory of
// the CommitLog's end.
func (b *Broker) handleQueryConsumerOffset(_ *remoting.Conn, req *remoting.Command) *remoting.Command {
	var h header.QueryConsumerOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if off, ok := b.offsets.Get(h.ConsumerGroup, h.Topic, h.QueueID); ok && off >= 0 {
		return offsetResponse(req, code.Success, "", off)
	}
	notFound := req.NewResponse(code.QueryNotFound,
		fmt.Sprintf("no committed offset for group %s on topic %s queue %d", h.ConsumerGroup, h.Topic, h.QueueID))
	if h.SetZeroIfNotFound != nil && !*h.SetZeroIfNotFound {
		return notFound
	}
	if cfw, ok := b.clients.ConsumeFromWhere(h.ConsumerGroup); ok && cfw == body.ConsumeFromTimestamp {
		return notFound
	}
	if b.store.MinOffset(h.Topic, h.QueueID) <= 0 && !b.firstMessageOnDisk(h.Topic, h.QueueID) {
		return offsetResponse(req, code.Success, "", 0)
	}
	return notFound
}

// firstMessageOnDisk reports whether message 0 of the queue lies further behind the
// CommitLog's end than the in-memory window (Java's checkInDiskByConsumeOffset). An
// empty queue's first message is not on disk.
func (b *Broker) firstMessageOnDisk(topic string, queueID int32) bool {
	res := b.store.GetMessages(topic, queueID, 0, 1, math.MaxInt32, nil)
	if len(res.Records) == 0 {
		return false
	}
	phy := message.RecordPhysicalOffset(res.Records[0])
	return b.store.MaxPhysicalOffset()-phy > inMemoryWindow()
}

// inMemoryWindow is how much of the CommitLog's tail counts as in memory: 40% of
// physical memory (accessMessageInMemoryMaxRatio).
var inMemoryWindow = sync.OnceValue(func() int64 { return physicalMemory() * 40 / 100 })

// physicalMemory returns the machine's memory from /proc/meminfo, or 8 GiB where that
// cannot be read.
func physicalMemory() int64 {
	const fallback = 8 << 30
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return fallback
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return fallback
}

// handleUpdateConsumerOffset serves UPDATE_CONSUMER_OFFSET (15). The Go client sends it
// "oneway" with flag 0 and drops the answer; it is answered anyway, as Java does.
func (b *Broker) handleUpdateConsumerOffset(_ *remoting.Conn, req *remoting.Command) *remoting.Command {
	var h header.UpdateConsumerOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if err := checkOffsetNames(h.ConsumerGroup, h.Topic, h.QueueID); err != nil {
		return errorResponse(req, err)
	}
	if h.CommitOffset < 0 {
		return errorResponse(req, reject(errBadRequest, "commitOffset %d is negative", h.CommitOffset))
	}
	if err := b.offsets.Commit(h.ConsumerGroup, h.Topic, h.QueueID, h.CommitOffset); err != nil {
		return errorResponse(req, err)
	}
	return req.NewResponse(code.Success, "")
}

// handleSearchOffset serves SEARCH_OFFSET_BY_TIMESTAMP (29): the offset of the first
// message stored at or after the timestamp.
func (b *Broker) handleSearchOffset(_ *remoting.Conn, req *remoting.Command) *remoting.Command {
	var h header.SearchOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return offsetError(req, err)
	}
	return offsetResponse(req, code.Success, "", b.store.OffsetByTime(h.Topic, h.QueueID, h.Timestamp))
}

// handleGetMaxOffset serves GET_MAX_OFFSET (30): the queue's next offset.
func (b *Broker) handleGetMaxOffset(_ *remoting.Conn, req *remoting.Command) *remoting.Command {
	var h header.QueueRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return offsetError(req, err)
	}
	return offsetResponse(req, code.Success, "", b.store.MaxOffset(h.Topic, h.QueueID))
}

// handleGetMinOffset serves GET_MIN_OFFSET (31): the smallest offset still stored.
func (b *Broker) handleGetMinOffset(_ *remoting.Conn, req *remoting.Command) *remoting.Command {
	var h header.QueueRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return offsetError(req, err)
	}
	return offsetResponse(req, code.Success, "", b.store.MinOffset(h.Topic, h.QueueID))
}

// handleGetEarliestMsgStoretime serves GET_EARLIEST_MSG_STORETIME (32): the store time of
// the queue's oldest message, or -1 for an empty queue (Java answers success with -1).
func (b *Broker) handleGetEarliestMsgStoretime(_ *remoting.Conn, req *remoting.Command) *remoting.Command {
	var h header.QueueRequest
	if err := h.Decode(req.ExtFields); err != nil {
		resp := errorResponse(req, err)
		resp.ExtFields["timestamp"] = "-1"
		return resp
	}
	ts, err := b.store.EarliestStoreTime(h.Topic, h.QueueID)
	if err != nil {
		ts = -1
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields["timestamp"] = strconv.FormatInt(ts, 10)
	return resp
}
