// Package index is the key index: (topic, key) → CommitLog offsets of the records whose
// KEYS property holds key as a space-separated token or whose UNIQ_KEY is key, in pebble
// (it serves QUERY_MESSAGE and VIEW_MESSAGE_BY_ID, docs/protocol.md §6.4).
//
// # Layout
//
// All integers are big-endian, so keys sort by bucket, then hash, then offset.
//
//	entry     key:   'k' | bucket start (8) | hash(topic, key) (8) | physical offset (8)
//	          value: store timestamp in ms (8)
//	applied   key:   "mapplied"      value: CommitLog offset indexed through (8)
//	tombstone key:   't' | topic     value: CommitLog offset below which topic's
//	                                        entries are hidden (8)
//
// The hash is FNV-1a over the topic, a zero byte and the key. Entries hold it instead of
// the strings, which keeps every entry at 33 bytes and pebble's memtable and compaction
// work per key small; hashes can collide, so the store checks each candidate against
// the record it points at.
//
// A bucket is a run of 64 MiB of CommitLog within a segment, counted from the segment's
// start: bucket = segment start + (offset - segment start) / 64 MiB * 64 MiB. Keying by
// bucket makes new entries land at the end of the key space, as the log grows, so pebble
// flushes tables that barely overlap the ones before and has little to compact; keyed
// by segment, every flush of a 1 GiB segment's random hashes overlapped all its earlier
// tables and compactions rewrote them again and again. Retention still drops a deleted
// segment's entries with one range deletion; a query seeks once per bucket of each live
// segment, newest first. Entries written when the key named the segment (index versions
// before buckets) sort in the segment's first bucket and are found there.
//
// The applied offset is written in the same atomic batch as the entries it covers, and
// pebble runs without a write-ahead log: a batch reaches the disk when its memtable is
// flushed, memtables are flushed in order, and a batch lies in one. So whatever pebble
// holds after a crash, the applied offset matches its entries, and the store indexes
// the log again from there. The store's checkpoint flushes (Sync) every second, which
// bounds that work; truncation and topic deletion flush at once.
package index
