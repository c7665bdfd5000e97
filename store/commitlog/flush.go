package commitlog

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// flusher is the group-commit state. One goroutine msyncs everything appended so far
// in one call and completes, in one pass, every waiter whose end offset that covers.
// Appends go on while an msync runs (the append lock is never held across one), and
// all of them are covered by the next msync, which starts as soon as the previous one
// returns: the records per msync grow with the load, the msyncs per record fall.
type flusher struct {
	flushed atomic.Int64
	count   atomic.Int64  // msync rounds that flushed something
	nanos   atomic.Int64  // time spent in those rounds
	kick    chan struct{} // a flush is wanted now (cap 1)

	syncMu sync.Mutex // serializes flushTo

	w waiters

	// What the last round saw, for gather: how many waiters were queued when it
	// completed, how long its msync took and when it ended (since epoch).
	seen    atomic.Int32
	last    atomic.Int64
	lastEnd atomic.Int64
	epoch   time.Time

	// synced, when set (by tests), is called after every successful msync with the
	// absolute range it covered.
	synced func(from, to int64)

	timer *time.Timer // gather's, reused; the flusher goroutine's only
}

// maxGather bounds how long a flush waits for the callers the previous one released
// (see gather): at most one msync, and never more than this.
const maxGather = 500 * time.Microsecond

func (f *flusher) init() {
	f.kick = make(chan struct{}, 1)
	f.w.added = make(chan struct{}, 1)
	f.w.ready = make(chan struct{}, 1)
	f.epoch = time.Now()
}

func (f *flusher) kickFlush() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Flushes returns how many flush rounds have written something since Open: with group
// commit, appends per flush is the batching achieved.
func (l *Log) Flushes() int64 { return l.fl.count.Load() }

// FlushTime returns the time spent in flush rounds since Open.
func (l *Log) FlushTime() time.Duration { return time.Duration(l.fl.nanos.Load()) }

// Flush msyncs everything appended so far and waits for it. Under SYNC_FLUSH it first
// writes the staged records to the file (stage.go); a failed write fails the log and
// every waiter, as a failed msync does.
func (l *Log) Flush() error {
	if err := l.commit(); err != nil {
		l.fl.w.failAll(err)
		return err
	}
	return l.flushTo(l.written.Load())
}

// flushTo msyncs [flushed, target) segment by segment, one msync per segment, then
// advances flushed and completes the waiters it covers. Calls are serialized. A failed
// msync makes the log sticky-failed and fails every waiter, present and future.
func (l *Log) flushTo(target int64) error { return l.flushAfter(0, target) }

// flushAfter is flushTo for a caller that has msynced [flushed, done) itself (a paced
// flush, pace.go): it msyncs only from done on. flushed, which the checkpoint records
// as where recovery may start, moves only here, and only to a record boundary (target).
func (l *Log) flushAfter(done, target int64) error {
	f := &l.fl
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	if err := l.Err(); err != nil {
		// Waiters queued since the failure get it too, never a timeout instead.
		f.w.failAll(err)
		return err
	}
	from := f.flushed.Load()
	if target <= from {
		return nil
	}
	began := time.Now()
	if err := l.syncRange(max(from, min(done, target)), target); err != nil {
		return err
	}
	took := time.Since(began)
	f.flushed.Store(target)
	f.count.Add(1)
	f.nanos.Add(int64(took))
	f.seen.Store(int32(f.w.complete(target)))
	f.last.Store(int64(took))
	f.lastEnd.Store(int64(time.Since(f.epoch)))
	return nil
}

// syncRange msyncs [from, to) of the log, one msync per segment the range spans; a
// failed msync fails the log (failWrite). Called under syncMu.
func (l *Log) syncRange(from, to int64) error {
	return l.eachSegment(from, to, func(seg *segment.File, pos, end int64) error {
		if err := seg.Sync(pos-seg.Start(), end-seg.Start()); err != nil {
			return l.failWrite(err)
		}
		if l.fl.synced != nil {
			l.fl.synced(pos, end)
		}
		return nil
	})
}

