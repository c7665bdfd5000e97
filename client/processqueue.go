package client

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// processQueue is the consumer-side state of one assigned queue: the messages pulled
// but not yet consumed, in queue-offset order, and the flags that tie the queue's
// goroutines together.
//
// Offsets. A queue's committed offset is the offset of the next message to consume. With
// concurrent consumption messages finish out of order, so the commit point is the
// smallest offset still cached (some earlier message is unfinished) or, when nothing is
// cached, one past the highest offset ever cached. With orderly consumption messages are
// taken strictly from the front (take), so the commit point is one past the last message
// of the batch that just succeeded.
//
// Dropping. When rebalance takes the queue away (or the consumer shuts down) the queue
// is marked dropped under mu. Every offset update a consume result wants to make is
// decided under the same mu (see remove and commitTaken), so once drop has returned, no
// in-flight result of this queue can move the group's offset: a new owner's progress is
// never overwritten by stale work of the old one.
//
// Counts and bytes are kept under mu and mirrored into atomics so flow control can read
// them without taking the lock.
type processQueue struct {
	mq MessageQueue

	mu struct {
		sync.Mutex
		msgs      []*MessageExt // cached, sorted by QueueOffset, not taken
		taken     []*MessageExt // orderly: the batch being consumed, sorted
		maxOffset int64         // highest offset ever cached; -1 before the first
		bytes     int64         // body bytes of msgs and taken
		dropped   bool
		locked    bool      // orderly clustering: the broker lease is held
		lockedAt  time.Time // when the lease was last confirmed
	}

	count   atomic.Int64 // len(msgs)+len(taken)
	size    atomic.Int64 // bytes
	dropped atomic.Bool  // mirror of mu.dropped for lock-free checks

	lastPull    atomic.Int64 // unix nanos of the last pull answer
	lastConsume atomic.Int64 // unix nanos of the last consume call
	brokerID    atomic.Int64 // suggestWhichBrokerId of the last pull answer

	// pull is the state the pull loop reuses from one pull to the next
	// (pull_header.go); only that goroutine and its pull's callback touch it.
	pull pullState

	// ctx is cancelled by stop: the queue's pull loop ends, its outstanding long poll is
	// abandoned, and its consumption takes no new batch.
	ctx    context.Context
	cancel context.CancelFunc

	// startAt, when >= 0, is where the queue starts instead of its stored offset (a
	// seek); skipCommit keeps the final commit from overwriting it.
	startAt    int64
	skipCommit atomic.Bool
	// graceful asks the queue's consumption to finish its in-flight messages before the
	// queue is frozen (shutdown), instead of abandoning them (rebalance).
	graceful atomic.Bool
	inflight atomic.Int64  // listener calls running for this queue
	idle     chan struct{} // signaled when a listener call ends

	space chan struct{} // signaled when messages leave the cache (flow control waits)
	ready chan struct{} // signaled when messages arrive or the lock is won (orderly loop waits)
	done  chan struct{} // closed once the queue's goroutines have ended
	fin   sync.Once     // closes done
}

