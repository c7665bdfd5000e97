package store

import "time"

// CatchUpIndex waits, at most max, until every record written before the call is in
// the key index, so that a QueryByKey after it sees them. The indexer follows the log a
// few milliseconds behind and gathers its batches (docs/architecture.md §5); a waiter
// makes it index at once. A caller that must read its own writes by key — cancelling a
// timer message sent a moment ago — waits here first. The error says the index did not
// catch up in time (a failed or read-only index, or a backlog): a lookup may still run
// and miss the newest records.
func (s *Store) CatchUpIndex(max time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.ix.wait(s.cl.Written(), s.stop, max, "indexer")
}
