package index

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// openSmallBuckets opens the index in dir with 300-byte buckets, so that a few records
// span several buckets.
func openSmallBuckets(t *testing.T, dir string) *Index {
	t.Helper()
	x, err := Open(Options{Dir: dir, Logger: zerolog.Nop(), BucketBytes: 300})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestBuckets indexes records across several buckets of several segments and checks
// that a query finds every one, newest first, and stops where the caller says.
func TestBuckets(t *testing.T) {
	x := openSmallBuckets(t, t.TempDir())
	defer x.Close()
	const seg = 1000
	segs := []int64{0, 1000, 2000}
	var want []int64
	for off := int64(0); off < 2550; off += 50 {
		if err := x.Add(off-off%seg, []byte("T"), []byte("k"), off, off); err != nil {
			t.Fatal(err)
		}
		want = append([]int64{off}, want...)
	}
	if err := x.Commit(2550); err != nil {
		t.Fatal(err)
	}
	if got := query(t, x, "T", "k", segs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("query over buckets:\n got %v\nwant %v", got, want)
	}
	var first []int64
	x.Query([]byte("T"), []byte("k"), 0, 1<<62, segs, func(c Candidate) bool {
		first = append(first, c.Offset)
		return len(first) < 4
	})
	if fmt.Sprint(first) != "[2500 2450 2400 2350]" {
		t.Fatalf("limited query: %v", first)
	}
	// Older segments only: the newest segment's buckets end at the next one's start.
	if got := query(t, x, "T", "k", segs[:1]); len(got) != 20 || got[0] != 950 || got[19] != 0 {
		t.Fatalf("first segment: %v", got)
	}
}

// TestSegmentKeyedEntries checks that entries written before buckets existed, keyed by
// their segment's start whatever their offset, are still found: they sort in the
// segment's first bucket.
func TestSegmentKeyedEntries(t *testing.T) {
	x := openSmallBuckets(t, t.TempDir())
	defer x.Close()
	var k [entryLen]byte
	entryKey(&k, 1000, fnv64a([]byte("T"), []byte("k")), 1900)
	if err := x.db.Set(k[:], []byte{0, 0, 0, 0, 0, 0, 0, 7}, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(1000, []byte("T"), []byte("k"), 1950, 8); err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(2000); err != nil {
		t.Fatal(err)
	}
	if got := query(t, x, "T", "k", []int64{0, 1000}); fmt.Sprint(got) != "[1950 1900]" {
		t.Fatalf("got %v", got)
	}
}

// TestCrashLosesUnflushed checks what a crash leaves: the entries and applied offset of
// the last Sync, never entries without the applied offset that covers them, and a
// truncation that survives without a Sync.
func TestCrashLosesUnflushed(t *testing.T) {
	dir := t.TempDir()
	open := func() *Index { return openSmallBuckets(t, dir) }
	x := open()
	add := func(from, to int64) {
		for off := from; off < to; off += 100 {
			if err := x.Add(0, []byte("T"), []byte("k"), off, off); err != nil {
				t.Fatal(err)
			}
		}
		if err := x.Commit(to); err != nil {
			t.Fatal(err)
		}
	}
	add(0, 500)
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
	add(500, 900)
	if got := query(t, x, "T", "k", []int64{0}); len(got) != 9 {
		t.Fatalf("before the crash: %v", got)
	}
	x.Abandon()

	x = open()
	if x.Applied() != 500 {
		t.Fatalf("applied after the crash: %d, want the last sync's 500", x.Applied())
	}
	if got := query(t, x, "T", "k", []int64{0}); fmt.Sprint(got) != "[400 300 200 100 0]" {
		t.Fatalf("after the crash: %v", got)
	}
	add(500, 900)
	if err := x.Truncate(650, 1<<20); err != nil {
		t.Fatal(err)
	}
	x.Abandon()

	x = open()
	defer x.Close()
	if x.Applied() != 650 {
		t.Fatalf("applied after truncate and crash: %d", x.Applied())
	}
	if got := query(t, x, "T", "k", []int64{0}); fmt.Sprint(got) != "[600 500 400 300 200 100 0]" {
		t.Fatalf("after truncate and crash: %v", got)
	}
}
