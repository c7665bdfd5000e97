package codec

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

// entriesExt writes before, then x (as prepared entries or one by one), then after.
type entriesExt struct {
	before, after []string
	x             *ExtEntries
	prepared      bool
}

func (w entriesExt) WriteExt(e ExtEncoder) ExtEncoder {
	for i := 0; i+1 < len(w.before); i += 2 {
		e.Str(w.before[i], w.before[i+1])
	}
	if w.prepared {
		e.Entries(w.x)
	} else {
		for i := 0; i+1 < len(w.x.kv); i += 2 {
			e.Str(w.x.kv[i], w.x.kv[i+1])
		}
	}
	for i := 0; i+1 < len(w.after); i += 2 {
		e.Str(w.after[i], w.after[i+1])
	}
	return e
}

// TestExtEntriesLikeStr: prepared entries put the same bytes in the frame as writing
// them one by one, first, in the middle, last or alone, empty too, in both
// serializations; prepared for the other serialization, and for a map, they still come
// out right; an entry that cannot be encoded fails the frame either way.
func TestExtEntriesLikeStr(t *testing.T) {
	kvs := [][]string{
		{"a", "PG", "b", "TopicTest", "c", "TBW102", "d", "4"},
		{"quote", "x\"y\\z\n\x01"},
		{},
	}
	sides := [][]string{nil, {"e", "3"}, {"e", "3", "f", "0"}}
	for _, kv := range kvs {
		for _, prep := range []byte{SerializeRocketMQ, SerializeJSON} {
			x := NewExtEntries(prep, kv...)
			for _, ser := range []byte{SerializeRocketMQ, SerializeJSON} {
				for _, before := range sides {
					for _, after := range sides {
						w := entriesExt{before: before, after: after, x: x}
						one, err1 := AppendFrame(nil, &Command{Code: 310, Ext: w, Serialize: ser}, 0)
						w.prepared = true
						got, err2 := AppendFrame(nil, &Command{Code: 310, Ext: w, Serialize: ser}, 0)
						if err1 != nil || err2 != nil || !bytes.Equal(one, got) {
							t.Fatalf("entries %q prepared for %d, serialize %d, before %q, after %q: frame %q (%v), one by one %q (%v)",
								kv, prep, ser, before, after, got, err2, one, err1)
						}
						if _, err := DecodeFrame(got[LengthPrefixBytes:]); err != nil {
							t.Fatalf("entries %q, serialize %d: %v", kv, ser, err)
						}
					}
				}
			}
			m := ExtMap(entriesExt{before: []string{"e", "3"}, x: x, prepared: true})
			want := map[string]string{"e": "3"}
			for i := 0; i+1 < len(kv); i += 2 {
				want[kv[i]] = kv[i+1]
			}
			if !maps.Equal(m, want) {
				t.Fatalf("entries %q: map %v, want %v", kv, m, want)
			}
		}
	}
	long := NewExtEntries(SerializeRocketMQ, strings.Repeat("k", 1<<16), "v")
	if _, err := AppendFrame(nil, &Command{Code: 310, Ext: entriesExt{x: long, prepared: true}, Serialize: SerializeRocketMQ}, 0); err == nil {
		t.Fatal("a key too long for the header was encoded")
	}
}
