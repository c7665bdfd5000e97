package message

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestMessageAccessors(t *testing.T) {
	var m Message
	if m.Tags() != "" || m.Keys() != nil || m.Property("x") != "" {
		t.Fatalf("zero message has values")
	}
	m.SetTags("TagA")
	m.SetKeys("k1", "k2")
	m.SetProperty("x", "1")
	if m.Tags() != "TagA" || !slices.Equal(m.Keys(), []string{"k1", "k2"}) || m.Property("x") != "1" {
		t.Fatalf("got tags %q keys %q x %q", m.Tags(), m.Keys(), m.Property("x"))
	}
	if m.Properties[PropKeys] != "k1 k2" {
		t.Fatalf("KEYS stored as %q, want space separated", m.Properties[PropKeys])
	}
	m.SetProperty("x", "")
	if _, ok := m.Properties["x"]; ok {
		t.Fatalf("empty value did not remove the key")
	}
	m.Properties[PropKeys] = "  a  b "
	if !slices.Equal(m.Keys(), []string{"a", "b"}) {
		t.Fatalf("Keys with extra spaces: %q", m.Keys())
	}
}

func TestExtAccessors(t *testing.T) {
	m := sampleExt()
	if m.Tags() != "TagA" || !slices.Equal(m.Keys(), []string{"k1"}) || m.UniqKey() != "" {
		t.Fatalf("got tags %q keys %q uniq %q", m.Tags(), m.Keys(), m.UniqKey())
	}
	if got, want := m.MsgID(), "0A00000100002A9F0000000000001000"; got != want {
		t.Fatalf("MsgID without UNIQ_KEY: got %s, want %s", got, want)
	}
	m.Properties[PropUniqKey] = "C0A800640F3A000000001a2b3c4d00ff"
	if got := m.MsgID(); got != "C0A800640F3A000000001a2b3c4d00ff" {
		t.Fatalf("MsgID with UNIQ_KEY: got %s", got)
	}
	m.StoreHost = netip.MustParseAddrPort("[2001:db8::1]:1")
	if got := OffsetMsgID(m.StoreHost, m.PhysicalOffset); len(got) != OffsetMsgIDLenV6 {
		t.Fatalf("v6 offset id %s", got)
	}
}

