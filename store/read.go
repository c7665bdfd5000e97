package store

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/consumequeue"
	"github.com/rocketgo/rocketgo/store/diskguard"
	"github.com/rocketgo/rocketgo/store/index"
)

// GetStatus is the outcome of GetMessages, with the names of RocketMQ's
// GetMessageStatus (docs/protocol.md §2.4).
type GetStatus int

// Statuses of GetMessages.
const (
	Found               GetStatus = iota // at least one record returned
	NoMatchedMessage                     // units scanned, none matched the filter
	MessageWasRemoving                   // the units point at CommitLog data already deleted
	OffsetTooSmall                       // offset below the queue's min
	OffsetOverflowOne                    // offset == max: caught up (long-poll)
	OffsetOverflowBadly                  // offset > max
	NoMessageInQueue                     // the queue is empty (max == 0)
	NoMatchedLogicQueue                  // no such queue
)

var statusNames = [...]string{
	Found:               "FOUND",
	NoMatchedMessage:    "NO_MATCHED_MESSAGE",
	MessageWasRemoving:  "MESSAGE_WAS_REMOVING",
	OffsetTooSmall:      "OFFSET_TOO_SMALL",
	OffsetOverflowOne:   "OFFSET_OVERFLOW_ONE",
	OffsetOverflowBadly: "OFFSET_OVERFLOW_BADLY",
	NoMessageInQueue:    "NO_MESSAGE_IN_QUEUE",
	NoMatchedLogicQueue: "NO_MATCHED_LOGIC_QUEUE",
}

// String returns the Java name of the status, which the broker uses as the remark.
func (g GetStatus) String() string {
	if g >= 0 && int(g) < len(statusNames) {
		return statusNames[g]
	}
	return fmt.Sprintf("GetStatus(%d)", int(g))
}

// GetResult is the answer of GetMessages.
type GetResult struct {
	Status GetStatus
	// Records are whole v1 records, slices of the mapping in queue order: written back
	// to back they are a PULL_MESSAGE body. They stay valid for at least ReadGrace
	// after the call (and never after Close); they must not be modified.
	Records   [][]byte
	NextBegin int64 // the offset to pull from next
	MinOffset int64 // the queue's min
	MaxOffset int64 // the queue's max (the next offset to be written)
	Bytes     int   // total size of Records
}

// minScanUnits is how many ConsumeQueue units one GetMessages scans at least (16000
// bytes, as RocketMQ's maxFilterMessageCount), so a selective tag filter still moves on.
const minScanUnits = 16000 / consumequeue.UnitSize

// GetMessages reads up to maxCount records of (topic, queueID) from the logical offset,
// stopping before the total would exceed maxBytes (the first record is always taken;
// maxBytes <= 0 means no byte limit). match filters units by tags code; nil matches all.
// At most max(16000 bytes, maxCount units) of ConsumeQueue are scanned. Status,
// NextBegin, MinOffset and MaxOffset follow docs/protocol.md §2.4.
func (s *Store) GetMessages(topic string, queueID int32, offset int64, maxCount, maxBytes int, match func(tagsCode int64) bool) GetResult {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return GetResult{Status: NoMatchedLogicQueue}
	}
	q := s.queue(topic, queueID)
	if q == nil {
		return GetResult{Status: NoMatchedLogicQueue}
	}
	lo, hi := q.Min(), q.Max()
	r := GetResult{MinOffset: lo, MaxOffset: hi}
	switch {
	case hi == 0:
		r.Status = NoMessageInQueue
		return r
	case offset < lo:
		r.Status, r.NextBegin = OffsetTooSmall, lo
		return r
	case offset == hi:
		r.Status, r.NextBegin = OffsetOverflowOne, offset
		return r
	case offset > hi:
		r.Status, r.NextBegin = OffsetOverflowBadly, hi
		return r
	}
	maxCount = max(maxCount, 1)
	limit := offset + int64(max(minScanUnits, maxCount))
	r.Status = NoMatchedMessage
	r.Records = make([][]byte, 0, min(maxCount, 64))
	i := offset
	for ; i < hi && i < limit; i++ {
		u, ok := q.Unit(i)
		if !ok {
			if len(r.Records) == 0 && i == offset {
				// Retention removed the file under us: the queue now starts later.
				r.Status, r.NextBegin, r.MinOffset = OffsetTooSmall, q.Min(), q.Min()
				return r
			}
			break
		}
		if u.Size <= 0 {
			continue // damaged unit (never written so): no record to serve
		}
		if len(r.Records) > 0 && (len(r.Records) >= maxCount || maxBytes > 0 && r.Bytes+int(u.Size) > maxBytes) {
			break
		}
		if match != nil && !match(u.TagsCode) {
			continue
		}
		rec, ok := s.cl.Slice(u.Offset, u.Size)
		if !ok {
			if len(r.Records) == 0 {
				r.Status = MessageWasRemoving
			}
			continue
		}
		r.Records = append(r.Records, rec)
		r.Bytes += len(rec)
		r.Status = Found
	}
	r.NextBegin = i
	return r
}

