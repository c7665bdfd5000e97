package testutil

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	start := time.Now()
	if !Poll(10*time.Second, func() bool { return n.Add(1) == 5 }) {
		t.Fatal("Poll reported false for a condition that held on the fifth call")
	}
	if got := n.Load(); got != 5 {
		t.Fatalf("cond called %d times, want 5", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("five quick polls took %v", d)
	}
}

func TestPollGivesUpAtTheDeadline(t *testing.T) {
	var n atomic.Int32
	start := time.Now()
	if Poll(100*time.Millisecond, func() bool { n.Add(1); return false }) {
		t.Fatal("Poll reported true for a condition that never held")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("Poll gave up after %v, before its 100ms deadline", d)
	}
	if n.Load() < 2 {
		t.Fatalf("cond called %d times; want it polled, and again at the deadline", n.Load())
	}
}

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
}

func TestEventuallyNamesWhatWasAwaited(t *testing.T) {
	r := &recorder{TB: t}
	Eventually(r, 20*time.Millisecond, "the slave to catch up", func() bool { return false })
	if !strings.Contains(r.msg, "the slave to catch up") || !strings.Contains(r.msg, "20ms") {
		t.Fatalf("failure message %q does not name what was awaited and for how long", r.msg)
	}
	r = &recorder{TB: t}
	Eventually(r, time.Second, "nothing", func() bool { return true })
	if r.msg != "" {
		t.Fatalf("Eventually failed for a condition that held: %q", r.msg)
	}
}