// eachSegment calls fn for each part [pos, end) of [from, to) that lies in one
// segment, in order, with that segment, and stops at fn's first error. Parts whose
// segment retention deleted meanwhile are skipped: nothing is left to do there.
func (l *Log) eachSegment(from, to int64, fn func(seg *segment.File, pos, end int64) error) error {
	for pos := from; pos < to; {
		seg := l.files.Find(pos)
		if seg == nil {
			first := l.files.First()
			if first == nil || first.Start() <= pos {
				break
			}
			pos = first.Start()
			continue
		}
		end := min(to, seg.End())
		if err := fn(seg, pos, end); err != nil {
			return err
		}
		pos = end
	}
	return nil
}

// flushLoop is the flusher goroutine. In sync mode it group-commits (groupCommit); in
// async mode it flushes every FlushInterval, paced (pace.go), and at once when a waiter
// asks.
func (l *Log) flushLoop() {
	defer l.wg.Done()
	if l.o.SyncFlush {
		l.groupCommit()
		return
	}
	t := time.NewTicker(l.o.FlushInterval)
	defer t.Stop()
	for {
		var err error
		select {
		case <-l.stop:
			return
		case <-l.fl.kick:
			err = l.Flush()
		case <-t.C:
			err = l.flushPaced() // pace.go
		}
		if err != nil {
			// The log is sticky-failed and every waiter failed; new ones fail at once.
			<-l.stop
			return
		}
	}
}

// groupCommit flushes as long as anything is appended and not flushed, one round right
// after the other, and sleeps on the kick channel otherwise: a request that finds the
// flusher idle (a lone producer's) is flushed at once, with no batching delay.
func (l *Log) groupCommit() {
	f := &l.fl
	for {
		if max(l.staged.Load(), l.written.Load()) <= f.flushed.Load() {
			// The producers the last round released are appending again: wait for
			// them in gather straight away rather than for the first one's kick and
			// then for the rest (one wake-up of this goroutine per round instead of two).
			if l.gather() {
				continue
			}
			select {
			case <-l.stop:
				return
			case <-f.kick:
			}
			continue
		}
		l.gather()
		if err := l.Flush(); err != nil {
			<-l.stop
			return
		}
	}
}

// gather lets the callers the last round released queue their next request before the
// next round starts, so that it covers them all instead of the first few. Without it,
// closed-loop producers split into groups that alternate between msyncs: the released
// group is still appending when the next msync starts, so each msync covers about half
// of them (32 records per msync with 64 writers instead of 42). It sleeps until as many
// waiters are queued as the last round saw, for at most the last msync's duration
// (maxGather at most) counted from the end of that round; the last waiter to queue wakes
// it. A round that saw one waiter or none (a lone producer, a quiet log) never waits.
// The bound was half an msync; once the msyncs got short (about 150-250 µs with the
// zeros ahead written by pwrite) half of one was less than the released producers
// need to append again on two processors (about 100-130 µs for 64), and the rounds
// shrank to about 45 records.
// It sleeps rather than spins: on a machine the clients share, a spinning flusher takes
// the processor from the producers it waits for.
func (l *Log) gather() (waited bool) {
	f := &l.fl
	q := &f.w
	want := f.seen.Load()
	if want <= 1 || q.n.Load() >= want {
		return false
	}
	budget := min(time.Duration(f.last.Load()), maxGather)
	left := time.Duration(f.lastEnd.Load()) + budget - time.Since(f.epoch)
	if left <= 0 {
		return false
	}
	select {
	case <-q.ready: // a stale wake-up from an earlier round
	default:
	}
	q.want.Store(want)
	defer q.want.Store(0)
	if q.n.Load() >= want {
		return true
	}
	waited = true
	if f.timer == nil {
		f.timer = time.NewTimer(left)
	} else {
		f.timer.Reset(left)
	}
	select {
	case <-q.ready:
	case <-f.timer.C:
	case <-l.stop:
		waited = false // the caller's own select sees the stop
	}
	f.timer.Stop()
	return waited
}

// failWrite makes the log sticky-failed by err, a write to its files that failed, fails
// every SYNC_FLUSH waiter with the log's failure and returns it.
func (l *Log) failWrite(err error) error {
	l.mu.Lock()
	l.failLocked(err)
	ferr := l.mu.failed
	l.mu.Unlock()
	l.fl.failAll(ferr)
	return ferr
}

// failAll fails every waiter with err and every later one too.
func (f *flusher) failAll(err error) { f.w.failAll(err) }