// queue returns the ConsumeQueue of (topic, queueID), nil if there is none.
func (s *Store) queue(topic string, queueID int32) *consumequeue.Queue {
	s.queues.RLock()
	defer s.queues.RUnlock()
	return s.queues.m[topic][queueID]
}

// ReadRecord returns the record that starts at physicalOffset, a slice of the mapping
// valid for at least ReadGrace. An offset that is not the start of a stored record is
// ErrNotFound.
func (s *Store) ReadRecord(physicalOffset int64) ([]byte, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rec, err := s.cl.Record(physicalOffset)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return rec, nil
}

// maxQuery bounds how many offsets one QueryByKey returns.
const maxQuery = 64 << 10

// QueryByKey returns the physical offsets of up to max records of topic whose KEYS
// contain key, or whose UNIQ_KEY is key, stored within [beginMS, endMS], newest first.
func (s *Store) QueryByKey(topic, key string, beginMS, endMS int64, max int) ([]int64, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if max <= 0 || key == "" {
		return nil, nil
	}
	max = min(max, maxQuery)
	minPhys := s.cl.Min()
	var offs []int64
	err := s.idx.Query([]byte(topic), []byte(key), beginMS, endMS, s.segmentStarts(), func(c index.Candidate) bool {
		if c.Offset < minPhys {
			return true
		}
		// Entries hold hashes: keep only records that really carry the topic and key.
		rec, err := s.cl.Record(c.Offset)
		if err != nil || string(message.RecordTopicBytes(rec)) != topic || !recordHasKey(rec, key) {
			return true
		}
		offs = append(offs, c.Offset)
		return len(offs) < max
	})
	if err != nil {
		return nil, fmt.Errorf("store: query %s key %q: %w", topic, key, err)
	}
	return offs, nil
}

// segmentStarts returns the start offsets of the CommitLog segments, ascending.
func (s *Store) segmentStarts() []int64 {
	segs := s.cl.Segments()
	starts := make([]int64, len(segs))
	for i, f := range segs {
		starts[i] = f.Start()
	}
	return starts
}

