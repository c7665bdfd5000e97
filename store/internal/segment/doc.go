// Package segment is the store's file primitive: fixed-size files, preallocated with
// fallocate, mapped read-write, named by the absolute offset of their first byte (what
// RocketMQ's MappedFile and MappedFileQueue did).
//
// # Naming
//
//	00000000000000000000   bytes [0, size)
//	00000000001073741824   bytes [1073741824, 2*1073741824)       (1 GiB CommitLog)
//	00000000000006000000   bytes [6000000, 12000000)              (ConsumeQueue file)
//
// The name is the start offset as 20 decimal digits, so names sort in offset order and
// a file's place in its log needs no header. A Set holds the contiguous run of files of
// one log and finds the file of an offset in O(1) without locking (readers use an
// immutable snapshot).
//
// # Lifetime
//
// Writers copy straight into the mapping or write through the descriptor (WriteAt, the
// CommitLog's SYNC_FLUSH path); Sync msyncs a range and makes the file
// sticky-failed on error. A file taken out of service goes to a Grave: it is unlinked
// at once and unmapped only after a grace period, so slices handed to readers stay
// valid while they use them.
//
// ErrCorrupt is message.ErrCorrupt, the one corruption marker.
package segment
