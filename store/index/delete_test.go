package index

import (
	"slices"
	"testing"
)

// TestDeleteBeforeSurvivesRestart: entries dropped by retention after the last flush
// stay dropped across a clean Close and reopen, although no new entry moved the applied
// offset in between (nothing else would flush the memtable holding the deletion).
func TestDeleteBeforeSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() *Index { return openSmallBuckets(t, dir) }
	x := open()
	for off := int64(0); off < 2000; off += 100 {
		if err := x.Add(off-off%1000, []byte("T"), []byte("k"), off, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Commit(2000); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := x.DeleteBefore(1000); err != nil {
		t.Fatal(err)
	}
	want := []int64{1900, 1800, 1700, 1600, 1500, 1400, 1300, 1200, 1100, 1000}
	if got := query(t, x, "T", "k", []int64{0, 1000}); !slices.Equal(got, want) {
		t.Fatalf("before restart: %v, want %v", got, want)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x = open()
	defer x.Close()
	if got := query(t, x, "T", "k", []int64{0, 1000}); !slices.Equal(got, want) {
		t.Fatalf("after restart: %v, want %v (the deletion was lost)", got, want)
	}
}
