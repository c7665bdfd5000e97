package commitlog

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// waiters is the list of callers waiting for the log to be flushed through some end
// offset. The flusher completes every waiter a flush covers in one pass; the sweeper
// fails the ones whose sync flush timeout passed. Nothing here runs per waiter on a
// goroutine or a timer of its own.
type waiters struct {
	n     atomic.Int32  // len(list), read without the lock by the flusher's gather
	want  atomic.Int32  // gather waits for this many waiters (0: it does not wait)
	ready chan struct{} // n reached want (cap 1): wakes gather

	mu     sync.Mutex
	list   []waiter      // in registration order, hence in deadline order
	due    []waiter      // complete's scratch, reused round after round; owned by the syncMu holder
	added  chan struct{} // a waiter was added while the sweeper sleeps without a deadline (cap 1)
	idle   bool          // the sweeper sleeps without a deadline: the list was empty
	failed error         // once set, new waiters fail at once
}

// waiter is one caller: fn is called, or the error is sent on ch (WaitFlushed's pooled
// channel, which spares a closure per call), exactly once.
type waiter struct {
	end      int64
	fn       func(error)
	ch       chan error
	deadline time.Time
}

func (w *waiter) done(err error) {
	if w.ch != nil {
		w.ch <- err // buffered 1 and used once: never blocks
		return
	}
	w.fn(err)
}

// OnFlushed arranges for fn to run once the log is flushed through end: inline if it
// already is, from the flusher goroutine otherwise, or with ErrFlushTimeout once the
// sync flush timeout passes (ErrWriteFailed if the flush failed, ErrClosed if the log
// closed first). fn must not block.
func (l *Log) OnFlushed(end int64, fn func(error)) {
	l.addWaiter(waiter{end: end, fn: fn})
}

var donePool = sync.Pool{New: func() any { return make(chan error, 1) }}

// WaitFlushed blocks until the log is flushed through end, the flush times out, or ctx
// is done.
func (l *Log) WaitFlushed(ctx context.Context, end int64) error {
	if end <= l.fl.flushed.Load() {
		return nil
	}
	ch := donePool.Get().(chan error)
	l.addWaiter(waiter{end: end, ch: ch})
	if ctx.Done() == nil {
		// Nothing can cancel the wait (context.Background): a plain receive costs
		// less than a two-case select, which every sync producer pays every round.
		err := <-ch
		donePool.Put(ch)
		return err
	}
	select {
	case err := <-ch:
		donePool.Put(ch)
		return err
	case <-ctx.Done():
		// The flusher or the sweeper will still send into ch later; ch is not reused.
		return ctx.Err()
	}
}

// addWaiter completes w at once if the log is flushed through w.end or failed, and
// otherwise queues it and wakes the flusher.
func (l *Log) addWaiter(w waiter) {
	f := &l.fl
	if w.end <= f.flushed.Load() {
		w.done(nil)
		return
	}
	q := &f.w
	q.mu.Lock()
	if q.failed != nil {
		err := q.failed
		q.mu.Unlock()
		w.done(err)
		return
	}
	// flushed is stored before complete takes q.mu: a waiter queued after that check
	// would be missed by the round that covers it.
	if w.end <= f.flushed.Load() {
		q.mu.Unlock()
		w.done(nil)
		return
	}
	w.deadline = time.Now().Add(l.o.SyncFlushTimeout)
	q.list = append(q.list, w)
	n := int32(len(q.list))
	q.n.Store(n)
	// The sweeper needs waking only if it sleeps without a deadline. Asleep until an
	// earlier waiter's deadline, it finds this one when it wakes: deadlines only grow
	// (one timeout after registration), and a wake-up per flush round would put one
	// more goroutine between the released producers and the flusher.
	wake := q.idle
	q.idle = false
	q.mu.Unlock()
	if wake {
		select {
		case q.added <- struct{}{}:
		default:
		}
	}
	if n == q.want.Load() {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	f.kickFlush()
}

// complete completes every waiter at or below flushed, in one pass, and returns how
// many waiters there were before (the ones completed and the ones left). The caller
// holds the flusher's syncMu.
func (q *waiters) complete(flushed int64) (before int) {
	q.mu.Lock()
	before = len(q.list)
	due := q.due[:0]
	keep := q.list[:0]
	for _, w := range q.list {
		if w.end <= flushed {
			due = append(due, w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(q.list[len(keep):])
	q.list = keep
	q.n.Store(int32(len(keep)))
	q.mu.Unlock()
	for i := range due {
		due[i].done(nil)
	}
	clear(due)
	q.due = due[:0]
	return before
}

// failAll fails every waiter with err and makes every later one fail too.
func (q *waiters) failAll(err error) {
	q.mu.Lock()
	if q.failed == nil {
		q.failed = err
	}
	ws := q.list
	q.list = nil
	q.n.Store(0)
	q.mu.Unlock()
	for i := range ws {
		ws[i].done(err)
	}
}

// expire fails the waiters whose deadline is not after now.
func (q *waiters) expire(now time.Time) {
	q.mu.Lock()
	n := 0
	for n < len(q.list) && !q.list[n].deadline.After(now) {
		n++
	}
	due := append([]waiter(nil), q.list[:n]...)
	rest := copy(q.list, q.list[n:])
	clear(q.list[rest:])
	q.list = q.list[:rest]
	q.n.Store(int32(rest))
	q.mu.Unlock()
	for i := range due {
		due[i].done(ErrFlushTimeout)
	}
}

// sweepLoop fails waiters whose deadline has passed. It runs apart from the flusher so
// that a flush stuck in the kernel still lets SEND answer FLUSH_DISK_TIMEOUT.
func (l *Log) sweepLoop() {
	defer l.wg.Done()
	q := &l.fl.w
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		pending := len(q.list) > 0
		var wait time.Duration
		if pending {
			wait = time.Until(q.list[0].deadline)
		}
		q.idle = !pending
		q.mu.Unlock()
		if pending && wait <= 0 {
			q.expire(time.Now())
			continue
		}
		var fire <-chan time.Time
		if pending {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-l.stop:
			return
		case <-fire:
		case <-q.added:
		}
		timer.Stop()
	}
}
