package registrar

import "testing"

func TestRegistrarTriggerCoalesces(t *testing.T) {
	r := &Registrar{trigger: make(chan struct{}, 1)}
	for range 100 {
		r.Trigger() // never blocks
	}
	if len(r.trigger) != 1 {
		t.Fatalf("pending triggers: got %d, want 1", len(r.trigger))
	}
}
