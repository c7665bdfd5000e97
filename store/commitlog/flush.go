package commitlog

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// flusher is the group-commit state: one goroutine msyncs everything appended so far
// and completes every waiter whose end offset that covers. While one msync runs, new
// appends pile up behind it and are all covered by the next one, so the msync count per
// message falls as load rises.
type flusher struct {
	flushed atomic.Int64
	count   atomic.Int64  // msync rounds that flushed something
	nanos   atomic.Int64  // time spent in those rounds
	kick    chan struct{} // a flush is wanted now (cap 1)

	syncMu sync.Mutex // serializes flushTo

	mu      sync.Mutex
	waiters []waiter      // in registration order, hence in deadline order
	added   chan struct{} // a waiter was added to an empty list (cap 1)
	failed  error         // once set, new waiters fail at once
}

type waiter struct {
	end      int64
	fn       func(error)
	deadline time.Time
}

func (f *flusher) init() {
	f.kick = make(chan struct{}, 1)
	f.added = make(chan struct{}, 1)
}

func (f *flusher) kickFlush() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// OnFlushed arranges for fn to run once the log is flushed through end: inline if it
// already is, from the flusher goroutine otherwise, or with ErrFlushTimeout once the
// sync flush timeout passes (ErrWriteFailed if the flush failed, ErrClosed if the log
// closed first). fn must not block.
func (l *Log) OnFlushed(end int64, fn func(error)) {
	f := &l.fl
	if end <= f.flushed.Load() {
		fn(nil)
		return
	}
	f.mu.Lock()
	if f.failed != nil {
		err := f.failed
		f.mu.Unlock()
		fn(err)
		return
	}
	if end <= f.flushed.Load() {
		f.mu.Unlock()
		fn(nil)
		return
	}
	f.waiters = append(f.waiters, waiter{end: end, fn: fn, deadline: time.Now().Add(l.o.SyncFlushTimeout)})
	first := len(f.waiters) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.added <- struct{}{}:
		default:
		}
	}
	f.kickFlush()
}

var donePool = sync.Pool{New: func() any { return make(chan error, 1) }}

// WaitFlushed blocks until the log is flushed through end, the flush times out, or ctx
// is done.
func (l *Log) WaitFlushed(ctx context.Context, end int64) error {
	if end <= l.fl.flushed.Load() {
		return nil
	}
	ch := donePool.Get().(chan error)
	l.OnFlushed(end, func(err error) { ch <- err })
	select {
	case err := <-ch:
		donePool.Put(ch)
		return err
	case <-ctx.Done():
		// The callback will still send into ch later; ch is not reused.
		return ctx.Err()
	}
}

// Flushes returns how many flush rounds have written something since Open: with group
// commit, appends per flush is the batching achieved.
func (l *Log) Flushes() int64 { return l.fl.count.Load() }

// FlushTime returns the time spent in flush rounds since Open.
func (l *Log) FlushTime() time.Duration { return time.Duration(l.fl.nanos.Load()) }

// Flush msyncs everything appended so far and waits for it.
func (l *Log) Flush() error {
	return l.flushTo(l.written.Load())
}

// flushTo msyncs [flushed, target) segment by segment, then advances flushed and
// completes the waiters it covers. Calls are serialized.
func (l *Log) flushTo(target int64) error {
	l.fl.syncMu.Lock()
	defer l.fl.syncMu.Unlock()
	if err := l.Err(); err != nil {
		return err
	}
	from := l.fl.flushed.Load()
	if target <= from {
		return l.Err()
	}
	began := time.Now()
	for pos := from; pos < target; {
		seg := l.files.Find(pos)
		if seg == nil {
			// The segment was deleted by retention: nothing left to flush there.
			first := l.files.First()
			if first == nil || first.Start() <= pos {
				break
			}
			pos = first.Start()
			continue
		}
		end := min(target, seg.End())
		if err := seg.Sync(pos-seg.Start(), end-seg.Start()); err != nil {
			l.mu.Lock()
			l.failLocked(err)
			ferr := l.mu.failed
			l.mu.Unlock()
			l.fl.failAll(ferr)
			return ferr
		}
		pos = end
	}
	l.fl.flushed.Store(target)
	l.fl.count.Add(1)
	l.fl.nanos.Add(int64(time.Since(began)))
	l.fl.complete(target)
	return nil
}

// complete runs the callbacks of every waiter at or below flushed.
func (f *flusher) complete(flushed int64) {
	f.mu.Lock()
	var due []waiter
	keep := f.waiters[:0]
	for _, w := range f.waiters {
		if w.end <= flushed {
			due = append(due, w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(f.waiters[len(keep):])
	f.waiters = keep
	f.mu.Unlock()
	for _, w := range due {
		w.fn(nil)
	}
}

// failAll fails every waiter with err and every later one too.
func (f *flusher) failAll(err error) {
	f.mu.Lock()
	if f.failed == nil {
		f.failed = err
	}
	ws := f.waiters
	f.waiters = nil
	f.mu.Unlock()
	for _, w := range ws {
		w.fn(err)
	}
}

// flushLoop is the flusher goroutine. In sync mode it flushes whenever an append or a
// waiter asks; in async mode every FlushInterval (and when a waiter asks).
func (l *Log) flushLoop() {
	defer l.wg.Done()
	var tick <-chan time.Time
	if !l.o.SyncFlush {
		t := time.NewTicker(l.o.FlushInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.stop:
			return
		case <-l.fl.kick:
		case <-tick:
		}
		if err := l.Flush(); err != nil {
			// The log is sticky-failed; waiters were failed. Keep serving timeouts only.
			<-l.stop
			return
		}
		if l.o.SyncFlush {
			l.gather()
		}
	}
}

// gather lets the appenders the last flush released run before the next flush starts,
// so that it covers all of them instead of the first few: it yields while appends keep
// arriving, a few times at most. With 64 appenders waiting on their flush this raised
// the records per msync from 33 to about 60 for a few microseconds of latency.
func (l *Log) gather() {
	for i := 0; i < 4; i++ {
		w := l.written.Load()
		runtime.Gosched()
		if l.written.Load() == w {
			return
		}
	}
}

// sweepLoop fails waiters whose deadline has passed. It runs apart from the flusher so
// that a flush stuck in the kernel still lets SEND answer FLUSH_DISK_TIMEOUT.
func (l *Log) sweepLoop() {
	defer l.wg.Done()
	f := &l.fl
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		f.mu.Lock()
		pending := len(f.waiters) > 0
		var wait time.Duration
		if pending {
			wait = time.Until(f.waiters[0].deadline)
		}
		f.mu.Unlock()
		if pending && wait <= 0 {
			f.expire(time.Now())
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
		case <-f.added:
		}
		timer.Stop()
	}
}

// expire fails the waiters whose deadline is not after now.
func (f *flusher) expire(now time.Time) {
	f.mu.Lock()
	n := 0
	for n < len(f.waiters) && !f.waiters[n].deadline.After(now) {
		n++
	}
	due := append([]waiter(nil), f.waiters[:n]...)
	rest := copy(f.waiters, f.waiters[n:])
	clear(f.waiters[rest:])
	f.waiters = f.waiters[:rest]
	f.mu.Unlock()
	for _, w := range due {
		w.fn(ErrFlushTimeout)
	}
}
