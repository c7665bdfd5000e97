package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// tailer is what the dispatcher and the indexer share: a goroutine that follows the
// CommitLog, its position (everything below pos is processed), a wake-up channel, and
// the callers waiting for the position to pass an offset.
type tailer struct {
	kick chan struct{}
	pos  atomic.Int64

	waitMu  sync.Mutex
	waiters []tailWaiter
}

type tailWaiter struct {
	target int64
	done   chan struct{}
}

func (t *tailer) init() { t.kick = make(chan struct{}, 1) }

// wake asks the goroutine to look for new records. It never blocks.
func (t *tailer) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// complete releases the waiters whose target is at or below pos.
func (t *tailer) complete(pos int64) {
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	keep := t.waiters[:0]
	for _, w := range t.waiters {
		if w.target <= pos {
			close(w.done)
		} else {
			keep = append(keep, w)
		}
	}
	clear(t.waiters[len(keep):])
	t.waiters = keep
}

// wait blocks until pos reaches target, stop is closed, or timeout passes.
func (t *tailer) wait(target int64, stop <-chan struct{}, timeout time.Duration, what string) error {
	if t.pos.Load() >= target {
		return nil
	}
	w := tailWaiter{target: target, done: make(chan struct{})}
	t.waitMu.Lock()
	t.waiters = append(t.waiters, w)
	t.waitMu.Unlock()
	t.wake()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.done:
		return nil
	case <-timer.C:
		return fmt.Errorf("store: %s did not reach %d within %s (at %d)", what, target, timeout, t.pos.Load())
	case <-stop:
		return ErrClosed
	}
}

// waitDispatched blocks until every record below target is in the ConsumeQueues and
// projections.
func (s *Store) waitDispatched(target int64) error {
	return s.d.wait(target, s.stop, closeDispatchWait, "dispatcher")
}

// waitIndexed blocks until every record below target is in the key index.
func (s *Store) waitIndexed(target int64) error {
	return s.ix.wait(target, s.stop, closeDispatchWait, "indexer")
}
