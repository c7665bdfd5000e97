// Package commitlog is the CommitLog: one append-only log of v1 records (docs/protocol.md
// §4.1) spread over fixed-size segment files, with a single writer, group-commit
// flushing, and the recovery scan that finds where the valid log ends.
//
// # Layout
//
// Offsets are absolute: segment N holds [N*size, (N+1)*size) and is named by its start
// offset. Records never straddle segments. A record is placed only if it leaves at least
// 8 bytes after it; otherwise the rest of the segment becomes an end-of-file blank and
// the record goes to the start of the next segment.
//
//	segment 00000000000000000000                    segment 00000000001073741824
//	+----------+----------+-----+----------+------+ +----------+----------+------
//	| record 0 | record 1 | ... | record k | BLANK| | record   | record   | ...
//	+----------+----------+-----+----------+------+ +----------+----------+------
//	                                        |
//	                 TOTALSIZE = bytes left | MAGICCODE 0xCBD43194 | (ignored)
//	                 4                      | 4                    | >= 0
//
// Every record carries its own offset in PHYSICALOFFSET; recovery accepts a record only
// if that field names the record's position and its magic, lengths and body CRC hold.
//
// # Appending
//
// Append holds the log's mutex for the copy: it assigns the queue offset of the record's
// (topic, queue) and the store timestamp, copies the record into the mapping and patches
// QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP there. Each record's first 8 bytes
// (TOTALSIZE, MAGICCODE) are copied last, so a process killed mid-append leaves either a
// whole record or one without a header, which recovery cuts as a torn tail. Under
// SYNC_FLUSH the same bytes go in with pwrite instead (headers zeroed, then the
// headers), which leaves the msync no page-table entries to clean; appends only stage
// their records and the flusher writes all of them with one pwrite pair per round
// (stage.go). The end is then published (Written), which is what readers and the
// dispatcher go by.
//
// A preparer goroutine keeps the pages ahead of the writer faulted in and creates the
// next segment before it is needed; see prepare.go for why and the measurements.
//
// # Flushing
//
// In SYNC_FLUSH one flusher goroutine msyncs everything written so far and completes
// every OnFlushed waiter at or below it (group commit); a sweeper goroutine fails
// waiters with ErrFlushTimeout when their deadline passes even if an msync hangs. In
// ASYNC_FLUSH the flusher runs every FlushInterval. A failed msync fails the log for
// good (ErrWriteFailed): a retried fsync may report success for pages it dropped.
package commitlog
