// Package store is the message store: one append-only CommitLog that holds every record
// of every topic, and the projections a dispatcher builds from it — a ConsumeQueue per
// (topic, queue id), a key index, and any registered Projection. The CommitLog is the
// only source of truth; every projection records how far it has applied the log and is
// repaired after a crash by re-dispatching from there (docs/architecture.md §2, §5).
//
// # Directory
//
//	<Dir>/
//	  lock                         flock'ed while a Store has the directory open
//	  abort                        exists while open; a clean Close removes it
//	  format                       the format-fixing options (below)
//	  checkpoint                   how far the log and projections are durable (below)
//	  commitlog/00000000000000000000     segments, named by their 20-digit start offset
//	  commitlog/00000000001073741824
//	  consumequeue/<topic>/<queueId>/00000000000000000000   20-byte units, 300000 a file
//	  consumequeue/<topic>/<queueId>/00000000000006000000
//	  index/000000000001.ix        the key index, mapped hash-slot files (package store/index)
//
// Record bytes are the v1 layout of proto/message (docs/protocol.md §4.1), the same bytes a
// PULL_MESSAGE response carries; the CommitLog and ConsumeQueue layouts are in the
// commitlog and consumequeue packages.
//
// # format and checkpoint
//
// Both are small framed files: magic, payload length and CRC-32C, then a protobuf of
// proto/metapb. The format file (metapb.StoreFormat: layout version, CommitLog segment
// bytes, ConsumeQueue units per file) is written once through a temporary file and a
// rename; every later Open compares it with the options and refuses a mismatch with
// both values named. The checkpoint has two 4 KiB slots written alternately with
// fdatasync, so a torn write spoils only the slot being written; the valid slot with the
// higher sequence number wins.
//
//	format:                         checkpoint (slot 0 at 0, slot 1 at 4096):
//	+------+-----+-------+---------+ +------+-----+-------+-----+---------------------+
//	|"RGFM"| len | crc32c| payload | |"RGCP"| len | crc32c| seq | metapb.Checkpoint   |
//	|  4   |  4  |   4   |  len    | |  4   |  4  |   4   |  8  | len-8 bytes         |
//	+------+-----+-------+---------+ +------+-----+-------+-----+---------------------+
//
// The checkpoint holds the CommitLog's flushed offset F and the applied offset of each
// projection: "consumequeue" (D: every unit for a record below it was msync'd before the
// checkpoint was written), "index" and each registered Projection by name.
//
// # Appending and durability
//
// Put and PutBatch verify the record (magic, sizes, body CRC, limits) outside any lock,
// then the CommitLog's single writer assigns the queue offset, physical offset and store
// timestamp inside its critical section and copies the record into the mapping once,
// patching those fields there. ASYNC_FLUSH acknowledges at that point and msyncs every
// FlushInterval; SYNC_FLUSH callers wait with OnFlushed or WaitFlushed for the group
// commit that covers their end offset. A failed msync makes the log sticky-failed:
// every later append fails with ErrWriteFailed.
//
// # Dispatch
//
// Each append wakes the dispatcher goroutine (there is no polling), which reads the new
// records, appends their ConsumeQueue units (prepared and rolled back transaction
// records get none), tells subscribers (Subscribe) and feeds projections. A separate
// indexer goroutine follows a step behind and adds every KEYS token and the UNIQ_KEY to
// the key index, so indexing never delays a ConsumeQueue unit. Readers see a unit
// only after it is written, and a unit only ever points at a complete record.
//
// # Reads and slice lifetime
//
// GetMessages, ReadRecord and the other reads return slices of the mapped CommitLog,
// never copies. They stay valid for at least ReadGrace after the call even if retention
// deletes the segment meanwhile (a deleted segment is unlinked at once and unmapped
// after ReadGrace), and never after Close. Callers must not modify them.
//
// # Recovery
//
// Open finds the abort marker after an unclean stop. Either way it verifies the
// CommitLog from the smaller of F and D — so every record re-dispatched is verified,
// and the work is bounded by the checkpoint interval, not
// the log size — and cuts it at the first invalid record. An invalid record with valid
// records after it, or below F, is corruption: Open refuses with an error that wraps
// ErrCorruption and names the file and offset, unless TruncateOnCorruption. Then the
// ConsumeQueues drop every unit at or past min(D, end) (and torn ones), the index is cut
// back if it is ahead of the log, and the queues are rebuilt by re-dispatching the rest
// before Open returns; the index catches up from its applied offset in the background.
// RecoveryStats reports what happened.
//
// # Goroutines and locks
//
// A Store runs the CommitLog's flusher, flush-timeout sweeper and preparer, and its own
// dispatcher, indexer, checkpointer and retention loop; Close stops them all. Locks, in
// the order they may nest:
//
//	Store.life (reads vs Close)
//	commitlog Log.mu (the append critical section; DeleteTopic holds it while it waits
//	                   for the dispatcher)
//	  → Store.queues (the ConsumeQueue map)
//	  → preparer.mu, segment.Set.mu, segment.File.mu
//	commitlog flusher.syncMu (one flush at a time) → segment.File.mu → Log.mu (on failure)
//	Store.cpMu (one checkpoint at a time) → Queue.flushMu → segment.File.mu
//
// Projection.Apply and Subscribe callbacks run on the dispatcher goroutine and must not
// call the store's write methods (Put, PutBatch, DeleteTopic, AddProjection).
//
// # Retention and a full disk
//
// One disk guard (package store/diskguard) tracks the free space of the store's file
// system: statfs, then the bytes appended since, re-measured every 100ms or after a
// step of appended bytes; space of segments deleted but still mapped for readers counts
// as free at once. Appends fail with ErrDiskFull naming the usage above DiskMaxRatio
// (diskSpaceWarningLevelRatio) or when less than the metadata reserve would remain;
// the key index and the broker's pebble databases (which share the guard) pause only
// below half the reserve, so they always have room for their WAL, flushes, compactions
// and index files and never meet ENOSPC from the store's own appends. A write that
// still meets ENOSPC (another process filled the disk) pauses and re-measures: the key
// index allocates its files ahead of its writes, so it learns of a full disk from
// fallocate, and its indexer retries the round; a pebble database opened on a
// critically full disk is read-only until space returns. Each level change
// is logged once; writes resume by themselves.
//
// A goroutine deletes whole CommitLog segments every second: older than
// FileReservedTime (the store time of the next segment's first record) during the
// DeleteWhenHour hour or above DiskMaxUsedSpaceRatio percent; oldest first, expired or
// not, above DiskWarnRatio (diskSpaceCleanForciblyRatio). The segment being written and
// segments not yet dispatched are never deleted; under DiskFullPolicy rejectNew neither
// is one a subscribed group (SetConsumerProgress) has not consumed. Messages deleted
// before a group consumed them are logged per group and queue and counted
// (Stats.UnconsumedDeleted).
package store
