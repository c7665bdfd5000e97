// Package index is the key index: (topic, key) → CommitLog offsets of the records whose
// KEYS property holds key as a space-separated token or whose UNIQ_KEY is key, in pebble
// (it serves QUERY_MESSAGE and VIEW_MESSAGE_BY_ID, docs/protocol.md §6.4).
//
// # Layout
//
// All integers are big-endian, so keys sort by segment, then hash, then offset.
//
//	entry     key:   'k' | segment start (8) | hash(topic, key) (8) | physical offset (8)
//	          value: store timestamp in ms (8)
//	applied   key:   "mapplied"      value: CommitLog offset indexed through (8)
//	tombstone key:   't' | topic     value: CommitLog offset below which topic's
//	                                        entries are hidden (8)
//
// The hash is FNV-1a over the topic, a zero byte and the key. Entries hold it instead of
// the strings, which keeps every entry at 33 bytes and pebble's memtable and compaction
// work per key small; hashes can collide, so the store checks each candidate against
// the record it points at. Grouping by CommitLog segment lets retention drop a deleted
// segment's entries with one range deletion; a query seeks once per live segment,
// newest first.
//
// The applied offset is written in the same atomic batch as the entries it covers, so
// whatever prefix of batches pebble recovers after a crash, the index knows exactly
// where to resume. Batches are committed without sync; the store's checkpoint syncs the
// WAL.
package index