// newProcessQueue returns the empty state of mq, stopped when parent ends.
func newProcessQueue(parent context.Context, mq MessageQueue) *processQueue {
	pq := &processQueue{
		mq:      mq,
		startAt: -1,
		idle:    make(chan struct{}, 1),
		space:   make(chan struct{}, 1),
		ready:   make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	pq.ctx, pq.cancel = context.WithCancel(parent)
	pq.mu.maxOffset = -1
	return pq
}

// signal wakes one waiter on ch without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// put caches msgs (one pull's worth, already in offset order) and returns the ones that
// were new: a message whose offset is cached already, or below an orderly batch's
// commit point, is not cached again. Nothing is cached once the queue is dropped.
func (pq *processQueue) put(msgs []*MessageExt) []*MessageExt {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if pq.mu.dropped || len(msgs) == 0 {
		return nil
	}
	added := msgs[:0:0]
	for _, m := range msgs {
		if pq.containsLocked(m.QueueOffset) {
			continue
		}
		if n := len(pq.mu.msgs); n == 0 || pq.mu.msgs[n-1].QueueOffset < m.QueueOffset {
			pq.mu.msgs = append(pq.mu.msgs, m)
		} else {
			i, _ := slices.BinarySearchFunc(pq.mu.msgs, m.QueueOffset, cmpOffset)
			pq.mu.msgs = slices.Insert(pq.mu.msgs, i, m)
		}
		pq.mu.bytes += int64(len(m.Body))
		pq.mu.maxOffset = max(pq.mu.maxOffset, m.QueueOffset)
		added = append(added, m)
	}
	pq.syncCountersLocked()
	if len(added) > 0 {
		signal(pq.ready)
	}
	return added
}

// cmpOffset orders a cached message against a queue offset.
func cmpOffset(m *MessageExt, off int64) int {
	switch {
	case m.QueueOffset < off:
		return -1
	case m.QueueOffset > off:
		return 1
	}
	return 0
}

// containsLocked reports whether off is cached or taken. mu must be held.
func (pq *processQueue) containsLocked(off int64) bool {
	if _, ok := slices.BinarySearchFunc(pq.mu.msgs, off, cmpOffset); ok {
		return true
	}
	_, ok := slices.BinarySearchFunc(pq.mu.taken, off, cmpOffset)
	return ok
}

// syncCountersLocked mirrors the cache size into the atomics. mu must be held.
func (pq *processQueue) syncCountersLocked() {
	pq.count.Store(int64(len(pq.mu.msgs) + len(pq.mu.taken)))
	pq.size.Store(pq.mu.bytes)
}

// remove takes consumed messages out of the cache (concurrent consumption) and, while
// still holding mu, hands the queue's new commit point to commit — unless the queue was
// dropped, in which case commit is not called. The commit point is the smallest offset
// still cached, or one past the highest offset ever cached when the cache is empty. It
// returns the commit point, or -1 when there was nothing to remove (the cache was empty
// or the queue dropped). Messages not in the cache are ignored.
func (pq *processQueue) remove(msgs []*MessageExt, commit func(offset int64)) int64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if pq.mu.dropped || len(pq.mu.msgs) == 0 {
		return -1
	}
	if pq.removeLocked(msgs) {
		pq.syncCountersLocked()
		signal(pq.space)
	}
	off := pq.mu.maxOffset + 1
	if len(pq.mu.msgs) > 0 {
		off = pq.mu.msgs[0].QueueOffset
	}
	if commit != nil {
		commit(off)
	}
	return off
}

// removeLocked takes msgs out of the cache and reports whether any was there. A batch
// in offset order (every batch the queue hands out) is removed in one pass over the
// cache from its first message on, so consuming a pull of 500 messages costs one
// compaction, not 500 slice deletions. mu must be held.
func (pq *processQueue) removeLocked(msgs []*MessageExt) bool {
	if len(msgs) == 0 {
		return false
	}
	if !slices.IsSortedFunc(msgs, func(a, b *MessageExt) int { return cmp.Compare(a.QueueOffset, b.QueueOffset) }) {
		removed := false
		for _, m := range msgs {
			removed = pq.removeLocked([]*MessageExt{m}) || removed
		}
		return removed
	}
	cache := pq.mu.msgs
	start, _ := slices.BinarySearchFunc(cache, msgs[0].QueueOffset, cmpOffset)
	w, j := start, 0
	for _, c := range cache[start:] {
		for j < len(msgs) && msgs[j].QueueOffset < c.QueueOffset {
			j++
		}
		if pickedAt(msgs, j, c) {
			pq.mu.bytes -= int64(len(c.Body))
			continue
		}
		cache[w] = c
		w++
	}
	clear(cache[w:])
	pq.mu.msgs = cache[:w]
	return w < len(cache)
}

// pickedAt reports whether c is among the messages of sorted msgs from j on that carry
// c's offset.
func pickedAt(msgs []*MessageExt, j int, c *MessageExt) bool {
	for ; j < len(msgs) && msgs[j].QueueOffset == c.QueueOffset; j++ {
		if msgs[j] == c {
			return true
		}
	}
	return false
}

