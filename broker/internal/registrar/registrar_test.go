package registrar

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
)

func TestRegistrarTriggerCoalesces(t *testing.T) {
	r := &Registrar{trigger: make(chan struct{}, 1)}
	for range 100 {
		r.Trigger() // never blocks
	}
	if len(r.trigger) != 1 {
		t.Fatalf("pending triggers: got %d, want 1", len(r.trigger))
	}
}

func TestIncrementVersionNeverATableVersion(t *testing.T) {
	v := body.DataVersion{Timestamp: 5000, Counter: 7}
	for _, now := range []int64{0, 4999, 5000, 5001, 9000} {
		got := incrementVersion(v, time.UnixMilli(now))
		if got.Counter != 7 || got.Timestamp <= v.Timestamp || got == v {
			t.Fatalf("now %d: increment version %+v for change %+v", now, got, v)
		}
	}
}

func TestChangedKeepsNewestVersionPerTopic(t *testing.T) {
	r := New(Options{Addrs: []string{"127.0.0.1:1"}})
	defer r.Close()
	r.Changed(body.DataVersion{Timestamp: 10, Counter: 3}, "A", "B")
	r.Changed(body.DataVersion{Timestamp: 9, Counter: 2}, "A") // reported late
	r.Changed(body.DataVersion{Timestamp: 11, Counter: 4}, "B")
	if a, b := r.mu.pending["A"], r.mu.pending["B"]; a.Counter != 3 || b.Counter != 4 || len(r.mu.pending) != 2 {
		t.Fatalf("pending: %+v", r.mu.pending)
	}
	if r.mu.full || len(r.trigger) != 1 {
		t.Fatalf("full %v, wakes %d: want an incremental round", r.mu.full, len(r.trigger))
	}
	r.Trigger()
	if !r.mu.full || len(r.trigger) != 1 {
		t.Fatalf("full %v, wakes %d after Trigger", r.mu.full, len(r.trigger))
	}
	none := New(Options{})
	none.Changed(body.DataVersion{Counter: 1}, "A")
	if len(none.mu.pending) != 0 {
		t.Fatalf("a registrar without NameServer keeps %d pending topics", len(none.mu.pending))
	}
}
