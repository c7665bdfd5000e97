package commitlog

// Read-ahead of a consumer catching up on a backlog (docs/scale.md §3).
//
// A pull reads its records through the segment's mapping; on cold pages each fault
// reads one readahead window around it and the pull waits for it, so a consumer of a
// cold backlog alternates between waiting for the disk and waiting for the network.
// ReadAhead keeps the disk busy meanwhile: whenever a read crosses a readAheadChunk
// boundary it asks for the next readAheadWindow bytes with POSIX_FADV_WILLNEED, from
// a goroutine of its own so that the pull's answer does not wait for the I/O to be
// submitted. On cached pages the advice finds everything present and costs a few
// microseconds per chunk.

const (
	// readAheadChunk is how far a reader moves between two advices.
	readAheadChunk = 4 << 20
	// readAheadWindow is how far ahead of the reader the advice reaches.
	readAheadWindow = 16 << 20
)

// ReadAhead tells the log that a reader has just read [from, to) of it. When that
// crosses a readAheadChunk boundary, the readAheadWindow bytes after to (up to the
// written end, into the next segment when to's ends first) are advised into the page
// cache in the background; at most one advice is in flight, later ones are dropped
// meanwhile.
func (l *Log) ReadAhead(from, to int64) {
	if from/readAheadChunk == to/readAheadChunk || !l.ahead.CompareAndSwap(false, true) {
		return
	}
	end := min(to+readAheadWindow, l.written.Load())
	seg := l.files.Find(to)
	if seg == nil || end <= to {
		l.ahead.Store(false)
		return
	}
	next := l.files.Find(seg.End())
	go func() {
		defer l.ahead.Store(false)
		seg.WillNeed(to-seg.Start(), end-seg.Start())
		if next != nil && end > next.Start() {
			next.WillNeed(0, end-next.Start())
		}
	}()
}
