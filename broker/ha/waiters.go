package ha

import (
	"errors"
	"sync"
	"time"
)

// Errors a SYNC_MASTER wait completes with. The broker answers them as
// SLAVE_NOT_AVAILABLE (11) and FLUSH_SLAVE_TIMEOUT (12): the message is stored on the
// master either way, and the client counts it as sent with that status.
var (
	// ErrSlaveNotAvailable: no slave is connected, or the connected ones are further
	// behind than the fall-behind limit, so waiting would only end in a timeout.
	ErrSlaveNotAvailable = errors.New("ha: slave not available")
	// ErrSlaveTimeout: no slave acknowledged the record within the slave timeout.
	ErrSlaveTimeout = errors.New("ha: slave ack timeout")
	// ErrClosed: the replication server closed before a slave acknowledged.
	ErrClosed = errors.New("ha: closed")
)

// waitList holds the callbacks of sends waiting for a slave to acknowledge their end
// offset. It is pure state: the caller supplies the acknowledged offset and the time,
// and runs the callbacks it gets back outside the lock.
type waitList struct {
	mu     sync.Mutex
	acked  int64    // the highest offset any slave acknowledged
	ws     []waiter // in registration order: deadlines ascend (one timeout for all)
	failed error    // once set, new waiters fail at once
}

type waiter struct {
	end      int64
	fn       func(error)
	deadline time.Time
}

// done is a callback ready to run with its result.
type done struct {
	fn  func(error)
	err error
}

// add registers fn to run once acked reaches end, or with ErrSlaveTimeout at deadline.
// When end is already acknowledged (or the list failed) the callback is returned to run
// at once, and first is false; first reports that the list was empty before (the
// sweeper's timer must be armed).
func (l *waitList) add(end int64, fn func(error), deadline time.Time) (now *done, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed != nil {
		return &done{fn: fn, err: l.failed}, false
	}
	if end <= l.acked {
		return &done{fn: fn}, false
	}
	l.ws = append(l.ws, waiter{end: end, fn: fn, deadline: deadline})
	return nil, len(l.ws) == 1
}

// advance records that a slave acknowledged acked and returns the waiters it completes.
func (l *waitList) advance(acked int64) []done {
	l.mu.Lock()
	defer l.mu.Unlock()
	if acked <= l.acked {
		return nil
	}
	l.acked = acked
	var out []done
	keep := l.ws[:0]
	for _, w := range l.ws {
		if w.end <= acked {
			out = append(out, done{fn: w.fn})
		} else {
			keep = append(keep, w)
		}
	}
	clear(l.ws[len(keep):])
	l.ws = keep
	return out
}

// expire returns the waiters whose deadline is not after now, failed with
// ErrSlaveTimeout.
func (l *waitList) expire(now time.Time) []done {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for n < len(l.ws) && !l.ws[n].deadline.After(now) {
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]done, n)
	for i, w := range l.ws[:n] {
		out[i] = done{fn: w.fn, err: ErrSlaveTimeout}
	}
	rest := copy(l.ws, l.ws[n:])
	clear(l.ws[rest:])
	l.ws = l.ws[:rest]
	return out
}

// failAll fails every waiter, and every later one, with err.
func (l *waitList) failAll(err error) []done {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.failed = err
	}
	out := make([]done, len(l.ws))
	for i, w := range l.ws {
		out[i] = done{fn: w.fn, err: err}
	}
	l.ws = nil
	return out
}

// next returns the earliest deadline, ok false when nobody waits.
func (l *waitList) next() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ws) == 0 {
		return time.Time{}, false
	}
	return l.ws[0].deadline, true
}

// ackedOffset returns the highest acknowledged offset.
func (l *waitList) ackedOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

// pending returns how many waiters there are.
func (l *waitList) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ws)
}

// run calls each callback with its result.
func run(ds []done) {
	for _, d := range ds {
		d.fn(d.err)
	}
}

// failPending fails the waiters registered now with err; later ones wait as usual.
func (l *waitList) failPending(err error) []done {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]done, len(l.ws))
	for i, w := range l.ws {
		out[i] = done{fn: w.fn, err: err}
	}
	l.ws = nil
	return out
}
