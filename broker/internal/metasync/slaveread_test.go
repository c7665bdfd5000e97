package metasync

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
)

// TestPendingOffsetsSurviveTheMastersCopy: an offset committed on the slave is not
// lowered by the returned master's older copy and is reported as what the master lacks;
// once the master's copy reaches it, the master's value wins again (a later reset on
// the master reaches the slave).
func TestPendingOffsetsSurviveTheMastersCopy(t *testing.T) {
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
	if err := offsets.Commit("g", "T", 0, 250); err != nil {
		t.Fatal(err)
	}
	m.NoteCommit("g", "T", 0, 250)
	m.NoteCommit("g", "T", 0, 240) // an older commit arriving late changes nothing

	lacks, err := m.applyOffsets([]byte(`{"offsetTable":{"T@g":{"0":100,"1":7}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if off, _ := offsets.Get("g", "T", 0); off != 250 {
		t.Fatalf("slave's offset after the master's copy: %d, want 250 (kept)", off)
	}
	if off, _ := offsets.Get("g", "T", 1); off != 7 {
		t.Fatalf("an offset not committed here: %d, want the master's 7", off)
	}
	if got := lacks.OffsetTable["T@g"]; len(lacks.OffsetTable) != 1 || len(got) != 1 || got["0"] != 250 {
		t.Fatalf("what the master lacks: %v, want T@g 0=250", lacks.OffsetTable)
	}
	if _, err := m.applyOffsets([]byte(`{"offsetTable":{"T@g":{"0":260}}}`)); err != nil {
		t.Fatal(err)
	}
	if m.Pending() != 0 {
		t.Fatalf("%d offsets still pending after the master reached them", m.Pending())
	}
	if _, err := m.applyOffsets([]byte(`{"offsetTable":{"T@g":{"0":0}}}`)); err != nil {
		t.Fatal(err)
	}
	if off, _ := offsets.Get("g", "T", 0); off != 0 {
		t.Fatalf("after a reset on the master: %d, want 0", off)
	}
}

// TestAcksWait: a change waits for every slave that reported recently, and not for one
// that stopped reporting.
func TestAcksWait(t *testing.T) {
	clock := testutil.NewClock()
	a := NewAcks(clock.Now)
	v := func(c int64) body.DataVersion { return body.DataVersion{Timestamp: 1, Counter: c} }
	ctx := context.Background()
	if !a.Wait(ctx, v(5), v(5)) {
		t.Fatalf("no slave: a change must not wait")
	}
	a.Report(1, v(4), v(5))
	done := make(chan bool, 1)
	go func() { done <- a.Wait(ctx, v(5), v(5)) }()
	a.Report(1, v(5), v(5))
	if ok := <-done; !ok {
		t.Fatalf("the wait did not end when the slave reported the versions")
	}
	a.Report(2, v(4), v(5))
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if a.Wait(short, v(5), v(5)) {
		t.Fatalf("slave 2 lacks the topics, but the wait ended")
	}
	clock.Advance(slaveGone + time.Millisecond)
	a.Report(1, v(5), v(5))
	if !a.Wait(ctx, v(5), v(5)) {
		t.Fatalf("a slave silent for longer than %v is still waited for", slaveGone)
	}
}
