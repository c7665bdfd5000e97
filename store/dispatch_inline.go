package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// Inline dispatch.
//
// A record reaches its ConsumeQueue, its projections and the arrival subscribers (the
// broker's parked pulls) through the dispatcher. Waking the dispatcher goroutine after an
// append costs a goroutine handoff — about 30 µs on a quiet two-core machine, most of
// the time a message spends inside the broker between its send and a parked pull's
// answer. So under ASYNC_FLUSH the appender dispatches itself, on its own goroutine,
// right after the append, whenever nobody else is dispatching: it takes the dispatcher's
// run lock without waiting (TryLock), dispatches everything written, and arms the
// indexer's wake (below). When the lock is taken (the dispatcher goroutine or another appender is at
// work) or the inline dispatch fails, it wakes the dispatcher goroutine as before; the
// goroutine takes the lock in turn, so it sees every record the inline dispatch did not,
// and it owns the retry and its logging.
//
// Only a little is dispatched inline (inlineDispatchMax): a burst of sends, appended
// by one read event, goes to the dispatcher goroutine as before, which works through
// it in parallel with the event loop reading the next one — that keeps asynchronous
// produce at its throughput, where the handoff is paid once per burst.
//
// What this asks of the callers of Put, PutBatch and PutMany: projections and arrival
// subscribers may run before the call returns, on the caller's goroutine, so a caller must
// not hold a lock that one of them takes (none does: they must not block anyway).
//
// The indexer is not woken at once: waking a goroutine on the appender's goroutine
// costs it about 12 µs (traced between the append and the answer's write), paid
// before its answer goes out, and the key index is a step behind anyway. The first
// inline dispatch arms a timer of indexWakeDelay; the indexer is woken when it fires,
// with everything dispatched until then. A query by key sees a record that much later
// at most; the dispatcher goroutine's rounds still wake the indexer at once.
//
// Under SYNC_FLUSH records become readable in the flusher's round, whose notification
// must not wait for the dispatch; the goroutine is woken as before
// (docs/architecture.md §5).

// readable is the CommitLog's notification after records became readable.
func (s *Store) readable() {
	if s.o.FlushMode == SyncFlush || s.cl.Written()-s.d.pos.Load() > inlineDispatchMax || !s.d.run.TryLock() {
		s.d.wake()
		return
	}
	err := s.dispatchAvailable()
	s.d.run.Unlock()
	if err != nil {
		s.d.wake() // the goroutine retries, and logs what fails
		return
	}
	s.d.ixSoon.arm(&s.ix.tailer)
}

// dispatchHeld is the dispatcher goroutine's round: dispatchAvailable with the run
// lock held, waiting for an appender that dispatches inline to finish.
func (s *Store) dispatchHeld() error {
	s.d.run.Lock()
	defer s.d.run.Unlock()
	return s.dispatchAvailable()
}

// inlineDispatchMax is the most undispatched log bytes an appender dispatches itself:
// a few records of a few KiB, the size of a latency-bound send, not of a burst.
const inlineDispatchMax = 8 << 10

// indexWakeDelay is how long after an inline dispatch the indexer is woken.
const indexWakeDelay = time.Millisecond

// laterWake wakes a tailer's goroutine some time after it is armed, once however
// often it is armed meanwhile.
type laterWake struct {
	armed atomic.Bool
	mu    sync.Mutex
	t     *time.Timer
}

// arm makes sure ix is woken within indexWakeDelay from now. An arm that finds the
// timer armed does nothing: the wake has not happened yet, and the goroutine it wakes
// sees everything done before it. The flag is cleared before the wake, so an arm that
// comes after the clear starts the timer again. ix is the same on every call.
func (l *laterWake) arm(ix *tailer) {
	if l.armed.Load() || !l.armed.CompareAndSwap(false, true) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t == nil {
		l.t = time.AfterFunc(indexWakeDelay, func() {
			l.armed.Store(false)
			ix.wake()
		})
		return
	}
	l.t.Reset(indexWakeDelay)
}
