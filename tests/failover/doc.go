// Package failover holds the multi-process tests of controller mode (docs/failover.md):
// three controllers (bin/mqcontroller, a Raft group), a NameServer and one broker group
// of three brokers (bin/mqbroker with enableControllerMode, allAckInSyncStateSet,
// minInSyncReplicas 2), with SYNC sends from the SDK under steady load.
//
//   - TestKillMasterRepeatedly: SIGKILL whichever broker is master, N times (3; 20 with
//     ROCKETGO_SOAK=1). Each time a new master is elected within 10 s, the killed
//     broker restarts and rejoins as a slave; in the end no acknowledged message is
//     lost, every queue is dense, and the three CommitLogs are byte-identical. It logs
//     the failover time, p50 and max.
//   - TestIdleMasterKeepsSyncStateSet: no message for three times
//     haMaxTimeSlaveNotCatchup; the SyncStateSet keeps all three brokers throughout.
//   - TestStoppedMasterIsFenced: SIGSTOP the master (5 s; 30 s with ROCKETGO_SOAK=1 —
//     the controllers' heartbeat timeout here is 1.5 s, so 5 s is well past it), then
//     SIGCONT: a new master was elected, the old one acknowledged nothing it did not
//     replicate to the new master, and it rejoins as a slave whose CommitLog is
//     byte-identical to the new master's.
//   - TestControllerFailures: kill the controller leader — a new master is still
//     elected; kill two of three controllers — no election happens, and nothing
//     acknowledged is lost.
package failover
