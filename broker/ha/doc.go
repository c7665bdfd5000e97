// Package ha replicates a master broker's CommitLog to its slaves (docs/protocol.md §10):
// the slave connects to the master's HA port (listen port + 1 by default), proves that
// its log is a prefix of the master's, and the master streams the log from where the
// slave's ends. The slave appends the bytes verbatim — its segments become
// byte-identical to the master's — and its own dispatcher builds its ConsumeQueues and
// indexes from them. Either side may restart; the slave resumes from its own end.
//
// The framing is rocketgo's own (Java brokers speak a different HA protocol; the
// clients never see this one). Every frame, both ways, big-endian:
//
//	+------+------+--------+-------------------+
//	| 'R'  | 'H'  | type 1 | payload length 4  |  payload...
//	+------+------+--------+-------------------+
//
//	HELLO (1) slave → master, first frame:
//	+---------+--------+----------+---------------+--------+-----------+---------+------+----------+------+
//	| version | log id | brokerId | segment bytes | offset | checkFrom | crc32c  | nlen | reserved | name |
//	|    2    |   16   |    8     |      8        |   8    |     8     |    4    |  1   |    4     | nlen |
//	+---------+--------+----------+---------------+--------+-----------+---------+------+----------+------+
//	WELCOME (2) master → slave: log id 16 | stream start 8 | master min 8 | master max 8
//	REFUSE (3)  master → slave: the reason, UTF-8, at most 4 KiB; the master closes
//	DATA (4)    master → slave: offset 8 | crc32c of the bytes 4 | log bytes
//	HEARTBEAT (5) master → slave: the master's log end 8 (sent while idle)
//	ACK (6)     slave → master: the slave's log end 8 (after each burst applied, and
//	            every heartbeat interval)
//	CONFIRM (7) master → slave: the master's confirm offset 8 (version 2): after the
//	            WELCOME and whenever it moves; math.MaxInt64 when there is no bound
//
// # Proving the logs match
//
// A log id is 16 random bytes a master creates once; a slave adopts its master's id
// before it appends anything. HELLO carries the slave's id (zero when it has none),
// where its log ends, and the CRC-32C of up to 4 KiB of its log just before that end
// (within one segment). The master refuses, with the reason, a slave whose id is
// another log's, whose log ends past the master's (the master lost data, or it is
// another master), whose end lies before the master's oldest stored byte, or whose
// checksum differs from the master's over the same bytes. A refused slave appends
// nothing, keeps its log, logs the reason at error level and asks again now and then,
// so that an operator who fixes the cause sees it resume. An empty slave starts at the
// master's oldest stored segment.
//
// # Streaming
//
// A DATA frame is a run of whole records of one segment (at most the batch size, and
// always at least one record), or the 8-byte header of the end-of-file blank where
// the master rolled to its next segment; the slave writes the same blank and rolls
// too. The sender wakes on each dispatched append, never polls, and writes a run with
// one writev straight from the mapped segment. The slave checks that each frame starts
// where its log ends and that its CRC holds, verifies every record, appends, and
// acknowledges its new end once the frames already received are applied.
//
// # The confirm offset
//
// A controller-mode master under allAckInSyncStateSet dispatches only what every member
// of its SyncStateSet acknowledged (store/confirm.go), and tells its slaves that offset
// in CONFIRM frames; a slave dispatches no further either, so that a consumer reading
// from it sees no record the next master might lack (docs/failover.md §5). A master
// serves slaves of version 1, which get no CONFIRM frame.
//
// # SYNC_MASTER
//
// OnReplicated completes a send once any slave's acknowledgement covers the record's
// end offset: at once with ErrSlaveNotAvailable when no slave is connected or they are
// further behind than the fall-behind limit, with ErrSlaveTimeout when no
// acknowledgement comes within the slave timeout. Callbacks run on the goroutine that
// read the acknowledgement (or the timeout sweeper), never on the caller's event loop
// unless the answer is known at once.
package ha
