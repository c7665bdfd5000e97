package schedule

import (
	"testing"
	"time"
)

// An idle scheduler — nothing due, the applied offset committed, the log not moving —
// sleeps until something happens instead of asking to run again at once: an idle
// broker must not spin a core.
func TestIdleSchedulerSleeps(t *testing.T) {
	e := newEnv(t, "1s")
	e.at(0)
	e.at(appliedInterval) // commits what the projection has seen
	for _, d := range []time.Duration{appliedInterval + time.Second, time.Minute, time.Hour} {
		if next := e.at(d); next <= d {
			t.Fatalf("idle scheduler stepped at %v asks to run again at %v", d, next)
		}
	}
}
