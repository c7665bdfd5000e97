// Package scale measures how rocketgo's costs grow with the size of what it holds, on
// the real programs (bin/mqnamesrv and bin/mqbroker as child processes, through
// tests/internal/proctest) over real TCP:
//
//	topics_test.go   topics × 8 queues on one broker: broker RSS and Go heap per
//	                 queue, the REGISTER_BROKER body (JSON and zlib) and the
//	                 GET_ROUTEINFO_BY_TOPIC answer, registration time, creation time
//	                 per topic, NameServer route lookups per second
//	create_test.go   the time to create the first N topics, one at a time and 32 in
//	                 flight, and the REGISTER_BROKER bytes that cost
//	conns_test.go    idle client connections after one HEART_BEAT each: broker RSS
//	                 per connection
//	backlog_test.go  a backlog read from cold and warm page cache (consume MB/s),
//	                 and the recovery of its CommitLog after SIGKILL (GB/s)
//
// By default each runs small and bounded (200 topics, 200 connections, a 64 MiB
// backlog) and asserts that the cost per unit stays within a bound, so the package runs
// in the default suite in seconds. ROCKETGO_SCALE=1 runs the sizes of docs/scale.md
// (10,000 topics, 5,000 connections, a 20 GiB backlog); ROCKETGO_SCALE_OUT=file appends
// every figure as a tab-separated line (what plot/ draws). Every figure is also logged
// as a `scale figure=… key=value …` line. To compare builds, ROCKETGO_SCALE_BROKER=path
// runs another mqbroker binary (a baseline's) instead of the working tree's, and
// ROCKETGO_SCALE_BACKLOG_MIB=n sets the backlog's size, and
// ROCKETGO_SCALE_CREATE_SERIAL_MAX=n stops the one-at-a-time creation after n topics.
// The worst recovery in process, by size, is store's TestRecoveryScale.
package scale
