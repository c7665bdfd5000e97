// Package testutil holds the polling helper every test of the module waits with, and
// a hand-advanced clock.
//
// Tests never sleep to synchronise: they poll a condition with a deadline. Eventually
// fails the test with what was awaited; Poll only reports, for callers that build a
// failure message from the state they observed.
package testutil

import (
	"testing"
	"time"
)

// maxPause bounds the pause between two polls.
const maxPause = 50 * time.Millisecond

// Eventually polls cond until it returns true and fails the test (t.Fatalf) when it
// has not after timeout, naming what was awaited. Call it from the test's goroutine.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Poll polls cond until it returns true or timeout passes, and reports whether it
// became true. The first polls follow each other closely and the pause then doubles up
// to maxPause, so a condition that holds soon costs little time and a slow one little
// CPU. cond is always called at least once, and once more at the deadline.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		<-time.After(min(pause, left))
		pause = min(2*pause, maxPause)
	}
}
