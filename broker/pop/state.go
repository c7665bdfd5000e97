package pop

import (
	"math"
	"sort"
)

// qkey names the POP state of one group in one queue.
type qkey struct {
	group   string
	topic   string
	queueID int32
}

// entry is an in-flight message: delivered, neither acknowledged nor dead-lettered.
type entry struct {
	popTime   int64 // ms: identifies the current delivery
	visibleAt int64 // ms: when it may be delivered again
	attempts  int32 // deliveries so far
	fifo      bool
}

// queueState is the POP state of one group in one queue. Every offset below next
// that has no in-flight entry is done (acknowledged, dead-lettered, skipped by the
// filter, or below where the group started): that is the whole invariant, so an
// acknowledgement only deletes an entry and nothing else needs remembering.
type queueState struct {
	next     int64 // the next offset never popped
	inflight map[int64]*entry
}

func newQueueState(next int64) *queueState {
	return &queueState{next: next, inflight: make(map[int64]*entry)}
}

// consumeOffset is the offset the group's consume offset may advance to: the
// smallest in-flight offset, or next when nothing is in flight.
func (q *queueState) consumeOffset() int64 {
	low := q.next
	for off := range q.inflight {
		low = min(low, off)
	}
	return low
}

// blocked reports whether a FIFO pop must skip the queue: a delivery in it is still
// invisible (one batch in flight per queue, as ConsumerOrderInfoManager.checkBlock).
func (q *queueState) blocked(now int64) bool {
	for _, e := range q.inflight {
		if e.visibleAt > now {
			return true
		}
	}
	return false
}

// expired returns the in-flight offsets visible again at now, ascending.
func (q *queueState) expired(now int64) []int64 {
	var out []int64
	for off, e := range q.inflight {
		if e.visibleAt <= now {
			out = append(out, off)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// nextVisible returns the earliest visibleAt after now, or MaxInt64.
func (q *queueState) nextVisible(now int64) int64 {
	t := int64(math.MaxInt64)
	for _, e := range q.inflight {
		if e.visibleAt > now {
			t = min(t, e.visibleAt)
		}
	}
	return t
}

// state is every queue's POP state.
type state struct {
	queues map[qkey]*queueState
}

func newState() *state { return &state{queues: make(map[qkey]*queueState)} }

// apply changes the state by one record: the live path calls it after the record is
// in the log, recovery for every record past the snapshot. A record naming a
// delivery that is no longer current (an old popTime) changes nothing.
func (s *state) apply(r *record) {
	if r.kind == kindReset {
		for k := range s.queues {
			if (r.group == "" || k.group == r.group) && (r.topic == "" || k.topic == r.topic) {
				delete(s.queues, k)
			}
		}
		return
	}
	k := qkey{r.group, r.topic, r.queueID}
	q := s.queues[k]
	if r.kind == kindCK {
		if q == nil {
			q = newQueueState(r.next)
			s.queues[k] = q
		}
		q.next = max(q.next, r.next)
		for _, it := range r.items {
			q.inflight[it.offset] = &entry{popTime: r.popTime, visibleAt: r.popTime + r.invisibleTime, attempts: it.attempts, fifo: r.fifo}
		}
		return
	}
	if q == nil {
		return
	}
	e := q.inflight[r.offset]
	if e == nil || e.popTime != r.oldPop {
		return
	}
	switch r.kind {
	case kindAck, kindDLQ:
		delete(q.inflight, r.offset)
	case kindChange:
		e.popTime, e.visibleAt = r.newPop, r.newPop+r.newInv
	}
}
