// Package txn is the broker's half-message store: the set of transactional messages
// that are stored but not yet committed or rolled back, the decisions of the
// check-back loop, and the records that carry every transaction event in the
// CommitLog. It does no I/O: the broker appends what it builds here and the store's
// dispatcher feeds every record back through Set.Apply (Set is a store.Projection), so
// the set is always a function of the log and is rebuilt from it after a crash.
//
// # Records (docs/protocol.md §7)
//
// A transaction leaves these records in the log, all in the v1 layout:
//
//	half      RMQ_SYS_TRANS_HALF_TOPIC q0   sysflag NOT, REAL_TOPIC, REAL_QID, PGROUP
//	                                        its physical offset P is the transaction's key,
//	                                        its queue offset Q the tranStateTableOffset
//	commit    <REAL_TOPIC> <REAL_QID>       sysflag COMMIT, PREPAREDTRANSACTIONOFFSET = P
//	rollback  RMQ_SYS_TRANS_OP_HALF_TOPIC q0 TAGS=d, body "Q"           (Java's op message)
//	checked   RMQ_SYS_TRANS_OP_HALF_TOPIC q0 TAGS=c, body "Q1,Q2,..."   (one check-back each)
//	given up  TRANS_CHECK_MAX_TIME_TOPIC q0 sysflag NOT, PREPAREDTRANSACTIONOFFSET = P
//
// A commit is one record: the message under its real topic is itself the proof of
// resolution, so no crash can leave a committed message whose half message is still
// pending, and no replay can commit it twice. A commit resolves only the half message
// whose real topic and queue it is in, so a copy of a committed message elsewhere (a
// retry, which keeps the sysflag) resolves nothing.
//
// Unlike Java, the broker does not re-append a half message on each check-back: the
// check count is kept by the small "c" op records, and CHECK_TRANSACTION_STATE names
// the original P and Q, which the client echoes in its END_TRANSACTION. A transaction
// therefore has exactly one key for its whole life, which is what makes a repeated or
// late END_TRANSACTION a no-op instead of a second copy.
//
// # Resolution races
//
// The producer's END_TRANSACTION, the answer to a check-back (possibly from another
// producer of the group) and the broker's own give-up can race. Set.Claim lets exactly
// one of them write a resolution; the others see InProgress or Resolved. A claim is
// released only if its append failed; otherwise the dispatcher applies the record and
// the entry leaves the set.
//
// # Snapshot
//
// Rebuilding the set reads every record since the oldest unresolved half message
// might have been written, so the broker saves a snapshot now and then and on close,
// and after a restart resumes from the offset it was taken at. All integers are
// big-endian; the CRC-32C covers everything after it.
//
//	+--------+---------+----------+--------+-------------+---------+
//	| "RGTX" | version | reserved | crc32c | applied     | count   |
//	|   4    |  2 (1)  |    2     |   4    | 8           | 4       |
//	+--------+---------+----------+--------+-------------+---------+
//	then count entries:
//	+--------+---------+---------+-----------+-----------+--------+---------+
//	| offset | queue   | store   | immunity  | last      | checks | real    |
//	| P  8   | off Q 8 | time 8  | ms 8      | check 8   |   4    | qid 4   |
//	+--------+---------+---------+-----------+-----------+--------+---------+
//	| len 2 | group | len 1 | real topic | len 2 | UNIQ_KEY |
//	+-------+-------+-------+------------+-------+----------+
//
// Times are ms since the epoch; a last check of 0 means none. A snapshot whose applied
// offset is past the end of the log (the log lost its tail in a machine crash) is
// discarded by the broker and the set rebuilt from the log, because resolutions in the
// lost tail cannot be undone from a snapshot.
//
// # Check-back
//
// Due is the pure decision of one round of the loop that runs every
// transactionCheckInterval: half messages older than their immunity
// (transactionTimeOut, or CHECK_IMMUNITY_TIME_IN_SECONDS) and not checked within the
// last half interval are checked; those checked transactionCheckMax times, or older
// than the retention time, are given up. It takes the time as an argument, so tests
// drive it with any clock.
package txn
