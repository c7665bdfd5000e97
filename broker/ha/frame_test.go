package ha

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

func sampleHello() Hello {
	return Hello{
		Version:      Version,
		LogID:        LogID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		BrokerID:     1,
		SegmentBytes: 1 << 30,
		Offset:       123456,
		CheckFrom:    119360,
		CheckCRC:     0xDEADBEEF,
		BrokerName:   "broker-a",
	}
}

// goldenFrames are one frame of each type, the fuzz corpus seeds.
func goldenFrames() [][]byte {
	return [][]byte{
		AppendHello(nil, sampleHello()),
		AppendWelcome(nil, Welcome{LogID: LogID{9}, Start: 1 << 20, MasterMin: 1 << 20, MasterMax: 5 << 20}),
		AppendRefuse(nil, "the slave's log differs from this master's"),
		append(AppendDataHeader(nil, 4096, []byte("record bytes")), "record bytes"...),
		AppendOffset(nil, TypeHeartbeat, 777),
		AppendOffset(nil, TypeAck, 778),
		AppendOffset(nil, TypeConfirm, 779),
	}
}

func TestFrameRoundTrip(t *testing.T) {
	h := sampleHello()
	typ, p, _, err := ReadFrame(bytes.NewReader(AppendHello(nil, h)), nil, 0)
	if err != nil || typ != TypeHello {
		t.Fatalf("read hello: type %d, %v", typ, err)
	}
	got, err := DecodeHello(p)
	if err != nil || got != h {
		t.Fatalf("hello: got %+v, %v; want %+v", got, err, h)
	}

	w := Welcome{LogID: LogID{7}, Start: 10, MasterMin: 5, MasterMax: 99}
	_, p, _, _ = ReadFrame(bytes.NewReader(AppendWelcome(nil, w)), nil, 0)
	if gw, err := DecodeWelcome(p); err != nil || gw != w {
		t.Fatalf("welcome: got %+v, %v; want %+v", gw, err, w)
	}

	data := bytes.Repeat([]byte("x"), 1000)
	frame := append(AppendDataHeader(nil, 4096, data), data...)
	typ, p, _, err = ReadFrame(bytes.NewReader(frame), nil, 1000)
	if err != nil || typ != TypeData {
		t.Fatalf("read data: %d %v", typ, err)
	}
	d, err := DecodeData(p)
	if err != nil || d.Offset != 4096 || !bytes.Equal(d.Bytes, data) {
		t.Fatalf("data: offset %d, %d bytes, %v", d.Offset, len(d.Bytes), err)
	}
	// One byte over the limit is refused before anything is read into memory.
	if _, _, _, err := ReadFrame(bytes.NewReader(frame), nil, 999); !errors.Is(err, ErrFrame) {
		t.Fatalf("data over the limit: got %v, want ErrFrame", err)
	}
	// A flipped byte fails the CRC.
	bad := bytes.Clone(frame)
	bad[len(bad)-1] ^= 1
	_, p, _, _ = ReadFrame(bytes.NewReader(bad), nil, 1000)
	if _, err := DecodeData(p); !errors.Is(err, ErrFrame) || !errors.Is(err, message.ErrCorrupt) {
		t.Fatalf("damaged data: got %v, want ErrFrame and corruption", err)
	}

	_, p, _, _ = ReadFrame(bytes.NewReader(AppendOffset(nil, TypeAck, 42)), nil, 0)
	if off, err := DecodeOffset(p); err != nil || off != 42 {
		t.Fatalf("ack: %d %v", off, err)
	}
	_, p, _, _ = ReadFrame(bytes.NewReader(AppendRefuse(nil, "why")), nil, 0)
	if r, err := DecodeRefuse(p); err != nil || r != "why" {
		t.Fatalf("refuse: %q %v", r, err)
	}
}

