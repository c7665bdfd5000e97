package index

import (
	"sync"
	"testing"
)

// TestConcurrentQuery runs queries and Syncs while the writer adds, commits and rolls
// files: a query sees every entry committed before it began, newest first, and none
// that was not committed.
func TestConcurrentQuery(t *testing.T) {
	x := openSized(t, t.TempDir(), 7, 50)
	const records = 3000
	var wg sync.WaitGroup
	done := make(chan struct{})
	loop := func(fn func() bool) { goLoop(&wg, done, fn) }
	loop(func() bool { // the checkpoint
		if err := x.Sync(); err != nil {
			t.Error(err)
			return false
		}
		return true
	})
	loop(func() bool { // a reader
		applied := x.Applied()
		var got []int64
		x.Query([]byte("T"), []byte("k"), 0, 1<<62, []int64{0}, func(c Candidate) bool {
			got = append(got, c.Offset)
			return true
		})
		n := int(applied / 100)
		if len(got) < n {
			t.Errorf("applied %d: %d entries found, want at least %d", applied, len(got), n)
			return false
		}
		for i, off := range got {
			if want := int64(len(got)-1-i) * 100; off != want {
				t.Errorf("entry %d of %d is %d, want %d", i, len(got), off, want)
				return false
			}
		}
		return true
	})
	for off := int64(0); off < records*100; off += 100 {
		if err := x.Add([]byte("T"), []byte("k"), off, off); err != nil {
			t.Fatal(err)
		}
		if err := x.Add([]byte("T"), []byte("u"), off, off); err != nil {
			t.Fatal(err)
		}
		if off%700 == 0 {
			mustCommit(t, x, off+100)
		}
	}
	mustCommit(t, x, records*100)
	close(done)
	wg.Wait()
	want(t, x, "T", "k", desc(records*100-100, 0)...)
}

// goLoop runs fn on a goroutine of its own, counted in wg, until done is closed or fn
// returns false.
func goLoop(wg *sync.WaitGroup, done <-chan struct{}, fn func() bool) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if !fn() {
				return
			}
		}
	}()
}
