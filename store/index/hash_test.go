package index

import (
	"hash/fnv"
	"testing"

	"github.com/rs/zerolog"
)

// TestEntryHash: an entry's hash is FNV-1a over topic, a zero byte and key (the on-disk
// format, doc.go), also when Add reuses the state of the previous record's topic; a
// record of another topic, of a topic that extends the previous one, or of the empty
// topic first of all is hashed afresh.
func TestEntryHash(t *testing.T) {
	x := openTemp(t)
	adds := []struct{ topic, key string }{
		{"", "k0"}, {"TopicA", "k1"}, {"TopicA", "k2"}, {"TopicB", "k1"}, {"TopicBB", "k1"},
		{"TopicB", "k1"}, {"", "k"}, {"TopicA", ""}, {"TopicA", "k1"},
	}
	var want []uint64
	for i, a := range adds {
		if err := x.Add([]byte(a.topic), []byte(a.key), int64(i), 1); err != nil {
			t.Fatal(err)
		}
		if a.key == "" {
			continue // a record without the key is not indexed
		}
		h := fnv.New64a()
		h.Write([]byte(a.topic + "\x00" + a.key))
		want = append(want, h.Sum64())
	}
	if err := x.drain(); err != nil {
		t.Fatal(err)
	}
	f := x.last()
	if x.pend != len(want) || int(f.n) != len(want) {
		t.Fatalf("%d entries pending (%d written), want %d", x.pend, f.n, len(want))
	}
	for i := range want {
		if h := entryHash(f.entry(uint32(i))); h != want[i] {
			t.Fatalf("entry %d: hash %#x, want %#x", i, h, want[i])
		}
	}
}

// openTemp opens an index in a temporary directory, closed when the test ends.
func openTemp(tb testing.TB) *Index {
	tb.Helper()
	x, err := Open(Options{Dir: tb.TempDir(), Logger: zerolog.Nop()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close() })
	return x
}
