// Package consumequeue is the ConsumeQueue: for one (topic, queue id), a dense array of
// fixed-size units indexed by logical offset, each pointing at a record in the
// CommitLog (docs/protocol.md §6.2).
//
// # Layout
//
// Files live in consumequeue/<topic>/<queueId>/ and are named by the 20-digit byte
// offset of their first unit, a multiple of units-per-file × 20 (300000 × 20 =
// 6000000 by default). Logical offset n is the unit at byte n × 20. All integers are
// big-endian.
//
//	unit (20 bytes):
//	+-------------------------------+---------------+-------------------------------+
//	| CommitLog offset (int64)      | size (int32)  | tags code (int64)             |
//	| 0                           7 | 8          11 | 12                         19 |
//	+-------------------------------+---------------+-------------------------------+
//
// The tags code is the Java String.hashCode of the TAGS property (0 without tags).
// Units never written are all zero, which is how recovery finds a queue's end; a unit
// of size 0 is never written, and readers skip one.
//
// # Min and max
//
// Max is the next logical offset to write (the count of units ever written); Min is
// the first unit still backed by a stored record. Retention removes whole files whose
// last unit points below the CommitLog's new minimum and moves Min by binary search
// over the CommitLog offsets, which grow with the logical offset.
package consumequeue
