package metasync

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/meta"
)

// TestApplyOffsets: a slave merges the master's consumer offsets, skipping entries it
// cannot store, and refuses a snapshot that does not parse.
func TestApplyOffsets(t *testing.T) {
	db, err := meta.Open(t.TempDir(), zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	offsets, err := meta.LoadOffsets(db, time.Now, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		offsets.Close()
		db.Close()
	})
	m := New(Options{Offsets: offsets, Logger: zerolog.Nop()})
	defer m.Close()
	if err := m.ApplyOffsets([]byte(`{"offsetTable":{"T@g1":{"0":5,"x":1,"2":-4},"noat":{"0":1},"bad topic@g":{"0":2}}}`)); err != nil {
		t.Fatal(err)
	}
	if off, ok := offsets.Get("g1", "T", 0); !ok || off != 5 {
		t.Fatalf("applied offset of g1/T/0: %d %v, want 5", off, ok)
	}
	if got := len(offsets.Snapshot()); got != 1 {
		t.Fatalf("%d offsets applied, want only the valid one", got)
	}
	if err := m.ApplyOffsets([]byte(`{"offsetTable":[`)); err == nil {
		t.Fatalf("a broken snapshot applied without error")
	}
}

// TestRoundWaitsForStreaming: with a master address but no replication stream, a round
// applies nothing and says why.
func TestRoundWaitsForStreaming(t *testing.T) {
	m := New(Options{Streaming: func() (bool, string) { return false, "" }, Logger: zerolog.Nop()})
	defer m.Close()
	if err := m.round(t.Context()); err != nil {
		t.Fatalf("no master address: %v, want nil", err)
	}
	m.mu.addr = "127.0.0.1:1"
	err := m.round(t.Context())
	if err == nil || err.Error() != errNotStreaming.Error()+" (not connected yet)" {
		t.Fatalf("round while not streaming: %v", err)
	}
	if m.Rounds() != 0 {
		t.Fatalf("rounds %d, want 0", m.Rounds())
	}
}
