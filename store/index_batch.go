package store

import "time"

// The indexer commits one pebble batch per round. Under a steady load a round would
// hold only the few records appended since the last one, and pebble's cost per entry
// falls as batches grow (the entries of a batch are sorted and share their skiplist
// path, and the applied offset is written once per batch); so a round that finds little
// to do waits a moment for more.
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
	if s.cl.Written()-s.ix.pos.Load() >= indexBatchBytes {
		return true
	}
	s.ix.waitMu.Lock()
	defer s.ix.waitMu.Unlock()
	return len(s.ix.waiters) > 0
}
