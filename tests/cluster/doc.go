// Package cluster starts a real rocketgo NameServer and broker inside a test process, on
// 127.0.0.1 with ports chosen by the kernel, so end-to-end tests — ours and the
// official-client compatibility suite — talk to them over real TCP and real files.
//
//	c := cluster.Start(t)                       // namesrv + broker-a, store in t.TempDir()
//	c.CreateTopic(t, "orders", 4)               // UPDATE_AND_CREATE_TOPIC, then wait for the route
//	... point a client at c.NamesrvAddr() ...
//	c.Restart(t)                                // same store directory, same port
//
// Everything a cluster starts is closed by t.Cleanup. Logs of the NameServer, broker and
// store go to t.Log through zerolog's test writer, so they are printed only when a test
// fails (or with -v); ROCKETGO_TEST_LOG=debug|info|warn|error chooses the level (default
// info, and warn for benchmarks, whose logs are printed even when they pass).
//
// The helpers that inspect the cluster (Route, ConsumerOffset, ConsumerIDs, MaxOffset)
// speak the remoting protocol to the servers like any client would, rather than
// reaching into their state: what they report is what a client would see.
//
// Waiting is always polling against a deadline (WaitFor), never a bare sleep: the broker
// registers topics with the NameServer asynchronously, and clients rebalance on timers,
// so a test states the condition it needs and how long it may take.
package cluster
