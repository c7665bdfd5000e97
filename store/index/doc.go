// Package index is the key index: (topic, key) → CommitLog offsets of the records whose
// KEYS property holds key as a space-separated token or whose UNIQ_KEY is key (it
// serves QUERY_MESSAGE and VIEW_MESSAGE_BY_ID, docs/protocol.md §6.4). Like Apache
// RocketMQ's IndexFile it is a hash table in mapped files: a fixed array of hash slots,
// each the head of a chain of fixed-size entries linked newest first, so that indexing
// a key is a few stores into the mapping.
//
// # Layout
//
// The directory holds files named by a sequence number, 000000000001.ix, … (the last is
// the one being written) and a tombstone file. All integers are little-endian.
//
//	file:  header (64) | slots × slot (4) | entries × entry (28)
//
//	header  0  magic "RGIX" (4)
//	        4  version = 1 (2)
//	        6  flags (2): bit 0 sealed (full; its slots are durable)
//	        8  slots (4)            Apache's maxHashSlotNum, 5,000,000 by default
//	       12  entries (4)          Apache's maxIndexNum, 20,000,000 by default
//	       16  count (4)            entries durable: those past it are ignored
//	       20  reserved (4)
//	       24  applied (8)          CommitLog offset indexed through, with count
//	       32  min store time (8)   ms, of the entries; min > max when none
//	       40  max store time (8)
//	       48  reserved (12)
//	       60  CRC-32C of bytes 0..59 (4)
//
//	slot       entry number + 1 of the newest entry whose hash falls in the slot
//	           (hash mod slots), 0 when none
//
//	entry   0  hash(topic, key) (8)
//	        8  CommitLog physical offset (8)
//	       16  store time in ms (8)
//	       24  prev (4): entry number + 1 of the previous entry of the slot, 0 at the end
//
//	tombstones  "RGTB" (4) | n (4) | n × (offset (8) | topic length (2) | topic) | CRC-32C (4)
//	            a deleted topic's entries below offset are hidden
//
// The hash is FNV-1a over the topic, a zero byte and the key. Entries hold it instead of
// the strings, so an entry has a fixed size whatever the key's length; hashes can
// collide, so the store checks each candidate against the record it points at. Apache's
// entry is 20 bytes (a 32-bit hash, the time as a 32-bit difference); 64-bit fields
// keep collisions and time limits out of the way for 8 more bytes an entry.
//
// Entries are appended in log order, so offsets never decrease within a file nor from
// one file to the next, and a chain runs newest first. A file grows as it fills: its
// header and slots are allocated on disk (fallocate) at creation, its entries 4 MiB at
// a time ahead of the writer (the file ends there until it is full), so that no store into the mapping meets an unallocated
// block on a full disk (a SIGBUS); an allocation the disk refuses makes the indexer
// wait and retry.
//
// # Durability
//
// There is no write-ahead log. Add queues an entry (hash computed) and writes the
// queue 32 entries at a time, reading all their slots first so that the cache misses
// on the 20 MB slot array overlap (write.go); Commit writes what is queued and then
// only publishes the entries to queries (an atomic count). Sync, the store's
// checkpoint every second, writes the entries added since the last Sync to disk, then
// the header with their count and the applied offset: the header is the only durable
// truth. A crash therefore loses what came after the last Sync, count and applied
// offset together, and the store indexes the log again from the applied offset. The slots of the file being written are a cache kept in memory
// (an anonymous mapping): on Open they are rebuilt from its entries [0, count), so
// they never need writing while the file fills, and random stores into them meet no
// page fault of the file system nor cause writeback. A full file is sealed by the Sync
// after the writer left it: its slots are copied into the file, entries and slots
// written to disk, then a header saying sealed, whose slots are then used as they are.
// Its applied offset is where the next file began.
//
// Open drops a file whose header is damaged and every later one, and the files after a
// file not sealed (a roll whose seal never reached the disk); the applied offset is the
// last file kept's. Losing a tail of the index is always safe, since the log is indexed
// again from there; keeping entries the log no longer has is not, so Truncate cuts the
// entries at and past the log's new end and writes the header at once. Records whose
// entries were written twice (in a sealed file and again after a crash) are reported
// once by Query. DeleteBefore removes whole files below the log's start; DeleteTopic
// rewrites the tombstone file (temporary file, fsync, rename, fsync of the directory).
//
// A directory holding the pebble database of earlier versions is emptied on Open: the
// index starts empty and the store indexes its whole log again.
package index
