// Package proctest runs the real programs — bin/mqnamesrv and bin/mqbroker, or the
// test binary itself in another role — as child processes of a test. It is the one
// process harness of the multi-process suites (tests/ha, tests/txn, tests/proc,
// tests/schedule):
//
//	bin := proctest.Build(t)                      // go build, once per test binary
//	ns := proctest.FreeAddr(t)                    // a port on 127.0.0.1 free a moment ago
//	p := proctest.Launch(t, func() proctest.Spec { ... }, ready)
//	p.Kill()                                      // kill -9: a crash
//	p.Restart(ready)                              // same arguments, same store
//	p.Stop()                                      // SIGTERM, and a clean exit expected
//
// Each child's stdout and stderr are kept in memory line by line; WaitLine waits for a
// line, and the last lines are printed when the test fails. A child still running when
// its test ends is killed, and one whose test binary dies is killed by the kernel.
package proctest