func TestTagsHash(t *testing.T) {
	// Reference values printed by Java's String.hashCode (OpenJDK), cast to long.
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"a", 97},
		{"*", 42},
		{"TagA", 2598919}, // 84·31³ + 97·31² + 103·31 + 65
		{"TagB", 2598920},
		{"tagA", 3552231},
		{"tag||tag2", -1365727374},
		{"Zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 246803738},
		{"polygenelubricants", -2147483648}, // hashes to Integer.MIN_VALUE
		{"标签", 857175},
		{"ü", 252},
		{"😀tag", 1276941143}, // U+1F600 is the surrogate pair D83D DE00
		{"𝄞", 1772394},
		{"a😀b😀c", 1173308226},
		{"ÅÄÖ-tags_2024", 1953664816},
	} {
		if got := TagsHash(tc.in); got != tc.want {
			t.Errorf("TagsHash(%q): got %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestTagsHashInvalidUTF8(t *testing.T) {
	// Each invalid byte counts as U+FFFD (65533), as a replacing decoder produces.
	if got, want := TagsHash("\xff"), int64(65533); got != want {
		t.Fatalf("got %d, want %d", got, want)
	}
	if got, want := TagsHash("a\xffb"), int64((97*31+65533)*31+98); got != want {
		t.Fatalf("got %d, want %d", got, want)
	}
}

func TestEncodeProperties(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]string
		want string
	}{
		{"nil", nil, ""},
		{"empty", map[string]string{}, ""},
		{"one", map[string]string{"TAGS": "a"}, "TAGS\x01a"},
		{"sorted, no trailing separator", map[string]string{"WAIT": "true", "KEYS": "k1 k2", "TAGS": "t"},
			"KEYS\x01k1 k2\x02TAGS\x01t\x02WAIT\x01true"},
		{"unreadable pairs left out", map[string]string{"": "v", "k": "", "a\x01b": "v", "c\x02": "v", "d": "x\x02y", "ok": "1"},
			"ok\x011"},
		{"0x01 in value kept", map[string]string{"k": "a\x01b"}, "k\x01a\x01b"},
		{"only unreadable", map[string]string{"": ""}, ""},
	} {
		if got := EncodeProperties(tc.in); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDecodeProperties(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"java form", "TAGS\x01a\x02KEYS\x01k", map[string]string{"TAGS": "a", "KEYS": "k"}},
		{"go form", "TAGS\x01a\x02KEYS\x01k\x02", map[string]string{"TAGS": "a", "KEYS": "k"}},
		{"separators only", "\x02\x02\x01\x02", map[string]string{}},
		{"no name-value separator", "abc\x02k\x01v", map[string]string{"k": "v"}},
		{"empty key skipped", "\x01v\x02k\x01v", map[string]string{"k": "v"}},
		{"empty value skipped", "k\x01\x02j\x01w", map[string]string{"j": "w"}},
		{"value keeps later 0x01", "k\x01a\x01b", map[string]string{"k": "a\x01b"}},
		{"last duplicate wins", "k\x011\x02k\x012", map[string]string{"k": "2"}},
		{"short items", "a\x01\x02\x01b\x02ab", map[string]string{}},
		{"minimal pair", "a\x01b", map[string]string{"a": "b"}},
		{"utf8", "TAGS\x01标签", map[string]string{"TAGS": "标签"}},
	} {
		got := DecodeProperties(tc.in)
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		for k, v := range tc.want {
			if pv, ok := PropertyOf([]byte(tc.in), k); !ok || pv != v {
				t.Errorf("%s: PropertyOf(%q) = %q, %v; want %q", tc.name, k, pv, ok, v)
			}
		}
		if _, ok := PropertyOf([]byte(tc.in), "absent"); ok {
			t.Errorf("%s: PropertyOf found an absent key", tc.name)
		}
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	m := map[string]string{PropTags: "TagA", PropKeys: "a b c", PropUniqKey: "0A00000100002A9F0000000000001000",
		PropWait: "true", "x": strings.Repeat("y", 300), "v": "has\x01inner"}
	enc := EncodeProperties(m)
	if got := DecodeProperties(enc); !maps.Equal(got, m) {
		t.Fatalf("round trip: got %q, want %q", got, m)
	}
	if got := DecodeProperties(enc + "\x02"); !maps.Equal(got, m) {
		t.Fatalf("round trip of the Go form: got %q, want %q", got, m)
	}
	if EncodeProperties(m) != enc {
		t.Fatalf("encoding is not deterministic")
	}
}

func TestPropertyOfNoMapAllocs(t *testing.T) {
	props := []byte(EncodeProperties(map[string]string{PropTags: "TagA", PropKeys: "k", PropWait: "true"}))
	var ok bool
	if a := testing.AllocsPerRun(100, func() { _, ok = PropertyOf(props, PropDelay) }); a != 0 || ok {
		t.Fatalf("PropertyOf of an absent key: %v allocs, found %v", a, ok)
	}
}

func TestSetAndRemoveProperty(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		op             func(string) string
	}{
		{"remove absent keeps input", "TAGS\x01a\x02", "TAGS\x01a\x02", func(s string) string { return RemoveProperty(s, PropWait) }},
		{"remove from go form", "WAIT\x01true\x02TAGS\x01a\x02", "TAGS\x01a", func(s string) string { return RemoveProperty(s, PropWait) }},
		{"remove middle", "A\x011\x02WAIT\x01false\x02B\x012", "A\x011\x02B\x012", func(s string) string { return RemoveProperty(s, PropWait) }},
		{"remove duplicates", "WAIT\x011\x02A\x011\x02WAIT\x012", "A\x011", func(s string) string { return RemoveProperty(s, PropWait) }},
		{"remove only", "WAIT\x01true", "", func(s string) string { return RemoveProperty(s, PropWait) }},
		{"remove does not match prefix", "WAITX\x011", "WAITX\x011", func(s string) string { return RemoveProperty(s, PropWait) }},
		{"set on empty", "", "CLUSTER\x01c1", func(s string) string { return SetProperty(s, PropCluster, "c1") }},
		{"set appends to go form", "TAGS\x01a\x02", "TAGS\x01a\x02CLUSTER\x01c1", func(s string) string { return SetProperty(s, PropCluster, "c1") }},
		{"set replaces", "CLUSTER\x01old\x02TAGS\x01a", "TAGS\x01a\x02CLUSTER\x01new", func(s string) string { return SetProperty(s, PropCluster, "new") }},
		{"set empty value removes", "CLUSTER\x01old\x02TAGS\x01a", "TAGS\x01a", func(s string) string { return SetProperty(s, PropCluster, "") }},
		{"set unreadable key is ignored", "TAGS\x01a", "TAGS\x01a", func(s string) string { return SetProperty(s, "bad\x01key", "v") }},
	} {
		if got := tc.op(tc.in); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
