package commitlog

import (
	"sync"
	"sync/atomic"
	"time"
)

// flusher is the group-commit state. Under SYNC_FLUSH two lane goroutines take turns
// (groupCommit): the one holding the turn writes what is staged and passes the turn on,
// then msyncs what it wrote, so that the next round is written while the last one's
// msync runs; a round's waiters are completed, in one pass, once its msync and every
// earlier round's have returned. Appends go on while msyncs run (the append lock is
// never held across one): the records per round grow with the load, the rounds per
// record fall.
type flusher struct {
	flushed atomic.Int64
	count   atomic.Int64  // msync rounds that flushed something
	nanos   atomic.Int64  // time spent in their msyncs
	kick    chan struct{} // a flush is wanted now (cap 1)

	// syncMu is held shared by every msync in progress (a round's, Flush's) and
	// exclusively by tests that hold the flusher off; doneMu serializes advancing
	// flushed and completing the waiters it covers.
	syncMu sync.RWMutex
	doneMu sync.Mutex

	w waiters

	// The pipeline (groupCommit). turn is held by the lane that gathers and writes the
	// next round; issued is where the last round written ends (the turn holder's).
	// inflight lists the rounds written and not yet folded into flushed, in offset
	// order.
	turn     sync.Mutex
	issued   int64
	pipeMu   sync.Mutex
	inflight []round

	// What the last round saw, for gather: how many waiters were queued when it
	// completed, how long its msync took and when it ended (since epoch).
	seen    atomic.Int32
	last    atomic.Int64
	lastEnd atomic.Int64
	epoch   time.Time

	// synced, when set (by tests), is called each time flushed advances, with the
	// absolute range that became durable.
	synced func(from, to int64)
	// beforeSync, when set (by tests), is called by a lane before it msyncs a round.
	beforeSync func(from, to int64)

	timer *time.Timer // gather's, reused; the turn holder's
}

// round is one msync of [from, to) in the pipeline; done once it returned.
type round struct {
	from, to int64
	done     bool
}

// lanes is how many rounds' msyncs may run at once: each lane msyncs the round it
// wrote. On the reference disk two concurrent 64 KiB pwrite+msync pairs complete 1.4
// times as many per second as one after the other, and a third adds nothing.
const lanes = 2

// maxGather bounds how long a flush waits for the callers the previous one released
// (see gather): at most half an msync, and never more than this.
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
// advances flushed and completes the waiters it covers. It may run beside the
// pipeline's msyncs: ranges msynced twice are harmless, and flushed only grows. A
// failed msync makes the log sticky-failed and fails every waiter, present and future.
func (l *Log) flushTo(target int64) error {
	f := &l.fl
	f.syncMu.RLock()
	defer f.syncMu.RUnlock()
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
	if err := l.syncRange(from, target); err != nil {
		return err
	}
	l.roundDone(time.Since(began))
	l.advance(target)
	return nil
}

// syncRange msyncs [from, to), one msync per segment the range spans. A failed msync
// fails the log and every waiter.
func (l *Log) syncRange(from, to int64) error {
	for pos := from; pos < to; {
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
		end := min(to, seg.End())
		if err := seg.Sync(pos-seg.Start(), end-seg.Start()); err != nil {
			l.mu.Lock()
			l.failLocked(err)
			ferr := l.mu.failed
			l.mu.Unlock()
			l.fl.w.failAll(ferr)
			return ferr
		}
		pos = end
	}
	return nil
}

// roundDone counts a round whose msync took took.
func (l *Log) roundDone(took time.Duration) {
	f := &l.fl
	f.count.Add(1)
	f.nanos.Add(int64(took))
	f.last.Store(int64(took))
}

// advance moves flushed up to to, unless it is already there, and completes the waiters
// that covers.
func (l *Log) advance(to int64) {
	f := &l.fl
	f.doneMu.Lock()
	defer f.doneMu.Unlock()
	from := f.flushed.Load()
	if to <= from {
		return
	}
	f.flushed.Store(to)
	if f.synced != nil {
		f.synced(from, to)
	}
	f.seen.Store(int32(f.w.complete(to)))
	f.lastEnd.Store(int64(time.Since(f.epoch)))
}

// flushLoop is the flusher goroutine. In sync mode it group-commits (groupCommit); in
// async mode it flushes every FlushInterval, and when a waiter asks.
func (l *Log) flushLoop() {
	defer l.wg.Done()
	if l.o.SyncFlush {
		l.groupCommit()
		return
	}
	t := time.NewTicker(l.o.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.fl.kick:
		case <-t.C:
		}
		if err := l.Flush(); err != nil {
			// The log is sticky-failed and every waiter failed; new ones fail at once.
			<-l.stop
			return
		}
	}
}

// groupCommit runs the lanes of the SYNC_FLUSH pipeline (lane) and waits for them.
func (l *Log) groupCommit() {
	l.fl.issued = l.fl.flushed.Load()
	var wg sync.WaitGroup
	for range lanes {
		wg.Go(l.lane)
	}
	wg.Wait()
}

