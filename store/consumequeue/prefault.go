package consumequeue

import (
	"sync/atomic"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// populateChunk is how much of a file is faulted in at once (3276 units).
const populateChunk = 64 << 10

// populateRefused is set once the kernel refused MADV_POPULATE_WRITE (older than 5.14):
// it will refuse every later call too, so no more goroutines are started for it and the
// writes fault their pages themselves.
var populateRefused atomic.Bool

// prefault faults in the pages of f from the one holding rel up to populateChunk
// further and returns where they end (relative to the file). A page's first touch costs
// 13-80 µs on the reference machines, and one madvise over the chunk about 1 ms on a
// freshly created file: done on the writer, that stalled the appending event loop (and
// every send and parked pull behind it) once per chunk, first of all at a new queue's
// first message. So only the page being written is faulted by the write itself; a
// goroutine faults the rest of the chunk, which the writer reaches about 200 units per
// page later. The file's lock keeps a concurrent Close from unmapping the range under
// it (segment.File.PopulateOpen).
func prefault(f *segment.File, rel int64) (to int64) {
	to = min(rel+populateChunk, f.Size())
	next := rel&^(segment.PageSize-1) + segment.PageSize // past the page written now
	startPrefault(f, next, to)
	return to
}

// startPrefault starts the goroutine that faults [from, to) of f in, and reports whether
// it did: not for an empty range, nor once the kernel refused.
func startPrefault(f *segment.File, from, to int64) bool {
	if from >= to || populateRefused.Load() {
		return false
	}
	go func() {
		if f.PopulateOpen(from, to) {
			populateRefused.Store(true)
		}
	}()
	return true
}