// OffsetByTime returns the logical offset of the first message of (topic, queueID)
// stored at or after tsMS: the queue's min when every message is at or after it, its
// max when none is. A missing queue gives 0.
func (s *Store) OffsetByTime(topic string, queueID int32, tsMS int64) int64 {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return 0
	}
	q := s.queue(topic, queueID)
	if q == nil {
		return 0
	}
	lo, hi := q.Min(), q.Max()
	for lo < hi {
		mid := lo + (hi-lo)/2
		if s.unitTime(q, mid) >= tsMS {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// unitTime returns the store time of the record at logical offset off, or MinInt64 if
// the record is gone (it counts as older than anything).
func (s *Store) unitTime(q *consumequeue.Queue, off int64) int64 {
	u, ok := q.Unit(off)
	if !ok || u.Size <= 0 {
		return -1 << 63
	}
	rec, ok := s.cl.Slice(u.Offset, u.Size)
	if !ok {
		return -1 << 63
	}
	return message.RecordStoreTimestamp(rec)
}

// MinOffset returns the smallest logical offset still stored in (topic, queueID), 0 for
// a missing queue.
func (s *Store) MinOffset(topic string, queueID int32) int64 {
	if q := s.queue(topic, queueID); q != nil {
		return q.Min()
	}
	return 0
}

// MaxOffset returns the logical offset the next message of (topic, queueID) will get, 0
// for a missing queue.
func (s *Store) MaxOffset(topic string, queueID int32) int64 {
	if q := s.queue(topic, queueID); q != nil {
		return q.Max()
	}
	return 0
}

// EarliestStoreTime returns the store time (ms) of the oldest message still stored in
// (topic, queueID); ErrNotFound if there is none.
func (s *Store) EarliestStoreTime(topic string, queueID int32) (int64, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	q := s.queue(topic, queueID)
	if q == nil {
		return 0, fmt.Errorf("%w: no queue %s/%d", ErrNotFound, topic, queueID)
	}
	for off := q.Min(); off < q.Max(); off++ {
		u, ok := q.Unit(off)
		if !ok {
			break
		}
		if u.Size <= 0 {
			continue
		}
		if rec, ok := s.cl.Slice(u.Offset, u.Size); ok {
			return message.RecordStoreTimestamp(rec), nil
		}
		break
	}
	return 0, fmt.Errorf("%w: queue %s/%d holds no message", ErrNotFound, topic, queueID)
}

// MaxPhysicalOffset returns the CommitLog offset the next record will be written at.
func (s *Store) MaxPhysicalOffset() int64 { return s.cl.Written() }

// MinPhysicalOffset returns the smallest CommitLog offset still stored.
func (s *Store) MinPhysicalOffset() int64 { return s.cl.Min() }

// Queues returns the ids of the queues of topic that have a ConsumeQueue, ascending.
func (s *Store) Queues(topic string) []int32 {
	s.queues.RLock()
	defer s.queues.RUnlock()
	ids := make([]int32, 0, len(s.queues.m[topic]))
	for id := range s.queues.m[topic] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Stats is a snapshot of the store's counters.
type Stats struct {
	PutMessages       int64            // records appended since Open
	PutBytes          int64            // bytes appended since Open
	TopicPuts         map[string]int64 // records appended since Open, per topic
	DiskUsage         float64          // used fraction of the store's file system
	DiskFull          bool             // appends refused (usage above DiskMaxRatio or reserve short)
	DiskFree          int64            // bytes free as the disk guard tracks them
	UnconsumedDeleted int64            // messages deleted before a subscribed group consumed them
	MinPhysicalOffset int64
	MaxPhysicalOffset int64
	FlushedOffset     int64
	Flushes           int64         // flush rounds (msync group commits) since Open
	FlushTime         time.Duration // time spent in them
	DispatchedOffset  int64
	IndexedOffset     int64
	Segments          int // CommitLog segment files
	Queues            int // ConsumeQueues
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	puts, bytes, topics := s.cl.Counters()
	n := 0
	s.queues.RLock()
	for _, qs := range s.queues.m {
		n += len(qs)
	}
	s.queues.RUnlock()
	usage, _, _ := diskUsage(s.o.Dir)
	return Stats{
		PutMessages:       puts,
		PutBytes:          bytes,
		TopicPuts:         topics,
		DiskUsage:         usage,
		DiskFull:          s.guard.Level() != diskguard.OK,
		DiskFree:          s.guard.Free(),
		UnconsumedDeleted: s.cons.lost.Load(),
		MinPhysicalOffset: s.cl.Min(),
		MaxPhysicalOffset: s.cl.Written(),
		FlushedOffset:     s.cl.Flushed(),
		Flushes:           s.cl.Flushes(),
		FlushTime:         s.cl.FlushTime(),
		DispatchedOffset:  s.d.pos.Load(),
		IndexedOffset:     s.ix.pos.Load(),
		Segments:          len(s.cl.Segments()),
		Queues:            n,
	}
}

// DeleteTopic drops topic's ConsumeQueues and key index entries; its records stay in
// the CommitLog until retention. The next record of the topic starts its queues at
// offset 0 again. Appends are held while the queues go, and a checkpoint is written
// after, so a restart does not rebuild them from the log.
func (s *Store) DeleteTopic(topic string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	// Records past the confirm offset wait for the slaves (confirm.go): wait for them
	// before holding the appends, so that slaves that are slow or gone fail the delete
	// instead of stopping every producer; what comes meanwhile is confirmed as fast.
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		return err
	}
	err := s.cl.Exclusive(func() error {
		if err := s.d.wait(s.cl.Written(), s.stop, heldDispatchWait, "dispatcher"); err != nil {
			return err
		}
		s.queues.Lock()
		qs := s.queues.m[topic]
		delete(s.queues.m, topic)
		s.queues.Unlock()
		var errs []error
		for _, q := range qs {
			errs = append(errs, q.Destroy(time.Now()))
		}
		s.cl.ForgetTopicLocked(topic)
		return errors.Join(errs...)
	})
	if err != nil {
		return err
	}
	if err := s.idx.DeleteTopic(topic, s.cl.Written()); err != nil {
		return err
	}
	return s.checkpoint()
}
