package longpoll

import (
	"testing"
	"time"
)

// Of the requests one arrival releases, only the first has NotFirst unset, so that only
// its answer is written by the releasing goroutine; a later arrival starts again.
func TestNotifyMarksAllButTheFirstReleased(t *testing.T) {
	tb, _ := newTable(t, Options{})
	var order []string
	var flags []bool
	park := func(name string, owner uint64) {
		r := &Request{Topic: "T", QueueID: 0, Offset: 0, Owner: owner}
		r.Release = func(why Reason) {
			order = append(order, name+":"+why.String())
			flags = append(flags, r.NotFirst)
		}
		mustPark(t, tb, r, time.Second)
	}
	park("g1", 1)
	park("g2", 2)
	park("g3", 3)
	tb.Notify("T", 0, 1, 0)
	if want := []string{"g1:arrived", "g2:arrived", "g3:arrived"}; !equal(order, want) {
		t.Fatalf("released %v, want %v", order, want)
	}
	if want := []bool{false, true, true}; !equal(boolStrings(flags), boolStrings(want)) {
		t.Fatalf("NotFirst %v, want %v", flags, want)
	}
	order, flags = nil, nil
	park("g4", 4)
	tb.Notify("T", 0, 2, 0)
	if len(flags) != 1 || flags[0] {
		t.Fatalf("a lone release: NotFirst %v, want [false]", flags)
	}
}

func boolStrings(b []bool) []string {
	out := make([]string, len(b))
	for i, v := range b {
		if v {
			out[i] = "true"
		} else {
			out[i] = "false"
		}
	}
	return out
}

// TestCloseMarksAllButTheFirstReleased: Close releases every parked request on its
// caller's goroutine, so all but the first are marked for a queued answer as well.
func TestCloseMarksAllButTheFirstReleased(t *testing.T) {
	tb, _ := newTable(t, Options{})
	var flags []bool
	var reasons []string
	for i := 0; i < 3; i++ {
		r := &Request{Topic: "T", QueueID: int32(i), Offset: 0, Owner: uint64(i + 1)}
		r.Release = func(why Reason) {
			reasons = append(reasons, why.String())
			flags = append(flags, r.NotFirst)
		}
		mustPark(t, tb, r, time.Minute)
	}
	tb.Close()
	if len(reasons) != 3 {
		t.Fatalf("Close released %d requests (%v), want 3", len(reasons), reasons)
	}
	for _, why := range reasons {
		if why != Shutdown.String() {
			t.Fatalf("released with %v, want all %v", reasons, Shutdown)
		}
	}
	if want := []bool{false, true, true}; !equal(boolStrings(flags), boolStrings(want)) {
		t.Fatalf("NotFirst %v, want %v", flags, want)
	}
}
