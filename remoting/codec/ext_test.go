package codec

import (
	"encoding/binary"
	"errors"
	"maps"
	"strings"
	"testing"
)

// testExt is an ExtWriter with every kind of entry, including a string that needs JSON
// escaping and a negative number.
type testExt struct{ long string }

func (w testExt) WriteExt(e ExtEncoder) ExtEncoder {
	e.Str("a", "group")
	e.Str("quote", "x\"y\\z\n\x01")
	e.Int("neg", -42)
	e.Int("big", 1726731935123)
	e.Bool("t", true)
	e.Bool("f", false)
	if w.long != "" {
		e.Str(w.long, "v")
	}
	return e
}

// TestExtWriterMatchesMap: a command whose extFields come from an ExtWriter decodes, in
// both serializations, to exactly the command built with the map ExtMap returns, and
// the ROCKETMQ bytes are those the map encoder writes for a one-entry header.
func TestExtWriterMatchesMap(t *testing.T) {
	want := map[string]string{"a": "group", "quote": "x\"y\\z\n\x01", "neg": "-42", "big": "1726731935123", "t": "true", "f": "false"}
	if got := ExtMap(testExt{}); !maps.Equal(got, want) {
		t.Fatalf("ExtMap: got %v, want %v", got, want)
	}
	for _, ser := range []byte{SerializeJSON, SerializeRocketMQ} {
		viaWriter := &Command{Code: 310, Language: "GO", Version: 317, Opaque: 7, Ext: testExt{}, Body: []byte("body"), Serialize: ser}
		f, err := AppendFrame(nil, viaWriter, 0)
		if err != nil {
			t.Fatalf("serialize %d: %v", ser, err)
		}
		d, err := DecodeFrame(f[LengthPrefixBytes:])
		if err != nil {
			t.Fatalf("serialize %d: decode: %v", ser, err)
		}
		if d.Code != 310 || d.Opaque != 7 || d.Language != "GO" || d.Version != 317 || d.Serialize != ser ||
			string(d.Body) != "body" || !maps.Equal(d.ExtFields, want) {
			t.Fatalf("serialize %d: decoded %+v", ser, d)
		}
	}
	// Byte-for-byte: one entry has one order, so writer and map must agree exactly.
	one := oneExt{}
	for _, ser := range []byte{SerializeJSON, SerializeRocketMQ} {
		a, _ := AppendFrame(nil, &Command{Code: 310, Language: "GO", Version: 317, Ext: one, Serialize: ser}, 0)
		b, _ := AppendFrame(nil, &Command{Code: 310, Language: "GO", Version: 317, ExtFields: map[string]string{"g": "-1726731935123"}, Serialize: ser}, 0)
		if string(a) != string(b) {
			t.Fatalf("serialize %d: writer frame %q, map frame %q", ser, a, b)
		}
	}
	// The ROCKETMQ entry layout: keyLen int16, key, valueLen int32, value.
	h, _ := AppendHeader(nil, &Command{Code: 310, Language: "GO", Ext: one, Serialize: SerializeRocketMQ})
	ext := h[rmqFixedBytes:]
	if binary.BigEndian.Uint16(ext) != 1 || ext[2] != 'g' || binary.BigEndian.Uint32(ext[3:]) != 14 || string(ext[7:]) != "-1726731935123" {
		t.Fatalf("ROCKETMQ entry bytes %x", ext)
	}
}

type oneExt struct{}

func (oneExt) WriteExt(e ExtEncoder) ExtEncoder { e.Int("g", -1726731935123); return e }

// TestExtWriterTooLarge: a key the ROCKETMQ header cannot hold fails the encoding
// instead of writing a corrupt length.
func TestExtWriterTooLarge(t *testing.T) {
	c := &Command{Code: 310, Ext: testExt{long: strings.Repeat("k", 1<<15)}, Serialize: SerializeRocketMQ}
	if _, err := AppendFrame(nil, c, 0); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("32 KiB key: got %v, want ErrFrameTooLarge", err)
	}
}
