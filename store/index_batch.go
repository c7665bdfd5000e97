package store

import "time"

// The indexer commits once per round. Under a steady load a round would hold only the
// few records appended since the last one, and each round costs a goroutine wake-up
// and a commit, which fewer, larger rounds share (the batching once served the pebble
// index, whose cost per entry fell with the batch); so a round that finds little to do
// waits a moment for more.
const (
	// indexBatchBytes is the backlog of log a round indexes without waiting
	// (about 200 records of 1 KiB).
	indexBatchBytes = 256 << 10
	// indexBatchWait bounds the wait, and so how much later than without it a record
	// becomes visible to QueryByKey.
	indexBatchWait = 5 * time.Millisecond
)

// gatherIndexBatch waits until indexBatchBytes of log are waiting to be indexed,
// indexBatchWait has passed, someone waits for the index (waitIndexed) or the store
// closes.
func (s *Store) gatherIndexBatch() {
	if s.indexBacklogEnough() {
		return
	}
	deadline := time.NewTimer(indexBatchWait)
	defer deadline.Stop()
	for !s.indexBacklogEnough() {
		select {
		case <-s.stop:
			return
		case <-deadline.C:
			return
		case <-s.ix.kick: // the dispatcher went on; look again
		}
	}
}

// indexBacklogEnough reports whether a round should start now.
func (s *Store) indexBacklogEnough() bool {
	if s.cl.Published()-s.ix.pos.Load() >= indexBatchBytes {
		return true
	}
	s.ix.waitMu.Lock()
	defer s.ix.waitMu.Unlock()
	return len(s.ix.waiters) > 0
}
