// Package sdk holds the end-to-end tests of rocketgo's Go client SDK consumers: a real
// NameServer and broker run in the test process (tests/cluster) on 127.0.0.1 with
// kernel-chosen ports, and the tests drive them through client.Producer,
// client.PushConsumer and client.PullConsumer over real TCP, checking what arrives —
// contents, order, offsets — not just that something did.
//
// Each consumer or producer gets its own instance name, so several members of one group
// run side by side in the one test process as they would in separate processes. Waits
// poll against a deadline; none sleeps for synchronization.
package sdk
