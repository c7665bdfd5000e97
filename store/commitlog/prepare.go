package commitlog

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Pre-faulting. On the reference machines a write fault on a fresh page of a mapped file
// costs 13-80 µs (the hypervisor backs the page on first touch), so an appender that
// faults its own pages manages 45-290 k records/s; pages faulted in bulk with
// MADV_POPULATE_WRITE cost about 3 µs each (1 GiB in 0.6-1 s), after which appends run
// at 2-11 GB/s. The preparer therefore keeps the pages ahead of the writer populated, in
// chunks, up to populateAhead in front of it (64 MiB: about 60 ms of appends at full
// speed), and creates and populates the next segment before the active one fills up.
// Populating whole 1 GiB segments at creation was rejected: it pins 1 GiB of page cache
// per segment before it is needed and makes an idle broker's RSS a gigabyte.
//
// When the writer still catches up with the populated range (the preparer lost the CPU
// to others), it populates the next inlineChunk itself rather than fault page by page:
// a 1 MiB MADV_POPULATE_WRITE measured 4 M records/s against 0.14 M for the same pages
// faulted one by one.
//
// Priming: Start wakes the preparer once, so the range ahead of the recovered end is
// prepared while the broker starts up, not on its first append. Woken by that append
// instead, the appender populated its inlineChunk inside the append lock (about 3 ms on
// the reference machine) and the preparer then faulted in the whole 64 MiB (about
// 45 ms of one of its two processors), under the first messages of a freshly started
// broker: in the end-to-end figure (d) the first 50-100 ms of sends waited 5-40 ms.
//
// Pacing: a populate keeps one of the two processors of the reference machines busy in
// the kernel (a 4 MiB chunk took 0.5-3.5 ms), and a refill of the half of populateAhead
// the writer used ran 8 such chunks back to back. So chunks are 1 MiB, and once the
// populated end is at least half of populateAhead in front of the writer the preparer
// pauses after each chunk as long as it took (pausePopulate); closer than that it goes
// on at once, so pacing never lets the writer catch up with it.
//
// Under SYNC_FLUSH the appender writes with pwrite and faults nothing; what the preparer
// does there is write zeros ahead of it with pwrite and start their write-back (zero.go),
// so that its msyncs find written extents rather than unwritten ones to convert (an
// msync of 64 records took about twice as long on unwritten extents). It stays syncAhead
// in front, in syncChunk steps: zeros written 64 MiB ahead in 4 MiB steps put 64 MiB of
// writes on the disk at start-up and a 4 MiB write in front of some msyncs, where 1 MiB
// steps keep an msync at most 1 MiB of zeros behind.
const (
	populateChunk = 1 << 20
	populateAhead = 64 << 20
	inlineChunk   = 1 << 20
	syncChunk     = 1 << 20
	syncAhead     = 8 << 20
)

// preparer runs on its own goroutine: it creates the next segment before the active one
// fills up (fallocate and mmap of a 1 GiB file take milliseconds, which the append
// critical section must not wait for), and pre-faults the pages ahead of the writer
// (under SYNC_FLUSH: writes zeros ahead of it instead, zero.go).
type preparer struct {
	kick      chan struct{}
	populated atomic.Int64 // absolute offset through which pages are populated
	// zeroed, under SYNC_FLUSH, is the absolute offset through which zeros are
	// written ahead. Kept apart from populated: zeros written with pwrite fault no
	// page of the mapping in, and a replica's AppendRaw copies into the mapping
	// (ensureLocked) even under SYNC_FLUSH.
	zeroed      atomic.Int64
	unsupported atomic.Bool  // the kernel refused MADV_POPULATE_WRITE
	pauses      atomic.Int64 // chunks after which the preparer paused (pausePopulate), for tests

	mu   sync.Mutex
	next *segment.File // created ahead, not yet in the set

	zero zeroing // under SYNC_FLUSH: the zeros being written ahead (zero.go)
}

func (p *preparer) init() {
	p.kick = make(chan struct{}, 1)
}

func (p *preparer) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// noteLocked is called by the appender (under the log lock) after writing up to rel in
// seg; it wakes the preparer when the writer has used half of the distance prepared
// ahead (prepMark: populated, or zeroed under SYNC_FLUSH).
func (p *preparer) noteLocked(l *Log, seg *segment.File, rel int64) {
	ahead, _ := l.prepDistances()
	if seg.Start()+rel+ahead/2 >= l.prepMark().Load() {
		p.wake()
	}
}

// take returns the segment that starts at start: the prepared one if it is ready,
// otherwise one created now. It is added to the log's set. Called under the log lock.
// Creation happens under p.mu on both sides (here and in nextSegment), always at the
// set's end, so the preparer can never hold a second mapping of a file in the set.
func (p *preparer) take(l *Log, start int64) (*segment.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.next
	p.next = nil
	if f != nil && f.Start() != start {
		// Unreachable while both sides create only at the set's end (ResetEmpty moves
		// the end under p.mu too). Should it happen, the preparer may still be
		// populating f: unlinked now, unmapped after the grave's grace.
		_ = l.o.Grave.Bury(f, l.o.Now())
		f = nil
	}
	if f == nil {
		var err error
		if f, err = segment.Create(l.o.Dir, start, l.o.SegmentBytes); err != nil {
			return nil, err
		}
	}
	if err := l.files.Append(f); err != nil {
		f.Close()
		return nil, err
	}
	p.wake()
	return f, nil
}

