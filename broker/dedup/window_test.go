package dedup

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(maxKeys int) (*Window, *clock) {
	c := &clock{t: time.UnixMilli(1_700_000_000_000)}
	return New(maxKeys, c.now), c
}

func key(i int) Key { return Key{Topic: "T", Uniq: fmt.Sprintf("K%032d", i)} }

func TestWindowExpiry(t *testing.T) {
	w, c := newTest(0)
	w.Record(key(1), 100, c.t.UnixMilli(), time.Minute)
	if phys, ok := w.Lookup(key(1)); !ok || phys != 100 {
		t.Fatalf("Lookup: got %d %v, want 100 true", phys, ok)
	}
	if _, ok := w.Lookup(Key{Topic: "U", Uniq: key(1).Uniq}); ok {
		t.Fatal("another topic's key must not match")
	}
	c.t = c.t.Add(time.Minute - time.Millisecond)
	if _, ok := w.Lookup(key(1)); !ok {
		t.Fatal("forgotten before the window ended")
	}
	c.t = c.t.Add(time.Millisecond)
	if _, ok := w.Lookup(key(1)); ok {
		t.Fatal("remembered after the window ended")
	}
	w.Record(key(2), 200, c.t.UnixMilli(), time.Minute) // drops the expired head
	if n := w.Len(); n != 1 {
		t.Fatalf("Len after expiry: %d, want 1", n)
	}
	// A record already older than its window (seen during a rebuild) is not kept.
	w.Record(key(3), 300, c.t.Add(-2*time.Minute).UnixMilli(), time.Minute)
	if _, ok := w.Lookup(key(3)); ok {
		t.Fatal("expired record remembered")
	}
	// The first offset wins: a later record of the key (a copy) changes nothing.
	w.Record(key(2), 999, c.t.UnixMilli(), time.Minute)
	if phys, _ := w.Lookup(key(2)); phys != 200 {
		t.Fatalf("second record moved the key to %d, want 200", phys)
	}
}

func TestWindowCapEvictsOldest(t *testing.T) {
	w, c := newTest(3)
	for i := range 5 {
		w.Record(key(i), int64(i), c.t.UnixMilli(), time.Hour)
	}
	if n := w.Len(); n != 3 {
		t.Fatalf("Len: %d, want 3", n)
	}
	for i := range 5 {
		phys, ok := w.Lookup(key(i))
		if want := i >= 2; ok != want || (ok && phys != int64(i)) {
			t.Fatalf("key %d: got %d %v, want present=%v", i, phys, ok, want)
		}
	}
}

func TestWindowRingWrapsAndGrows(t *testing.T) {
	w, c := newTest(5000)
	// Interleave expiries and growth so the ring wraps before it doubles.
	for i := range 4000 {
		w.Record(key(i), int64(i), c.t.UnixMilli(), 10*time.Millisecond)
		if i%3 == 0 {
			c.t = c.t.Add(time.Millisecond)
		}
	}
	now := c.t.UnixMilli()
	for i := range 4000 {
		phys, ok := w.Lookup(key(i))
		if ok && phys != int64(i) {
			t.Fatalf("key %d maps to %d", i, phys)
		}
		// Keys recorded within the last 10 ms (about 30 keys) must be present; check 20.
		if i >= 3980 && !ok {
			t.Fatalf("recent key %d lost (now %d)", i, now)
		}
	}
	if n := w.Len(); n > 60 {
		t.Fatalf("Len %d: expired entries not dropped", n)
	}
}

func TestWindowFlights(t *testing.T) {
	w, c := newTest(0)
	k := key(1)
	if _, dup, wait := w.Begin(k); dup || wait != nil {
		t.Fatal("first Begin must start a flight")
	}
	_, dup, wait := w.Begin(k)
	if dup || wait == nil {
		t.Fatal("second Begin must wait for the first")
	}
	w.Abort(k)
	<-wait
	if _, dup, wait := w.Begin(k); dup || wait != nil {
		t.Fatal("Begin after Abort must start a flight")
	}
	_, _, wait = w.Begin(k)
	w.Commit(k, 42, time.Minute)
	<-wait
	if phys, dup, _ := w.Begin(k); !dup || phys != 42 {
		t.Fatalf("Begin after Commit: %d %v, want 42 dup", phys, dup)
	}
	// The dispatcher may record the key before the send commits: the first wins.
	k2 := key(2)
	w.Begin(k2)
	w.Record(k2, 7, c.t.UnixMilli(), time.Minute)
	w.Commit(k2, 7, time.Minute)
	if phys, ok := w.Lookup(k2); !ok || phys != 7 {
		t.Fatalf("k2: %d %v", phys, ok)
	}
}

func TestWindowTruncate(t *testing.T) {
	w, c := newTest(0)
	for i := range 10 {
		w.Record(key(i), int64(i*100), c.t.UnixMilli(), time.Minute)
	}
	w.Truncate(500)
	for i := range 10 {
		if _, ok := w.Lookup(key(i)); ok != (i < 5) {
			t.Fatalf("key %d at %d after Truncate(500): present=%v", i, i*100, ok)
		}
	}
	w.Record(key(7), 700, c.t.UnixMilli(), time.Minute) // re-stored after the cut
	if phys, ok := w.Lookup(key(7)); !ok || phys != 700 {
		t.Fatalf("key 7 after re-record: %d %v", phys, ok)
	}
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{{"2m", 2 * time.Minute, true}, {"120000", 2 * time.Minute, true}, {"0", 0, true},
		{"-1s", 0, false}, {"25h", 0, false}, {"x", 0, false}, {"", 0, false}} {
		d, err := ParseWindow(tc.in)
		if (err == nil) != tc.ok || d != tc.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v ok=%v", tc.in, d, err, tc.want, tc.ok)
		}
	}
}

// TestBytesPerKey measures the heap a remembered key costs with a 32-character
// UNIQ_KEY (the Java client's), and bounds it so a change that bloats it is noticed.
func TestBytesPerKey(t *testing.T) {
	const n = 200_000
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = key(i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w, c := newTest(n)
	for i, k := range keys {
		w.Record(k, int64(i), c.t.UnixMilli(), time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per remembered key (%d keys, 32-byte UNIQ_KEY)", per, w.Len())
	if per > 256 {
		t.Fatalf("%.0f bytes per key, want at most 256", per)
	}
	runtime.KeepAlive(keys)
}
