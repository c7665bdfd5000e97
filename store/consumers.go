package store

import (
	"sync"
	"sync/atomic"
)

// Consumption is one group's committed offset in one queue.
type Consumption struct {
	Group   string
	Topic   string
	QueueID int32
	Offset  int64 // the next queue offset the group will consume

	minBefore int64 // the queue's minimum before a retention run
}

// ConsumerProgress lists the committed offsets of the subscribed groups. The broker
// supplies it (SetConsumerProgress); retention uses it to name the groups that lose
// unconsumed messages and, under the rejectNew policy, to keep them.
type ConsumerProgress func() []Consumption

// consumers is the store's view of its consumers for retention.
type consumers struct {
	fn       atomic.Pointer[ConsumerProgress]
	lost     atomic.Int64 // unconsumed messages deleted since Open, summed over groups
	heldMu   sync.Mutex
	heldPath string // the segment last kept for a slow group (logged once)
}

// SetConsumerProgress registers how retention learns the groups' committed offsets.
func (s *Store) SetConsumerProgress(fn ConsumerProgress) { s.cons.fn.Store(&fn) }

// UnconsumedDeleted returns how many messages retention deleted before a subscribed
// group consumed them, since Open (counted once per group).
func (s *Store) UnconsumedDeleted() int64 { return s.cons.lost.Load() }

func (s *Store) consumerProgress() []Consumption {
	fn := s.cons.fn.Load()
	if fn == nil || *fn == nil {
		return nil
	}
	progress := (*fn)()
	for i := range progress {
		if q := s.queue(progress[i].Topic, progress[i].QueueID); q != nil {
			progress[i].minBefore = q.Min()
		}
	}
	return progress
}

// unconsumedBelow reports whether some group has not consumed a message stored below
// the physical offset end.
func (s *Store) unconsumedBelow(progress []Consumption, end int64) bool {
	for _, c := range progress {
		q := s.queue(c.Topic, c.QueueID)
		if q == nil {
			continue
		}
		off := max(c.Offset, q.Min())
		if off >= q.Max() {
			continue
		}
		if u, ok := q.Unit(off); ok && u.Offset < end {
			return true
		}
	}
	return false
}

// noteHeld logs, once per segment, that rejectNew keeps a segment for a slow group.
func (s *Store) noteHeld(path string) {
	s.cons.heldMu.Lock()
	defer s.cons.heldMu.Unlock()
	if s.cons.heldPath == path {
		return
	}
	s.cons.heldPath = path
	s.log.Warn().Str("segment", path).Str("diskFullPolicy", string(RejectNew)).
		Msg("segment kept: a subscribed group has not consumed it; sends are refused while the disk is full")
}

// reportLost warns, per group and queue, of the messages retention deleted before the
// group consumed them (progress is from before the deletion), and counts them.
func (s *Store) reportLost(progress []Consumption) {
	for _, c := range progress {
		q := s.queue(c.Topic, c.QueueID)
		from := max(c.Offset, c.minBefore)
		if q == nil || from >= q.Min() {
			continue
		}
		n := q.Min() - from
		s.cons.lost.Add(n)
		s.log.Warn().Str("group", c.Group).Str("topic", c.Topic).Int32("queue", c.QueueID).
			Int64("count", n).Int64("from_offset", from).Int64("to_offset", q.Min()-1).
			Str("diskFullPolicy", string(s.o.DiskFullPolicy)).
			Msg("disk full: retention deleted messages this group had not consumed")
	}
}