// discard closes a prepared segment that was never used. Its file stays on disk, all
// zeros; recovery removes it.
func (p *preparer) discard() {
	p.mu.Lock()
	f := p.next
	p.next = nil
	p.mu.Unlock()
	if f != nil {
		f.Close()
	}
}

// prepareLoop is the preparer goroutine.
func (l *Log) prepareLoop() {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		case <-l.prep.kick:
		}
		l.prepare()
	}
}

// prepare populates chunk by chunk up to populateAhead past the write position, creating
// the next segment when the populated range reaches the end of the active one.
func (l *Log) prepare() {
	p := &l.prep
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		ahead, chunk := l.prepDistances()
		w := max(l.written.Load(), l.staged.Load())
		mark := l.prepMark()
		from := max(mark.Load(), w)
		// Whole chunks on chunk boundaries: a goal that followed the writer exactly
		// would, once the first chunks are done, chase it with a short chunk after
		// every round of appends — under SYNC_FLUSH a write-back of a few KiB of zeros
		// whose extent conversion the next msync then has to write out, round after
		// round.
		goal := alignUp(w+ahead, chunk)
		if from >= goal {
			return
		}
		f := l.files.Find(from)
		if f == nil {
			if f = l.nextSegment(from); f == nil {
				return
			}
		}
		end := min(alignUp(from+1, chunk), f.End(), goal) // through the end of the chunk holding from
		if l.o.SyncFlush {
			if !l.zeroAhead(f, from, end) {
				return
			}
			raise(mark, end)
			continue
		}
		began := time.Now()
		if !p.unsupported.Load() && !f.Populate(from-f.Start(), end-f.Start()) {
			p.unsupported.Store(true)
		}
		raise(mark, end)
		if !l.pausePopulate(end, ahead, time.Since(began)) {
			return
		}
	}
}

// pausePopulate is the preparer's pause after a populated chunk: as long as the chunk
// took, so that the other processor is never taken for longer than one chunk and gets
// at least half the time between chunks, unless the writer has come within half the
// distance of the populated end (then the preparer goes on at once). It returns false
// when the log is closing.
func (l *Log) pausePopulate(populated, ahead int64, took time.Duration) bool {
	if populated-max(l.written.Load(), l.staged.Load()) < ahead/2 {
		return true
	}
	l.prep.pauses.Add(1)
	return l.pause(took, nil) // pace.go
}

// prepMark is the mark the preparer advances: zeroed under SYNC_FLUSH, populated
// otherwise.
func (l *Log) prepMark() *atomic.Int64 {
	if l.o.SyncFlush {
		return &l.prep.zeroed
	}
	return &l.prep.populated
}

// prepDistances returns how far ahead of the writer the preparer works and in what
// chunks: populateAhead and populateChunk under ASYNC_FLUSH, where the appender copies
// into the mapping and must find its pages faulted in; syncAhead and syncChunk under
// SYNC_FLUSH, where the appender writes with pwrite (nothing to fault) and the point is
// only the zeros written back ahead.
func (l *Log) prepDistances() (ahead, chunk int64) {
	if l.o.SyncFlush {
		return syncAhead, syncChunk
	}
	return populateAhead, populateChunk
}

// alignUp rounds v up to a multiple of unit.
func alignUp(v, unit int64) int64 { return (v + unit - 1) / unit * unit }

// raise moves the mark m up to v unless it is already past it.
func raise(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if old >= v || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// ensureLocked populates [rel, rel+n) of seg plus inlineChunk beyond it if the preparer
// has not got there yet. Called by the appender under the log lock.
func (p *preparer) ensureLocked(seg *segment.File, rel, n int64) {
	if p.unsupported.Load() || seg.Start()+rel+n <= p.populated.Load() {
		return
	}
	to := min(rel+n+inlineChunk, seg.Size())
	if !seg.Populate(rel, to) {
		p.unsupported.Store(true)
		return
	}
	raise(&p.populated, seg.Start()+to)
}

// nextSegment returns the prepared segment that holds pos, the one that starts at the
// end of the set, creating it if needed; nil if pos is not in it (the appender rolled
// meanwhile: the file is in the set now and the caller finds it there) or creation
// failed. The preparer asks past the start of that segment once it has zeroed its first
// chunks.
func (l *Log) nextSegment(pos int64) *segment.File {
	p := &l.prep
	p.mu.Lock()
	defer p.mu.Unlock()
	last := l.files.Last()
	if last == nil || pos < last.End() || pos >= last.End()+l.o.SegmentBytes {
		return nil
	}
	start := last.End()
	if p.next != nil {
		if p.next.Start() == start {
			return p.next
		}
		p.next.Close()
		p.next = nil
	}
	next, err := segment.Create(l.o.Dir, start, l.o.SegmentBytes)
	if err != nil {
		l.log.Warn().Err(err).Msg("prepare next segment")
		return nil
	}
	p.next = next
	return next
}
