package index

import (
	"fmt"
	"testing"

	"github.com/rs/zerolog"
)

func query(t *testing.T, x *Index, topic, key string, segs []int64) []int64 {
	t.Helper()
	var out []int64
	err := x.Query([]byte(topic), []byte(key), 0, 1<<62, segs, func(c Candidate) bool {
		out = append(out, c.Offset)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIndex(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(Options{Dir: dir, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	const seg = 1000
	segs := []int64{0, 1000, 2000, 3000}
	for off := int64(0); off < 4000; off += 100 {
		s := off - off%seg
		if err := x.Add(s, []byte("T"), []byte("k"), off, 5000+off); err != nil {
			t.Fatal(err)
		}
		if err := x.Add(s, []byte("T"), []byte(fmt.Sprintf("u%d", off)), off, 5000+off); err != nil {
			t.Fatal(err)
		}
	}
	if got := query(t, x, "T", "k", segs); len(got) != 0 {
		t.Fatalf("uncommitted entries visible: %v", got)
	}
	if err := x.Commit(4000); err != nil {
		t.Fatal(err)
	}
	got := query(t, x, "T", "k", segs)
	if len(got) != 40 || got[0] != 3900 || got[39] != 0 {
		t.Fatalf("newest first: %v", got)
	}
	var window []int64
	x.Query([]byte("T"), []byte("k"), 5000+1200, 5000+1500, segs, func(c Candidate) bool {
		window = append(window, c.Offset)
		return len(window) < 3
	})
	if fmt.Sprint(window) != "[1500 1400 1300]" {
		t.Fatalf("time window with a limit: %v", window)
	}
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
	x.Close()

	x, err = Open(Options{Dir: dir, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Applied() != 4000 {
		t.Fatalf("applied after reopen: %d", x.Applied())
	}
	// The log was cut at 2450: entries at or past it go, in the cut segment and after.
	if err := x.Truncate(2450, seg); err != nil {
		t.Fatal(err)
	}
	if got := query(t, x, "T", "k", segs); len(got) != 25 || got[0] != 2400 {
		t.Fatalf("after truncate: %v", got)
	}
	if got := query(t, x, "T", "u3000", segs); len(got) != 0 || x.Applied() != 2450 {
		t.Fatalf("after truncate: %v applied %d", got, x.Applied())
	}
	// Retention drops whole segments.
	if err := x.DeleteBefore(2000); err != nil {
		t.Fatal(err)
	}
	if got := query(t, x, "T", "k", segs); len(got) != 5 || got[4] != 2000 {
		t.Fatalf("after retention: %v", got)
	}
	// A deleted topic's entries are hidden; the other topic's are not.
	if err := x.DeleteTopic("T", 2450); err != nil {
		t.Fatal(err)
	}
	x.Add(2000, []byte("T"), []byte("k"), 2450, 9999)
	x.Add(2000, []byte("Other"), []byte("k"), 2500, 9999)
	x.Commit(2600)
	if got := query(t, x, "T", "k", segs); fmt.Sprint(got) != "[2450]" {
		t.Fatalf("after delete topic: %v", got)
	}
	if got := query(t, x, "Other", "k", segs); fmt.Sprint(got) != "[2500]" {
		t.Fatalf("other topic: %v", got)
	}
	// The tombstone goes once retention passes it.
	if err := x.DeleteBefore(3000); err != nil {
		t.Fatal(err)
	}
	if h, _ := x.deletedBefore([]byte("T")); h != 0 {
		t.Fatalf("tombstone still at %d", h)
	}
}
