package commitlog

import (
	"time"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Pacing of the ASYNC_FLUSH background flush. Under ASYNC_FLUSH the appender copies
// records into the mapping, so every page the periodic flush writes back carries a
// writable, dirty page-table entry, and the msync write-protects each of them and shoots
// down its TLB entry on the other processors: on the reference machines (a
// paravirtualized guest with two processors) about 40-50 µs per page, with an interrupt
// on the other processor per page. One msync of the 500 ms that figure (d) appends
// (2,000 × 1 KiB records a second, ~300 pages) took 11-22 ms, during which sends and
// pulls on the other processor stalled: it was the largest part of that figure's
// millisecond tail.
//
// So the periodic flush first drops this process's page-table entries of the whole
// pages it is about to write back (dropMappings, one MADV_DONTNEED per segment: one TLB
// shootdown for the range). The pages stay in the page cache and stay dirty; the
// write-back then finds none of them mapped and write-protects nothing, and a reader
// that comes back to them maps them again, read-only and clean. The page the appender
// is still writing is left mapped. In phase (a) of mqbench figures the write-back's
// write-protection (folio_mkclean) fell from 7.6 % to 1.5 % of the broker's samples
// (the rest is the key index's own msync), and the broker's CPU per 1 KiB message
// from 4.75 to 4.25 µs (medians of seven alternated pairs, docs/performance.md §5).
//
// The periodic flush also msyncs its range in paceSlice steps and, after each,
// pauses as long as the step took, so that no stall is longer than one step and the
// other threads get at least half of the time in between. It stops pausing (and
// msyncs the rest at once) after paceBudget of the interval has passed, when the log
// closes, or when a flush is asked for (kickFlush): pacing never lets the flush fall
// more than a quarter interval behind. Everything else (Flush, SYNC_FLUSH's group
// commit) msyncs in one call as before.
const (
	paceSlice = 32 << 10 // 8 pages: 0.3-0.4 ms of msync on the reference machine
)

// paceBudget is how long a paced flush may take before it msyncs the rest at once.
func (l *Log) paceBudget() time.Duration { return l.o.FlushInterval / 4 }

// flushPaced is the periodic ASYNC_FLUSH flush: everything written when it starts is
// flushed when it returns, its pages' mappings dropped first (dropMappings). It msyncs
// paceSlice steps itself, pausing after each, and leaves the rest and the advance of
// flushed, which must stay on a record boundary, to flushAfter. A cut of the log meanwhile (truncation, a replica's reset) makes it forget
// what it synced: the bytes there may be new.
func (l *Log) flushPaced() error {
	target := l.written.Load()
	cuts := l.cuts.Load()
	done := l.fl.flushed.Load()
	began := time.Now()
	l.dropMappings(done, target)
	for target-done > paceSlice && time.Since(began) < l.paceBudget() {
		end := (done + paceSlice) &^ (segment.PageSize - 1)
		stepBegan := time.Now()
		if err := l.syncStep(done, end); err != nil {
			return err
		}
		done = end
		if l.pause(time.Since(stepBegan), l.fl.kick) {
			continue
		}
		// Closing, or a flush is wanted now: the rest at once, through the end.
		target = l.written.Load()
		break
	}
	if l.cuts.Load() != cuts {
		// No cut happens while the log runs today (truncation and recovery come
		// before Start; ResetEmpty needs an empty log): should one come, flush from
		// the flushed offset through what is written now.
		done, target = 0, l.written.Load()
	}
	return l.flushAfter(done, target)
}

// syncStep msyncs [from, to) under syncMu without moving flushed. Its time counts in
// FlushTime.
func (l *Log) syncStep(from, to int64) error {
	l.fl.syncMu.Lock()
	defer l.fl.syncMu.Unlock()
	if err := l.Err(); err != nil {
		l.fl.w.failAll(err)
		return err
	}
	began := time.Now()
	err := l.syncRange(from, to)
	l.fl.nanos.Add(int64(time.Since(began)))
	return err
}

// pause sleeps for d and reports true, unless the log stops or wake fires first (a nil
// wake never does): then it reports false at once. The paced flush and the preparer's
// refill pause with it.
func (l *Log) pause(d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.stop:
	case <-wake:
	}
	return false
}

// dropMappings drops the page-table entries of the whole pages of [from, to), which
// the appender has written through the mapping and no longer writes, one call per
// segment, before they are written back (segment.File.DropMappings).
func (l *Log) dropMappings(from, to int64) {
	_ = l.eachSegment(from, to, func(seg *segment.File, pos, end int64) error {
		seg.DropMappings(pos-seg.Start(), end-seg.Start())
		return nil
	})
}
