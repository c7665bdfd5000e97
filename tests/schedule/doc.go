// Package schedule holds the end-to-end tests of scheduled delivery, retry and message
// filtering through rocketgo's own SDK: timer messages arriving in due order within the
// broker's precision, scheduled messages delivered exactly once across SIGKILL of a
// real mqbroker process restarted on its store, a matrix of SQL92 selectors over typed
// properties, and the dead-letter resend path.
//
// Most tests run a NameServer and a broker in the test process (tests/cluster) on
// 127.0.0.1 with kernel-chosen ports; the crash test builds bin/mqbroker and runs it as
// a child process. Waits poll against a deadline; none sleeps for synchronization.
package schedule