// take moves up to n messages from the front of the cache into the orderly batch and
// returns them in offset order; nil when the cache is empty, the queue is dropped, or
// a batch is already taken (one batch at a time keeps the order).
func (pq *processQueue) take(n int) []*MessageExt {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if pq.mu.dropped || len(pq.mu.taken) > 0 || len(pq.mu.msgs) == 0 || n <= 0 {
		return nil
	}
	n = min(n, len(pq.mu.msgs))
	pq.mu.taken = append(pq.mu.taken[:0], pq.mu.msgs[:n]...)
	pq.mu.msgs = slices.Delete(pq.mu.msgs, 0, n)
	return slices.Clone(pq.mu.taken)
}

// commitTaken ends the taken batch successfully: the batch leaves the cache and, under
// mu and only if the queue is not dropped, commit receives one past the batch's last
// offset. It returns that offset, or -1 when no batch was taken or the queue was
// dropped (the batch is then dropped with the queue and the offset stays with the new
// owner).
func (pq *processQueue) commitTaken(commit func(offset int64)) int64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if len(pq.mu.taken) == 0 {
		return -1
	}
	off := pq.mu.taken[len(pq.mu.taken)-1].QueueOffset + 1
	for _, m := range pq.mu.taken {
		pq.mu.bytes -= int64(len(m.Body))
	}
	pq.mu.taken = pq.mu.taken[:0]
	pq.syncCountersLocked()
	signal(pq.space)
	if pq.mu.dropped {
		return -1
	}
	if commit != nil {
		commit(off)
	}
	return off
}

// returnTaken puts the taken batch back at the front of the cache, to be taken again
// (orderly retry). The messages keep their order; their ReconsumeTimes is incremented
// because the listener will see them again.
func (pq *processQueue) returnTaken() { pq.giveBack(true) }

// returnUntouched puts back a taken batch the listener never saw.
func (pq *processQueue) returnUntouched() { pq.giveBack(false) }

func (pq *processQueue) giveBack(reconsumed bool) {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if len(pq.mu.taken) == 0 {
		return
	}
	if reconsumed {
		for _, m := range pq.mu.taken {
			m.ReconsumeTimes++
		}
	}
	pq.mu.msgs = append(slices.Clone(pq.mu.taken), pq.mu.msgs...)
	pq.mu.taken = pq.mu.taken[:0]
	signal(pq.ready)
}

// stop ends the queue's activity: its context is cancelled, so the pull loop ends and
// no new batch is consumed. Offsets may still move (an orderly batch in flight commits)
// until freeze.
func (pq *processQueue) stop() { pq.cancel() }

// stopped reports whether stop was called.
func (pq *processQueue) stopped() bool { return pq.ctx.Err() != nil }

// freeze marks the queue as no longer ours. After freeze, put caches nothing and
// remove, commitTaken and commit move no offset. It returns false when it was frozen
// already.
func (pq *processQueue) freeze() bool {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	was := pq.mu.dropped
	pq.mu.dropped = true
	pq.dropped.Store(true)
	return !was
}

// drop is stop and freeze: the queue is abandoned at once, its in-flight results
// discarded (rebalance of a concurrent consumer: the new owner redelivers them).
func (pq *processQueue) drop() bool {
	pq.stop()
	return pq.freeze()
}

// isDropped reports whether the queue is frozen.
func (pq *processQueue) isDropped() bool { return pq.dropped.Load() }

// commit runs fn under mu unless the queue is frozen, and reports whether it ran: the
// way every offset update of the queue is ordered against freeze.
func (pq *processQueue) commit(fn func()) bool {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if pq.mu.dropped {
		return false
	}
	fn()
	return true
}

// skipTo records that every offset below next was dealt with by the pull that answered
// next (messages cached, or filtered out, or none there), and hands next to commit —
// under mu, unless frozen — when nothing is cached, so an idle or fully filtered queue
// still moves its committed offset (RocketMQ's correctTagsOffset).
func (pq *processQueue) skipTo(next int64, commit func(offset int64)) {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if pq.mu.dropped || next <= 0 {
		return
	}
	pq.mu.maxOffset = max(pq.mu.maxOffset, next-1)
	if len(pq.mu.msgs) == 0 && len(pq.mu.taken) == 0 && commit != nil {
		commit(next)
	}
}