func TestFrameRefusals(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"bad magic", []byte{'X', 'H', TypeAck, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}, ErrFrame},
		{"unknown type", []byte{'R', 'H', 99, 0, 0, 0, 0}, ErrFrame},
		{"huge claimed length", []byte{'R', 'H', TypeData, 0xFF, 0xFF, 0xFF, 0xFF}, ErrFrame},
		{"hello too long", append([]byte{'R', 'H', TypeHello, 0, 0, 2, 0}, make([]byte, 512)...), ErrFrame},
		{"short header", []byte{'R', 'H', TypeAck}, io.ErrUnexpectedEOF},
		{"short payload", []byte{'R', 'H', TypeAck, 0, 0, 0, 8, 1, 2}, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, _, err := ReadFrame(bytes.NewReader(c.frame), nil, 1<<20); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	for name, p := range map[string][]byte{
		"hello short":        make([]byte, helloFixed-1),
		"hello name length":  append(make([]byte, 54), 5, 0, 0, 0, 0, 'a'),
		"welcome short":      make([]byte, welcomeLen-1),
		"offset short":       make([]byte, 7),
		"offset negative":    {0x80, 0, 0, 0, 0, 0, 0, 0},
		"data without bytes": make([]byte, dataHeaderLen),
	} {
		var err error
		switch {
		case len(name) > 5 && name[:5] == "hello":
			_, err = DecodeHello(p)
		case len(name) > 7 && name[:7] == "welcome":
			_, err = DecodeWelcome(p)
		case len(name) > 6 && name[:6] == "offset":
			_, err = DecodeOffset(p)
		default:
			_, err = DecodeData(p)
		}
		if !errors.Is(err, ErrFrame) {
			t.Errorf("%s: got %v, want ErrFrame", name, err)
		}
	}
}

// FuzzFrame feeds arbitrary bytes to the frame reader and the payload decoders: they
// never panic, never read a payload over the limit, and whatever decodes re-encodes to
// a frame that decodes to the same value.
func FuzzFrame(f *testing.F) {
	for _, g := range goldenFrames() {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 1 << 16
		typ, p, _, err := ReadFrame(bytes.NewReader(b), nil, limit)
		if err != nil {
			return
		}
		if max, _ := payloadLimit(typ, limit); len(p) > max {
			t.Fatalf("type %d payload of %d bytes over its limit %d", typ, len(p), max)
		}
		var again []byte
		var first any
		switch typ {
		case TypeHello:
			h, err := DecodeHello(p)
			if err != nil {
				return
			}
			first, again = h, AppendHello(nil, h)
		case TypeWelcome:
			w, err := DecodeWelcome(p)
			if err != nil {
				return
			}
			first, again = w, AppendWelcome(nil, w)
		case TypeRefuse:
			r, err := DecodeRefuse(p)
			if err != nil {
				return
			}
			first, again = r, AppendRefuse(nil, r)
		case TypeData:
			d, err := DecodeData(p)
			if err != nil {
				return
			}
			d.Bytes = bytes.Clone(d.Bytes)
			first, again = d, append(AppendDataHeader(nil, d.Offset, d.Bytes), d.Bytes...)
		case TypeHeartbeat, TypeAck, TypeConfirm:
			off, err := DecodeOffset(p)
			if err != nil {
				return
			}
			first, again = off, AppendOffset(nil, typ, off)
		}
		typ2, p2, _, err := ReadFrame(bytes.NewReader(again), nil, limit)
		if err != nil || typ2 != typ {
			t.Fatalf("re-encoded frame: type %d, %v", typ2, err)
		}
		var second any
		switch typ {
		case TypeHello:
			second, err = DecodeHello(p2)
		case TypeWelcome:
			second, err = DecodeWelcome(p2)
		case TypeRefuse:
			second, err = DecodeRefuse(p2)
		case TypeData:
			var d Data
			d, err = DecodeData(p2)
			d.Bytes = bytes.Clone(d.Bytes)
			second = d
		default:
			second, err = DecodeOffset(p2)
		}
		if err != nil || !reflect.DeepEqual(first, second) {
			t.Fatalf("round trip of type %d: %+v, then %+v (%v)", typ, first, second, err)
		}
	})
}
