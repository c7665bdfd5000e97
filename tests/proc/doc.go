// Package proc holds the process-level tests of rocketgo's programs: bin/mqbroker and
// bin/mqnamesrv are built with `go build` and run as child processes, the way an
// operator runs them, and are judged only by what an operator sees — their exit
// status, their stderr, the files they leave in the store directory, and what a
// RocketMQ client reads from them over the wire.
//
//	lifecycle_test.go  the README's first command (`mqbroker -standalone` from the
//	                   repository root, conf/broker.yaml loaded by default) serves a
//	                   send and a pull, names its listen address, store and open
//	                   time on stderr, and stops cleanly on SIGTERM; SIGTERM and
//	                   SIGINT: exit status 0 within a bound, the store's abort marker
//	                   removed, the broker unregistered from a separate mqnamesrv, a
//	                   clean recovery on the next start with the message sent before
//	                   the signal still there; SIGKILL leaves the marker and the next
//	                   start recovers unclean
//	errors_test.go     start-up failures exit non-zero at once with a message naming
//	                   the problem: ports in use, a locked store, an unknown key in a
//	                   file or the environment, invalid values, bad flags
//	helpers_test.go    starting the programs (through tests/internal/proctest, the
//	                   process harness), SEND_MESSAGE and PULL_MESSAGE over remoting
//
// Ports are loopback ports the kernel just handed out and that were closed again, so
// another process may take one before the child binds it; a child that fails with
// "address already in use" on a port the test did not hold on purpose is started
// again on new ports. Every wait polls with a deadline.
package proc