// reset forgets the cache after the broker moved the queue's offset (OFFSET_ILLEGAL)
// and commits next, under mu unless frozen. Messages in flight finish, but their
// results no longer hold the offset back.
func (pq *processQueue) reset(next int64, commit func(offset int64)) {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	if pq.mu.dropped {
		return
	}
	pq.mu.msgs = nil
	pq.mu.bytes = 0
	for _, m := range pq.mu.taken {
		pq.mu.bytes += int64(len(m.Body))
	}
	pq.mu.maxOffset = next - 1
	pq.syncCountersLocked()
	signal(pq.space)
	if commit != nil {
		commit(next)
	}
}

// beginConsume and endConsume bracket a listener call for this queue.
func (pq *processQueue) beginConsume() { pq.inflight.Add(1) }
func (pq *processQueue) endConsume() {
	pq.inflight.Add(-1)
	signal(pq.idle)
}

// waitIdle waits until no listener call of the queue runs, or ctx ends.
func (pq *processQueue) waitIdle(ctx context.Context) bool {
	for pq.inflight.Load() > 0 {
		select {
		case <-pq.idle:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// finish closes done: the queue's goroutines have ended and its final offset is
// committed. Safe to call more than once.
func (pq *processQueue) finish() { pq.fin.Do(func() { close(pq.done) }) }

// cached returns the number of cached messages (taken included) and their body bytes.
func (pq *processQueue) cached() (count, bytes int64) { return pq.count.Load(), pq.size.Load() }

// span returns the distance between the lowest and highest cached offsets, 0 when fewer
// than two messages are cached. A large span means an early message is stuck while
// later ones pile up.
func (pq *processQueue) span() int64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	first, last := int64(-1), int64(-1)
	if len(pq.mu.taken) > 0 {
		first = pq.mu.taken[0].QueueOffset
		last = pq.mu.taken[len(pq.mu.taken)-1].QueueOffset
	}
	if n := len(pq.mu.msgs); n > 0 {
		if first < 0 {
			first = pq.mu.msgs[0].QueueOffset
		}
		last = pq.mu.msgs[n-1].QueueOffset
	}
	if first < 0 {
		return 0
	}
	return last - first
}

// offsetRange returns the lowest and highest cached offsets (taken included), 0 and 0
// when nothing is cached.
func (pq *processQueue) offsetRange() (lo, hi int64) {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	all := [][]*MessageExt{pq.mu.taken, pq.mu.msgs}
	first := true
	for _, ms := range all {
		for _, m := range []*MessageExt{firstOf(ms), lastOf(ms)} {
			if m == nil {
				continue
			}
			if first || m.QueueOffset < lo {
				lo = m.QueueOffset
			}
			if first || m.QueueOffset > hi {
				hi = m.QueueOffset
			}
			first = false
		}
	}
	return lo, hi
}

func firstOf(ms []*MessageExt) *MessageExt {
	if len(ms) == 0 {
		return nil
	}
	return ms[0]
}

func lastOf(ms []*MessageExt) *MessageExt {
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

// setLocked records the outcome of a LOCK_BATCH_MQ for this queue at time now.
func (pq *processQueue) setLocked(locked bool, now time.Time) {
	pq.mu.Lock()
	pq.mu.locked = locked
	if locked {
		pq.mu.lockedAt = now
	}
	pq.mu.Unlock()
	if locked {
		signal(pq.ready)
	}
}

// lockValid reports whether the broker lease is held and was confirmed less than ttl
// before now. An orderly consumer processes the queue only while this holds: past the
// ttl another member may have taken the queue over.
func (pq *processQueue) lockValid(now time.Time, ttl time.Duration) bool {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	return pq.mu.locked && now.Sub(pq.mu.lockedAt) < ttl
}

// lockState returns whether the lease is held and when it was last confirmed.
func (pq *processQueue) lockState() (bool, time.Time) {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	return pq.mu.locked, pq.mu.lockedAt
}

// isLocked reports whether the lease is held, however old.
func (pq *processQueue) isLocked() bool {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	return pq.mu.locked
}

// touchPull and touchConsume record activity for idle detection and running info.
func (pq *processQueue) touchPull(now time.Time)    { pq.lastPull.Store(now.UnixNano()) }
func (pq *processQueue) touchConsume(now time.Time) { pq.lastConsume.Store(now.UnixNano()) }
