package store

// Inline dispatch.
//
// A record reaches its ConsumeQueue, its projections and the arrival subscribers (the
// broker's parked pulls) through the dispatcher. Waking the dispatcher goroutine after an
// append costs a goroutine handoff — about 30 µs on a quiet two-core machine, most of
// the time a message spends inside the broker between its send and a parked pull's
// answer. So under ASYNC_FLUSH the appender dispatches itself, on its own goroutine,
// right after the append, whenever nobody else is dispatching: it takes the dispatcher's
// run lock without waiting (TryLock), dispatches everything written, and wakes only the
// indexer. When the lock is taken (the dispatcher goroutine or another appender is at
// work) or the inline dispatch fails, it wakes the dispatcher goroutine as before; the
// goroutine takes the lock in turn, so it sees every record the inline dispatch did not,
// and it owns the retry and its logging.
//
// What this asks of the callers of Put, PutBatch and PutMany: projections and arrival
// subscribers may run before the call returns, on the caller's goroutine, so a caller must
// not hold a lock that one of them takes (none does: they must not block anyway).
//
// Under SYNC_FLUSH records become readable in the flusher's round, whose notification
// must not wait for the dispatch; the goroutine is woken as before (docs/architecture.md
// §5).

// readable is the CommitLog's notification after records became readable.
func (s *Store) readable() {
	if s.o.FlushMode == SyncFlush || !s.d.run.TryLock() {
		s.d.wake()
		return
	}
	err := s.dispatchAvailable()
	s.d.run.Unlock()
	if err != nil {
		s.d.wake() // the goroutine retries, and logs what fails
		return
	}
	s.ix.wake()
}

// dispatchHeld is the dispatcher goroutine's round: dispatchAvailable with the run
// lock held, waiting for an appender that dispatches inline to finish.
func (s *Store) dispatchHeld() error {
	s.d.run.Lock()
	defer s.d.run.Unlock()
	return s.dispatchAvailable()
}
