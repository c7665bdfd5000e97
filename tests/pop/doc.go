// Package pop holds the multi-process test of POP consumption: a real mqbroker process
// is killed with SIGKILL while messages are popped and partly acknowledged, restarted
// on its store, and must hand out again exactly the unacknowledged messages once their
// invisible time has passed (docs/pop.md §4).
//
// The test sends 2,000 messages by default; ROCKETGO_SOAK=1 sends 10,000.
package pop
