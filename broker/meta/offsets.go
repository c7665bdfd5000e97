package meta

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/store"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// OffsetID names one committed offset.
type OffsetID struct {
	Topic, Group string
	QueueID      int32
}

// offsetFlushInterval is how often committed offsets are written to the metadata
// database. Offsets arrive with nearly every pull; writing each one costs about as much
// as the rest of the pull, so they collect in memory and go out in one batch. A crash
// loses at most this much progress, and the consumer re-reads those messages, which
// at-least-once delivery allows (Java persists every 5 s).
const offsetFlushInterval = time.Second

// Offsets holds the consumer offsets in memory; changed ones are written to the
// metadata database in batches every offsetFlushInterval and at Close.
type Offsets struct {
	meta *DB
	now  func() time.Time
	log  zerolog.Logger

	// writeMu serializes batch writes with topic deletions, so a batch taken before a
	// deletion cannot write the deleted offsets back after it. Taken before mu.
	writeMu sync.Mutex
	mu      sync.RWMutex
	offsets map[OffsetID]int64
	dirty   map[OffsetID]int64 // changed since the last batch

	stop chan struct{}
	wg   sync.WaitGroup
}

// LoadOffsets loads every committed offset and starts the batch writer.
func LoadOffsets(m *DB, now func() time.Time, log zerolog.Logger) (*Offsets, error) {
	o := &Offsets{meta: m, now: now, log: log, offsets: map[OffsetID]int64{}, dirty: map[OffsetID]int64{}, stop: make(chan struct{})}
	err := m.scan([]byte{prefixOffset}, func(k, v []byte) error {
		topic, group, q, ok := ParseOffsetKey(k)
		if !ok {
			return fmt.Errorf("broker: malformed offset key %q", k)
		}
		var co metapb.ConsumerOffset
		if err := proto.Unmarshal(v, &co); err != nil {
			return fmt.Errorf("broker: decode offset %s@%s:%d: %w", group, topic, q, err)
		}
		o.offsets[OffsetID{topic, group, q}] = co.GetOffset()
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
func (o *Offsets) loop() {
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
func (o *Offsets) Progress() []store.Consumption {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]store.Consumption, 0, len(o.offsets))
	for id, off := range o.offsets {
		out = append(out, store.Consumption{Group: id.Group, Topic: id.Topic, QueueID: id.QueueID, Offset: off})
	}
	return out
}

// Get returns the committed offset of (group, topic, queueID).
func (o *Offsets) Get(group, topic string, queueID int32) (int64, bool) {
	o.mu.RLock()
	off, ok := o.offsets[OffsetID{topic, group, queueID}]
	o.mu.RUnlock()
	return off, ok
}

// Groups returns the groups with a committed offset on topic, sorted.
func (o *Offsets) Groups(topic string) []string {
	seen := map[string]bool{}
	o.mu.RLock()
	for id := range o.offsets {
		if id.Topic == topic {
			seen[id.Group] = true
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
func (o *Offsets) Commit(group, topic string, queueID int32, offset int64) error {
	if len(topic) > MaxNameLen || len(group) > MaxGroupKeyLen {
		return refusal.New(refusal.BadRequest, "cannot store an offset for topic of %d bytes and group of %d bytes", len(topic), len(group))
	}
	id := OffsetID{topic, group, queueID}
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
func (o *Offsets) writeDirty(sync bool) error {
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	// Take the length under the lock: when nothing is dirty the map is not swapped, and
	// Commit may be writing into it as soon as the lock is released.
	o.mu.Lock()
	batch := o.dirty
	n := len(batch)
	if n > 0 {
		o.dirty = make(map[OffsetID]int64, n)
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
			if err := put(OffsetKey(id.Topic, id.Group, id.QueueID), encodeConsumerOffset(buf[:0], off, nowMS)); err != nil {
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
func (o *Offsets) DeleteTopic(topic string) error {
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	o.mu.Lock()
	for id := range o.offsets {
		if id.Topic == topic {
			delete(o.offsets, id)
			delete(o.dirty, id)
		}
	}
	o.mu.Unlock()
	return o.meta.deletePrefix(offsetTopicPrefix(topic))
}

// Close stops the batch writer and writes every pending offset with fsync.
func (o *Offsets) Close() error {
	close(o.stop)
	o.wg.Wait()
	return o.writeDirty(true)
}

// CheckOffsetNames refuses names that cannot key an offset.
func CheckOffsetNames(group, topic string, queueID int32) error {
	if err := CheckTopicName(topic); err != nil {
		return err
	}
	if err := CheckGroupName(group); err != nil {
		return err
	}
	if queueID < 0 {
		return refusal.New(refusal.BadRequest, "queueId %d is negative", queueID)
	}
	return nil
}

// Snapshot returns a copy of every committed offset.
func (o *Offsets) Snapshot() map[OffsetID]int64 {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make(map[OffsetID]int64, len(o.offsets))
	for id, off := range o.offsets {
		out[id] = off
	}
	return out
}
