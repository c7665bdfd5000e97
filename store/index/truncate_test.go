package index

import (
	"os"
	"sync"
	"testing"
)

// TestTruncateFailureThenClose: a Truncate that fails after dropping files (here the
// removal of one) still leaves Applied at the cut and nothing past it found, and Close
// does not touch the dropped (unmapped) files.
func TestTruncateFailureThenClose(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 7, 6)
	addRange(t, x, 0, 3000) // 10 files, no Sync
	files := indexFiles(t, dir)
	if err := os.Remove(dir + "/" + files[len(files)-1]); err != nil {
		t.Fatal(err)
	}
	if err := x.Truncate(900); err == nil {
		t.Fatal("truncate succeeded though a file it drops could not be removed")
	}
	if a := x.Applied(); a != 900 {
		t.Fatalf("applied %d after a failed truncate to 900", a)
	}
	for _, off := range query(t, x, "T", "k", []int64{0}) {
		if off >= 900 {
			t.Fatalf("entry at %d found after a truncate to 900", off)
		}
	}
	_ = x.Close() // must not fault on a dropped file
}

// DeleteBefore, Sync, Query concurrently with the writer (run with -race).
func TestConcurrentDeleteBefore(t *testing.T) {
	x := openSized(t, t.TempDir(), 7, 20)
	var wg sync.WaitGroup
	done := make(chan struct{})
	loop := func(fn func()) { goLoop(&wg, done, func() bool { fn(); return true }) }
	loop(func() { x.Sync() })
	loop(func() { x.DeleteBefore(x.Applied() / 2) })
	loop(func() {
		a := x.Applied()
		x.Query([]byte("T"), []byte("k"), 0, 1<<62, []int64{a / 2}, func(Candidate) bool { return true })
	})
	for off := int64(0); off < 200000; off += 100 {
		if err := x.Add([]byte("T"), []byte("k"), off, off); err != nil {
			t.Fatal(err)
		}
		if off%700 == 0 {
			mustCommit(t, x, off+100)
		}
	}
	close(done)
	wg.Wait()
	x.Close()
}

// A topic deleted at 1000, the log cut back to 500 at recovery, the topic created again:
// its new records at 500..900 must be found.
func TestTombstoneAfterTruncate(t *testing.T) {
	x := openSized(t, t.TempDir(), 7, 50)
	addRange(t, x, 0, 1000)
	mustSync(t, x)
	if err := x.DeleteTopic("T", 1000); err != nil {
		t.Fatal(err)
	}
	if err := x.Truncate(500); err != nil {
		t.Fatal(err)
	}
	addRange(t, x, 500, 1000)
	want(t, x, "T", "k", 900, 800, 700, 600, 500)
}
