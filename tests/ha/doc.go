// Package ha holds the multi-process Master/Slave and NameServer failover tests, and the
// Master/Slave layer they (and the official-client suite in tests/compat) use over the
// process harness tests/internal/proctest: it runs bin/mqnamesrv and bin/mqbroker as
// child processes on free loopback ports with configuration files written to the
// test's directory, and kills them with SIGKILL — a crash, or with the store deleted,
// a lost machine.
//
//	bin := ha.Build(t)
//	ns := ha.StartNamesrv(t, bin, dir, "ns1", "")
//	m := ha.StartBroker(t, bin, dir, ha.BrokerConfig{Name: "broker-a", Role: "SYNC_MASTER", Namesrv: []string{ns.Addr}})
//	s := ha.StartBroker(t, bin, dir, ha.BrokerConfig{Name: "broker-a", ID: 1, Role: "SLAVE", Namesrv: []string{ns.Addr}})
//	m.Kill()                       // kill -9
//	m.Restart(t)                   // same configuration and store
//
// What the tests show: a SYNC_MASTER's acknowledged messages survive the loss of the
// master machine; an ASYNC_MASTER's slave ends byte-identical to it after load (the
// replication lag is measured); a slave killed under load catches up; a slave refuses a
// master whose log is not its own; consumers read from the slave while the master is
// down and return to it without loss; and either of two NameServers can die.
// ROCKETGO_HA_FIGURES=1 also logs the figures: replication throughput and SYNC_MASTER
// against ASYNC_MASTER send latency.
//
// The child processes' logs are printed (their last lines) when a test fails.
package ha
