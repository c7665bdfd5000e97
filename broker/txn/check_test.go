package txn

import (
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// describeActions renders actions as "check@offset" / "discard@offset" in order.
func describeActions(acts []Action) string {
	var parts []string
	for _, a := range acts {
		kind := "check"
		if a.Kind == Discard {
			kind = "discard"
		}
		parts = append(parts, kind+"@"+itoa(a.Entry.Offset))
	}
	return strings.Join(parts, " ")
}

func itoa(n int64) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int64) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestDueSchedule drives one half message through a check schedule with a hand-moved
// clock: no check before the timeout, one per interval after it, given up after
// MaxChecks, and each check recorded only through the op records.
func TestDueSchedule(t *testing.T) {
	l := newLogSim(t)
	p, q := l.half("pg", "T", 0, "U", nil)
	pol := Policy{Interval: 10 * time.Second, Timeout: 6 * time.Second, MaxChecks: 3, Retention: 72 * time.Hour}
	now := epoch

	if acts := l.set.Due(now.Add(5*time.Second), pol); len(acts) != 0 {
		t.Fatalf("checked before the timeout: %s", describeActions(acts))
	}
	for i := 1; i <= 3; i++ {
		now = now.Add(pol.Interval)
		acts := l.set.Due(now, pol)
		if got, want := describeActions(acts), "check@"+itoa(p); got != want {
			t.Fatalf("round %d: %q, want %q", i, got, want)
		}
		l.set.MarkChecked(p, now)
		// A round run again at once does not check twice.
		if again := l.set.Due(now.Add(time.Second), pol); len(again) != 0 {
			t.Fatalf("round %d repeated: %s", i, describeActions(again))
		}
		l.now = now
		l.op(OpTagChecked, q)
	}
	now = now.Add(pol.Interval)
	acts := l.set.Due(now, pol)
	if got, want := describeActions(acts), "discard@"+itoa(p); got != want {
		t.Fatalf("after %d checks: %q, want %q", pol.MaxChecks, got, want)
	}
	if !strings.Contains(acts[0].Reason, "checked 3 times") {
		t.Fatalf("discard reason %q", acts[0].Reason)
	}
}

func TestDueImmunityRetentionAndOrder(t *testing.T) {
	l := newLogSim(t)
	pOld, _ := l.half("pg", "T", 0, "OLD", nil)
	l.now = epoch.Add(time.Minute)
	pImm, _ := l.half("pg", "T", 0, "IMM", map[string]string{message.PropCheckImmunity: "70"})
	pA, _ := l.half("pg", "T", 0, "A", nil)
	pB, _ := l.half("pg", "T", 0, "B", nil)
	l.set.MarkChecked(pA, epoch.Add(90*time.Second))

	pol := Policy{Interval: 10 * time.Second, Timeout: 6 * time.Second, MaxChecks: 15, Retention: 100 * time.Second}
	// At +2m: OLD is past retention; IMM is 60 s old, immune for 70 s; B was never
	// checked, A was checked 30 s ago: B goes before A.
	acts := l.set.Due(epoch.Add(2*time.Minute), pol)
	if got, want := describeActions(acts), "discard@"+itoa(pOld)+" check@"+itoa(pB)+" check@"+itoa(pA); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !strings.Contains(acts[0].Reason, "retention") {
		t.Fatalf("discard reason %q", acts[0].Reason)
	}
	pol.MaxPerRound = 1
	// At +2m15s IMM is due too; never checked, it goes first, and only one check fits.
	acts = l.set.Due(epoch.Add(2*time.Minute+15*time.Second), pol)
	if got, want := describeActions(acts), "discard@"+itoa(pOld)+" check@"+itoa(pImm); got != want {
		t.Fatalf("bounded round: got %q, want %q", got, want)
	}
}
