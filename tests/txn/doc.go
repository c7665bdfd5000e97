// Package txn holds the end-to-end tests of transactional messages through rocketgo's
// Go SDK (client.TransactionProducer): a real NameServer and broker on 127.0.0.1,
// push consumers reading what was committed, and crash tests that run producers and
// brokers as child processes and kill them with SIGKILL at the worst moment.
//
//	txn_test.go    commit, rollback, unknown-then-commit through check-back; 1,000
//	               transactions with random outcomes checked set against set; the
//	               admin listing and forced resolution of pending transactions
//	crash_test.go  a producer killed before END_TRANSACTION (the check-back reaches
//	               another producer of its group); a broker killed between the half
//	               message and the commit (the check-back resolves it after restart)
//
// The broker runs with short check-back settings (transactionCheckInterval 200ms,
// transactionTimeOut 500ms) so that check-backs happen in test time. A transaction's
// "local state" lives in a ledger that every producer of the group can read — a map in
// process, files in a directory across processes — as a real application's database
// would be.
package txn