// lane is one lane of the pipeline. Holding the turn, it waits until something is
// appended and not yet in a round (on the kick channel: a request that finds the
// pipeline idle, a lone producer's, is written and msynced at once, with no batching
// delay), gathers, writes the staged run and notes the round; then it passes the turn
// on, msyncs the round and folds into flushed every round at the head of the pipeline
// whose msync returned, completing their waiters. A waiter is thus completed only once
// its round and every earlier one are on disk; a round whose msync returns first waits
// in the pipeline for the earlier ones. At most lanes msyncs run at once: a lane takes
// the turn again only after its msync returned.
func (l *Log) lane() {
	f := &l.fl
	for {
		f.turn.Lock()
		r, ok := l.nextRound()
		f.turn.Unlock()
		if !ok {
			return
		}
		if f.beforeSync != nil {
			f.beforeSync(r.from, r.to)
		}
		f.syncMu.RLock()
		began := time.Now()
		err := l.syncRange(r.from, r.to)
		took := time.Since(began)
		f.syncMu.RUnlock()
		if err != nil {
			// The log failed, and every waiter with it.
			<-l.stop
			return
		}
		l.roundDone(took)
		if through, ok := f.fold(r); ok {
			l.advance(through)
		}
	}
}

// nextRound waits for something to write, gathers, writes the staged run and returns
// the round to msync; ok is false once the log is stopping or failed. The caller holds
// the turn.
func (l *Log) nextRound() (r round, ok bool) {
	f := &l.fl
	for {
		select {
		case <-l.stop:
			return round{}, false
		default:
		}
		if max(l.staged.Load(), l.written.Load()) <= f.issued {
			select {
			case <-l.stop:
				return round{}, false
			case <-f.kick:
			}
			continue
		}
		l.gather()
		err := l.commit()
		if err == nil {
			err = l.Err()
		}
		if err != nil {
			f.w.failAll(err)
			<-l.stop
			return round{}, false
		}
		to := l.written.Load()
		if to <= f.issued {
			continue
		}
		r = round{from: max(f.issued, f.flushed.Load()), to: to}
		f.issued = to
		f.pipeMu.Lock()
		f.inflight = append(f.inflight, r)
		f.pipeMu.Unlock()
		return r, true
	}
}

// fold marks r's msync returned and drops the returned rounds at the head of the
// pipeline; ok says whether it dropped any, through is where the last one ends.
func (f *flusher) fold(r round) (through int64, ok bool) {
	f.pipeMu.Lock()
	defer f.pipeMu.Unlock()
	for i := range f.inflight {
		if f.inflight[i].to == r.to {
			f.inflight[i].done = true
		}
	}
	n := 0
	for n < len(f.inflight) && f.inflight[n].done {
		through, ok = f.inflight[n].to, true
		n++
	}
	f.inflight = append(f.inflight[:0], f.inflight[n:]...)
	return through, ok
}

// gather lets the callers the last round released queue their next request before the
// next round starts, so that it covers them all instead of the first few. Without it,
// closed-loop producers split into groups that alternate between msyncs: the released
// group is still appending when the next msync starts, so each msync covers about half
// of them (32 records per msync with 64 writers instead of 42). It sleeps until as many
// waiters are queued as the last round saw, for at most half the last msync's duration
// (maxGather at most) counted from the end of that round; the last waiter to queue wakes
// it. A round that saw one waiter or none (a lone producer, a quiet log) never waits.
// It sleeps rather than spins: on a machine the clients share, a spinning lane takes
// the processor from the producers it waits for.
//
// With no other round in flight it waits for half as many: the producers then split
// into two groups of about the same size, one appending while the other's round is
// msynced (groupCommit). Waiting for all of them there would keep one round carrying
// nearly all the producers and the other the few that missed it, and the wake-up and
// appends of the big group would never overlap an msync.
func (l *Log) gather() {
	f := &l.fl
	q := &f.w
	want := f.seen.Load()
	f.pipeMu.Lock()
	alone := len(f.inflight) == 0
	f.pipeMu.Unlock()
	if alone {
		want = (want + 1) / 2
	}
	if want <= 1 || q.n.Load() >= want {
		return
	}
	budget := min(time.Duration(f.last.Load())/2, maxGather)
	left := time.Duration(f.lastEnd.Load()) + budget - time.Since(f.epoch)
	if left <= 0 {
		return
	}
	select {
	case <-q.ready: // a stale wake-up from an earlier round
	default:
	}
	q.want.Store(want)
	defer q.want.Store(0)
	if q.n.Load() >= want {
		return
	}
	if f.timer == nil {
		f.timer = time.NewTimer(left)
	} else {
		f.timer.Reset(left)
	}
	select {
	case <-q.ready:
	case <-f.timer.C:
	case <-l.stop:
	}
	f.timer.Stop()
}

// failAll fails every waiter with err and every later one too.
func (f *flusher) failAll(err error) { f.w.failAll(err) }
