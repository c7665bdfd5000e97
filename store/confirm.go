package store

import (
	"math"

	"github.com/rocketgo/rocketgo/proto/message"
)

// The confirm offset.
//
// A master in controller mode with allAckInSyncStateSet acknowledges a record once every
// member of its SyncStateSet holds it. Until then the record may still be cut: if the
// master dies, the new master comes from the set and may not have it, and the old
// master cuts it when it returns as a slave (docs/failover.md §4). A consumer that had
// read it would have moved its offset past a queue position the new master then gives
// to another message, and would never receive that one. So the records past the
// confirm offset — the end every member acknowledged — are not dispatched: they reach
// no ConsumeQueue, projection or parked pull until the offset passes them. Apache's
// store does the same (the reput service stops at CommitLog.getConfirmOffset).
//
// A slave is told its master's confirm offset and dispatches no further either, so a
// consumer reading from it sees no record the next master may lack.
//
// Replication is not held back by it: the master's sender waits on Grown, which the
// dispatcher signals at every round with the log's written end, confirmed or not.

// ConfirmAll is the confirm offset of a store whose every record may be dispatched
// once written: the default, and what a master whose SyncStateSet is itself alone, its
// slaves, and brokers outside controller mode have.
const ConfirmAll int64 = math.MaxInt64

// SetConfirmOffset sets the offset records are dispatched up to (exclusive): a record
// ending past it waits until a later call moves it past that end. ConfirmAll lifts the
// bound. It may move back (a SyncStateSet that grew); what was dispatched stays so.
func (s *Store) SetConfirmOffset(off int64) {
	if old := s.d.confirm.Swap(off); off > old && old < s.cl.Written() {
		s.d.wake()
	}
}

// ConfirmOffset returns the offset set by SetConfirmOffset (ConfirmAll by default).
func (s *Store) ConfirmOffset() int64 { return s.d.confirm.Load() }

// noteGrown records that the log was written up to written and releases the Grown
// waiters it satisfies. Called by whoever dispatches, with the run lock held.
func (s *Store) noteGrown(written int64) {
	s.d.grown.pos.Store(written)
	s.d.grown.complete(written)
}

// waitDispatchedOrConfirm waits until the dispatcher has dispatched the sealed log, or,
// when the confirm offset lies before its end, until a round has gone as far as the
// offset lets it: the records past it stay undispatched, the checkpoint says so, and
// the next Open dispatches them.
func (s *Store) waitDispatchedOrConfirm() error {
	written := s.cl.Written()
	if s.d.confirm.Load() >= written {
		return s.waitDispatched(written)
	}
	s.d.wake()
	return s.d.grown.wait(written, s.stop, closeDispatchWait, "dispatcher")
}

// countHeldQueueOffsets moves the next queue offset of every queue that has records in
// the tail recovery held back ([dispatched, end), HoldUnconfirmed) past them. The
// offsets of new appends come from the ConsumeQueues' ends, which do not include the
// held records; without this, a store reopened as a master would give a new message
// the queue offset a held record already has, and the dispatch of the two would clash.
func (s *Store) countHeldQueueOffsets(end int64) error {
	type key struct {
		topic string
		queue int32
	}
	next := map[key]int64{}
	for pos := s.d.pos.Load(); pos < end; {
		rec, after, err := s.readAt(s.d.rd, pos, end)
		if err != nil {
			return err
		}
		if rec != nil {
			tx := message.TxType(message.RecordSysFlag(rec))
			if tx == message.TxNotType || tx == message.TxCommitType {
				k := key{string(message.RecordTopicBytes(rec)), message.RecordQueueID(rec)}
				next[k] = max(next[k], message.RecordQueueOffset(rec)+1)
			}
		}
		pos = after
	}
	for k, n := range next {
		if n > s.cl.QueueOffset(k.topic, k.queue) {
			s.cl.SetQueueOffset(k.topic, k.queue, n)
		}
	}
	return nil
}
