package message

import (
	"strings"
	"testing"
	"time"
)

// EncodePropertiesUniq gives what EncodeProperties and SetProperty of a fresh id give,
// and an id of the process-wide source.
func TestEncodePropertiesUniq(t *testing.T) {
	for _, p := range []map[string]string{
		nil,
		{},
		{PropTags: "t"},
		{PropTags: "t", PropKeys: "k1 k2", "a": "1", "": "x", "b": "", "c\x01": "y", "d": "v\x02"},
		{PropUniqKey: "", "z": "last"},
	} {
		props, id := EncodePropertiesUniq(p, time.Now())
		if len(id) != 32 || strings.Trim(id, "0123456789ABCDEF") != "" {
			t.Fatalf("id %q", id)
		}
		if want := SetProperty(EncodeProperties(p), PropUniqKey, id); props != want {
			t.Fatalf("props %q, want %q", props, want)
		}
		if got := DecodeProperties(props)[PropUniqKey]; got != id {
			t.Fatalf("UNIQ_KEY reads back %q, want %q", got, id)
		}
	}
	_, a := EncodePropertiesUniq(nil, time.Now())
	_, b := EncodePropertiesUniq(nil, time.Now())
	if a == b {
		t.Fatalf("two ids alike: %s", a)
	}
}

func BenchmarkEncodePropertiesUniq(b *testing.B) {
	p := map[string]string{PropTags: "t", PropKeys: "k"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		EncodePropertiesUniq(p, time.Now())
	}
}
