package message

import (
	"reflect"
	"testing"
)

// NextProperty walks both encodings and skips what neither parser would read.
func TestNextProperty(t *testing.T) {
	props := []byte("TAGS\x01a\x02\x01novalkey\x02empty\x01\x02KEYS\x01k1 k2\x02junk\x02TAGS\x01b\x02")
	var got [][2]string
	for k, v, rest := NextProperty(props); k != nil; k, v, rest = NextProperty(rest) {
		got = append(got, [2]string{string(k), string(v)})
	}
	want := [][2]string{{"TAGS", "a"}, {"KEYS", "k1 k2"}, {"TAGS", "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pairs: got %q, want %q", got, want)
	}
	if v, ok := PropertyView(props, "TAGS"); !ok || string(v) != "b" {
		t.Fatalf("PropertyView(TAGS) = %q, %v; want the last occurrence b", v, ok)
	}
	if k, _, _ := NextProperty([]byte("\x02\x02nokey")); k != nil {
		t.Fatalf("no well-formed pair: got key %q", k)
	}
	if n := testing.AllocsPerRun(100, func() {
		for k, _, rest := NextProperty(props); k != nil; k, _, rest = NextProperty(rest) {
		}
	}); n != 0 {
		t.Fatalf("NextProperty allocates %v times per walk, want 0", n)
	}
}
