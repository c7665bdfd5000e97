package store

import (
	"os"
	"path/filepath"
	"testing"
)

// A truncate marker cuts the log at the next open: the ConsumeQueues end at the last
// record before the cut, the queue offsets continue from there, and the marker is gone.
func TestMarkTruncateCutsAtOpen(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		s := openT(t, o)
		var ends []int64
		for i := 0; i < 300; i++ { // several segments of 64 KiB
			r := put(t, s, msg{topic: "T", queue: int32(i % 2), body: body(i, 500), keys: "k"})
			ends = append(ends, r.EndOffset)
		}
		syncDispatch(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		cut := ends[199] // keep records 0..199: 100 per queue
		if err := MarkTruncate(o.Dir, cut); err != nil {
			t.Fatal(err)
		}
		s2 := openT(t, o)
		if got := s2.MaxPhysicalOffset(); got != cut {
			t.Fatalf("log ends at %d after the cut, want %d", got, cut)
		}
		for q := int32(0); q < 2; q++ {
			if got := s2.MaxOffset("T", q); got != 100 {
				t.Fatalf("queue %d max offset %d after the cut, want 100", q, got)
			}
		}
		if _, err := os.Stat(filepath.Join(o.Dir, truncateFile)); !os.IsNotExist(err) {
			t.Fatalf("marker still there: %v", err)
		}
		r := put(t, s2, msg{topic: "T", queue: 0, body: body(999, 500)})
		if r.PhysicalOffset != cut || r.QueueOffset != 100 {
			t.Fatalf("next record at %d queue offset %d, want %d and 100", r.PhysicalOffset, r.QueueOffset, cut)
		}
		// A cut past the end changes nothing.
		s2.Close()
		if err := MarkTruncate(o.Dir, 1<<40); err != nil {
			t.Fatal(err)
		}
		s3 := openT(t, o)
		if got := s3.MaxPhysicalOffset(); got != r.EndOffset {
			t.Fatalf("log ends at %d, want %d", got, r.EndOffset)
		}
	})
}

// A marker that is not a record boundary refuses to open rather than cut a record.
func TestMarkTruncateRefusesMidRecord(t *testing.T) {
	o := testOptions(t, AsyncFlush)
	s := openT(t, o)
	r := put(t, s, msg{topic: "T", body: body(1, 100)})
	put(t, s, msg{topic: "T", body: body(2, 100)})
	s.Close()
	if err := MarkTruncate(o.Dir, r.EndOffset+3); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(o); err == nil {
		s.Close()
		t.Fatal("opened with a cut inside a record")
	}
}
