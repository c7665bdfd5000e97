package remoting

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// fuzzFrameLimit lets re-encoding grow a header (JSON escaping can expand it) without
// hitting the production limit; the property is about values, not sizes.
const fuzzFrameLimit = 1 << 30

// seedFrames returns whole frames (prefix included) for the fuzz corpora: the golden
// headers, both serializations, with and without bodies.
func seedFrames(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		h, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, frameOf(SerializeJSON, h, nil), frameOf(SerializeJSON, h, []byte("body")))
	}
	for _, c := range []*Command{
		sendRequest(64),
		{Code: 10, Language: "JAVA", Version: 407, Opaque: 1 << 20, Flag: 3, Remark: "ré\"mark\n",
			ExtFields: map[string]string{"a": "1", "": "", "k\u2028": "\xff"}, Body: []byte{0, 1, 2}},
		NewRequest(105, map[string]string{"topic": "T"}, nil).NewResponse(17, "no route"),
	} {
		for _, typ := range []byte{SerializeJSON, SerializeRocketMQ} {
			c.Serialize = typ
			b, err := AppendFrame(nil, c, 0)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// sameCommand compares decoded commands, treating nil and empty maps and bodies alike.
func sameCommand(a, b *Command) bool {
	return a.Code == b.Code && a.Language == b.Language && a.Version == b.Version &&
		a.Opaque == b.Opaque && a.Flag == b.Flag && a.Remark == b.Remark &&
		a.Serialize == b.Serialize && bytes.Equal(a.Body, b.Body) && maps.Equal(a.ExtFields, b.ExtFields)
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 4, 7, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := FrameLength(data, 0)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("FrameLength error not a package error: %v", err)
			}
			return
		}
		if n > len(data)-4 {
			n = len(data) - 4 // a short read: decode what is there
		}
		c, err := DecodeFrame(data[4 : 4+n])
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("DecodeFrame error not ErrBadFrame: %v", err)
			}
			return
		}
		enc, err := AppendFrame(nil, c, fuzzFrameLimit)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", c, err)
		}
		n2, err := FrameLength(enc, fuzzFrameLimit)
		if err != nil || n2 != len(enc)-4 {
			t.Fatalf("re-encoded length: %d, %v (frame %d bytes)", n2, err, len(enc))
		}
		c2, err := DecodeFrame(enc[4:])
		if err != nil {
			t.Fatalf("decode re-encoded frame: %v\n%q", err, enc)
		}
		if !sameCommand(c, c2) {
			t.Fatalf("round trip differs:\n first %+v\nsecond %+v", c, c2)
		}
	})
}

// headerOf returns the header bytes of a whole frame.
func headerOf(frame []byte) []byte {
	hlen := int(uint32(frame[5])<<16 | uint32(frame[6])<<8 | uint32(frame[7]))
	return frame[8 : 8+hlen]
}

func FuzzJSONHeader(f *testing.F) {
	for _, s := range seedFrames(f) {
		if s[4] == SerializeJSON {
			f.Add(headerOf(s))
		}
	}
	for _, s := range []string{
		`{"extFields":{"n":42,"f":-1.5e3,"t":true,"x":null}}`,
		`{"x":[{"a":[]},{}],"remark":"\ud83c\udf89\ud83c"}`,
		`{"code":-32768,"opaque":2147483647,"flag":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, h []byte) {
		var c Command
		if err := decodeJSONHeader(h, &c); err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error not ErrBadFrame: %v", err)
			}
			return
		}
		// Whatever we accept is JSON.
		if !json.Valid(h) {
			t.Fatalf("accepted invalid JSON: %q", h)
		}
		enc := appendJSONHeader(nil, &c)
		if !json.Valid(enc) {
			t.Fatalf("encoded invalid JSON: %q", enc)
		}
		var c2 Command
		if err := decodeJSONHeader(enc, &c2); err != nil {
			t.Fatalf("decode re-encoded header %q: %v", enc, err)
		}
		if !sameCommand(&c, &c2) {
			t.Fatalf("round trip differs:\n first %+v\nsecond %+v\n%s", c, c2, enc)
		}
		// encoding/json reads our output to the same values (the Go client's view).
		var std struct {
			Code      int16             `json:"code"`
			Language  string            `json:"language"`
			Version   int32             `json:"version"`
			Opaque    int32             `json:"opaque"`
			Flag      int32             `json:"flag"`
			Remark    string            `json:"remark"`
			ExtFields map[string]string `json:"extFields"`
		}
		if err := json.Unmarshal(enc, &std); err != nil {
			t.Fatalf("encoding/json rejects our header %q: %v", enc, err)
		}
		if std.Code != c.Code || std.Language != c.Language || std.Version != c.Version || std.Opaque != c.Opaque ||
			std.Flag != c.Flag || std.Remark != c.Remark || !maps.Equal(std.ExtFields, c.ExtFields) {
			t.Fatalf("encoding/json reads %+v, we read %+v", std, c)
		}
	})
}

func FuzzRocketMQHeader(f *testing.F) {
	for _, s := range seedFrames(f) {
		if s[4] == SerializeRocketMQ {
			f.Add(headerOf(s))
		}
	}
	f.Add(make([]byte, rmqFixedBytes))
	f.Fuzz(func(t *testing.T, h []byte) {
		var c Command
		if err := decodeRocketMQHeader(h, &c); err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error not ErrBadFrame: %v", err)
			}
			return
		}
		c.Serialize = SerializeRocketMQ
		enc, err := appendRocketMQHeader(nil, &c)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", c, err)
		}
		if len(enc) > len(h) {
			t.Fatalf("re-encoded header grew: %d > %d bytes", len(enc), len(h))
		}
		var c2 Command
		if err := decodeRocketMQHeader(enc, &c2); err != nil {
			t.Fatalf("decode re-encoded header: %v", err)
		}
		c2.Serialize = SerializeRocketMQ
		if !sameCommand(&c, &c2) {
			t.Fatalf("round trip differs:\n first %+v\nsecond %+v", c, c2)
		}
	})
}
