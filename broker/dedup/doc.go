// Package dedup is the broker's duplicate window: for topics that opt in, it remembers
// the UNIQ_KEY of every message stored in the last window (a duration per topic) and
// where it was stored, so that a producer's retry of a send that did succeed is answered
// with the original's result instead of being stored twice (docs/duplicate-window.md).
//
// The window is a projection of the CommitLog (Projection implements store.Projection):
// the dispatcher feeds it every record, so after a crash it is rebuilt from the log
// like the ConsumeQueues, and a slave builds the same window from the replicated log.
// The send path also records what it stores at once (Begin, then Commit or Abort), so a
// retry that arrives before the dispatcher has seen the original is still recognised,
// and two concurrent sends of one key store it once.
//
// # Memory
//
// Entries live in a ring in the order they were recorded, indexed by a map. The ring
// holds at most MaxKeys entries: recording one more evicts the oldest, whatever its
// expiry, so memory is bounded by MaxKeys × (bytes per key), measured by
// TestBytesPerKey. Expired entries are dropped from the head of the ring as new ones
// arrive; an entry behind a longer-lived one (a topic with a longer window) is dropped
// later, but a lookup never reports an expired entry.
//
// Send carries one send through the window and writes the duplicate fields of its
// answer. The package does no I/O except through the values it is given, and takes its
// clock as an argument, so tests drive expiry with any time.
package dedup
