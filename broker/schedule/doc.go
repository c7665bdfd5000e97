// Package schedule delivers scheduled messages when they are due: delay-level messages
// (RocketMQ's DELAY property, levels 1..18 by default) and timer messages (RocketMQ 5's
// TIMER_DELIVER_MS, TIMER_DELAY_SEC and TIMER_DELAY_MS), exactly once, also across
// crashes.
//
// # Where scheduled messages wait
//
// The broker's send path stores a scheduled message under a system topic instead of
// its own, with REAL_TOPIC and REAL_QID saying where it belongs:
//
//	DELAY=n          → SCHEDULE_TOPIC_XXXX, queue n-1; due at store time + level n's delay
//	TIMER_*          → rmq_sys_wheel_timer, queue 0, with TIMER_OUT_MS=<due ms>
//
// When a message is due the Scheduler appends a copy to REAL_TOPIC / REAL_QID (same
// body, flag, born time and hosts, reconsume times and properties, minus what asked
// for the delay) and consumers see it as an ordinary message. The copy carries
// SCHEDULE_FROM naming the record it was made from:
//
//	SCHEDULE_FROM = "L" <level> ":" <queue offset in SCHEDULE_TOPIC_XXXX>
//	              | "T" <due ms> ":" <CommitLog offset of the timer record>
//
// # How due messages are found
//
// A level's queue is in due order (one delay, stored in time order), so a level needs
// only a cursor: the next queue offset to deliver. Timers have arbitrary due times, so
// they have an index, built from the log by a store.Projection like every other
// structure (the CommitLog is the only source of truth). The index is a pebble
// database in its own directory:
//
//	key                                        value
//	+-----+                                    +----------------------+
//	| 'A' |                                  → | applied offset (8 BE) |  how far the index has seen the log
//	+-----+-------+                            +----------------------+
//	| 'L' | level |                          → | next queue offset (8) |  per delay level
//	+-----+-------+-------------+-----------+  +----------------------+
//	| 'T' | due ms (8, BE)      | offset (8)|→   (empty)                  one per pending timer
//	+-----+---------------------+-----------+
//
// Timer keys sort by due time, so the due timers are a prefix of the 'T' range. The
// timers due within Window (10 s) are held in a heap in memory and delivered at their
// due millisecond; later ones are loaded as the window moves, so memory is bounded by
// what is due soon (and by MaxInMemory), not by how many timers wait.
//
// # Exactly once across crashes
//
// Delivering is "append the copy, then remember it". The projection runs on the
// store's dispatcher and turns records into facts for the scheduler goroutine: a timer
// record adds a pending timer; a record carrying SCHEDULE_FROM (a delivered copy, or
// the cancel record Cancel appends to the timer topic) removes that timer or moves its
// level's cursor past it. The scheduler applies facts and its own deliveries to an
// index batch, and every CommitInterval commits the batch together with the applied
// offset — the log position up to which every fact is in the batch.
//
// A crash can land anywhere, and each case is safe:
//
//   - between a delivery and the commit: the index still lists the message, but the
//     copy is in the log after the applied offset; on restart the store replays the log
//     from there into the projection, the copy's SCHEDULE_FROM removes the timer (or
//     moves the level past it), and the message is not delivered again;
//   - between the commit and the log's flush: cannot happen — the scheduler flushes the
//     store before each commit, so the index never forgets a delivery whose copy a
//     machine crash could still lose;
//   - replayed facts are idempotent (set, delete, max), so a fact applied twice, once
//     before the crash and once on replay, changes nothing.
//
// If the log was cut behind the index (a machine crash lost its unflushed tail), the
// store calls Truncate, which forgets the timers whose records are gone, and a level
// never resumes past the end of its queue.
//
// A client cannot forge SCHEDULE_FROM: the broker strips it from every message it is
// sent, and from the messages it re-sends for retry.
//
// # Cancelling
//
// Cancel removes a pending timer by topic and unique key (UNIQ_KEY): it appends a
// cancel record to the timer topic (SCHEDULE_FROM naming the timer, TIMER_DEL_UNIQKEY
// the key), so a cancellation is in the log and survives a crash like a delivery. It
// runs on the scheduler goroutine, so a timer is either delivered or cancelled, never
// both. Delay-level messages cannot be cancelled.
package schedule
