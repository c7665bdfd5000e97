package commitlog

import (
	"errors"
	"os"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Zeros ahead of the writer under SYNC_FLUSH. Segments are preallocated with fallocate,
// which leaves unwritten extents; an msync over such blocks converts them and then
// writes the file's metadata too, an extra write per group commit (an msync of 64
// records took about twice as long). So the preparer writes zeros over the blocks ahead
// of the writer and starts their write-back, while nobody waits for them.
//
// The zeros go in with pwrite (segment.File.WriteZeros), not by faulting the pages in
// through the mapping and writing those back: that cost about 0.6-1.9 ms of processor per
// MiB here (page-table entries installed, then write-protected page by page with a TLB
// shootdown each when written back), pwrite about 0.19 ms. It is the processor the
// producers of the next round need.
//
// Unlike a page fault, a pwrite of zeros changes the file, so it must never land on a
// record. The preparer claims its range under the log lock, at or past the write
// position (nothing is staged or written there yet), and releases it when its pwrite
// returns; whoever writes to the file under the lock later (the flusher's commit, a
// roll's blank, a replica's run) first waits for a claim that overlaps its range. The
// preparer stays syncAhead in front, so that wait happens only when it fell behind, and
// once at start-up, when its first chunk begins at the write position.

// zeroClaim is the range [from, to) of seg (absolute offsets) the preparer is writing
// zeros to; done is closed once it is finished.
type zeroClaim struct {
	seg      *segment.File
	from, to int64
	done     chan struct{}
}

// zeroing is the claim in progress, nil when none. Set under the log lock, cleared
// without it.
type zeroing struct {
	cur atomic.Pointer[zeroClaim]

	// For tests: waits counts the writes that waited for a claim (awaitZerosLocked);
	// claimed, when set, is called with each claim once it is published and before its
	// zeros are written, without the log lock.
	waits   atomic.Int64
	claimed func(*zeroClaim)
}

// zeroAhead writes zeros over [from, to) of seg, absolute offsets, less what the writer
// has reached meanwhile, and starts writing them back. ok is false when the zeros did
// not go in (the log is stopping or failed, or the pwrite failed): the caller must not
// count the range as zeroed.
//
// A failed pwrite fails the log as a failed msync does, and every SYNC_FLUSH waiter
// with it: the file's state past the write position is unknown (a short write, a full
// disk), and the records written over it later could not be vouched for. Only a segment
// closed under the preparer (the log shutting down, retention) is not a failure.
func (l *Log) zeroAhead(seg *segment.File, from, to int64) (ok bool) {
	l.mu.Lock()
	from = max(from, l.mu.wpos)
	// Not l.mu.closed: a replica's log is sealed against appends and still written to.
	if l.stopping() || l.mu.failed != nil {
		l.mu.Unlock()
		return false
	}
	if from >= to {
		l.mu.Unlock()
		return true
	}
	c := &zeroClaim{seg: seg, from: from, to: to, done: make(chan struct{})}
	l.prep.zero.cur.Store(c)
	l.mu.Unlock()
	if h := l.prep.zero.claimed; h != nil {
		h(c)
	}
	err := seg.WriteZeros(from-seg.Start(), to-seg.Start())
	l.prep.zero.cur.Store(nil)
	close(c.done)
	if err != nil {
		if !errors.Is(err, os.ErrClosed) {
			_ = l.failWrite(err)
		}
		return false
	}
	seg.StartWriteback(from-seg.Start(), to-seg.Start())
	return true
}

// stopping reports whether the log is shutting down (Close, Abandon).
func (l *Log) stopping() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// awaitZerosLocked waits, with l.mu held, until no zeros are being written over
// [from, to) of seg (absolute offsets). Called before every write to a segment file
// under SYNC_FLUSH.
func (l *Log) awaitZerosLocked(seg *segment.File, from, to int64) {
	if c := l.prep.zero.cur.Load(); c != nil && c.seg == seg && c.from < to && from < c.to {
		l.prep.zero.waits.Add(1)
		<-c.done
	}
}
