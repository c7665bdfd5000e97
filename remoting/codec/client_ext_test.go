package codec

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

// extMap is an ExtReader that keeps the last value of every key, as the map decode does.
type extMap map[string]string

func (m extMap) ReadExt(k, v string) { m[k] = v }

// heldExt is an ExtCommandReader: an extMap with the command answers decode into.
type heldExt struct {
	extMap
	cmd Command
}

func (h *heldExt) ExtCommand() *Command { return &h.cmd }

// heldBytesExt is a heldExt that takes binary entries as bytes (ExtBytesReader).
type heldBytesExt struct{ heldExt }

func (h *heldBytesExt) ReadExtBytes(k, v []byte) { h.extMap[string(k)] = string(v) }

// A send answer in both serializations decodes through an ExtReader to the entries,
// fields and body the map decode gives.
func TestDecodeFrameExtMatchesDecodeFrame(t *testing.T) {
	for _, ser := range []byte{SerializeRocketMQ, SerializeJSON} {
		c := &Command{Code: 0, Language: "JAVA", Version: 453, Opaque: 77, Flag: FlagResponse, Remark: "ok",
			ExtFields: map[string]string{"msgId": "7F00000100002A9F0000000000000064", "queueId": "3", "queueOffset": "12"},
			Body:      []byte("b"), Serialize: ser}
		frame, err := AppendFrame(nil, c, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodeFrameExt(t, frame[LengthPrefixBytes:])
		op, ok := ResponseOpaque(frame[LengthPrefixBytes:])
		if ser == SerializeRocketMQ && (!ok || op != 77) {
			t.Fatalf("ResponseOpaque = %d, %v; want 77, true", op, ok)
		}
		if ser == SerializeJSON && ok {
			t.Fatal("ResponseOpaque read a JSON header")
		}
	}
}

// checkDecodeFrameExt holds DecodeFrameExt to DecodeFrame on frame: both fail, or
// both give the same command and entries.
func checkDecodeFrameExt(t *testing.T, frame []byte) {
	t.Helper()
	want, werr := DecodeFrame(frame)
	got := extMap{}
	c, err := DecodeFrameExt(frame, got)
	if (werr == nil) != (err == nil) {
		t.Fatalf("DecodeFrame error %v, DecodeFrameExt error %v", werr, err)
	}
	if err != nil {
		if !errors.Is(err, ErrBadFrame) {
			t.Fatalf("error not ErrBadFrame: %v", err)
		}
		if len(got) != 0 {
			t.Fatalf("a frame that fails fed %d entries", len(got))
		}
		return
	}
	if c.Code != want.Code || c.Language != want.Language || c.Version != want.Version || c.Opaque != want.Opaque ||
		c.Flag != want.Flag || c.Remark != want.Remark || c.Serialize != want.Serialize || !bytes.Equal(c.Body, want.Body) {
		t.Fatalf("DecodeFrameExt = %+v, DecodeFrame = %+v", c, want)
	}
	if len(c.Body) > 0 && len(frame) > 0 && &c.Body[0] == &frame[len(frame)-len(c.Body)] {
		t.Fatal("body aliases the frame")
	}
	if !maps.Equal(map[string]string(got), want.ExtFields) && !(len(got) == 0 && len(want.ExtFields) == 0) {
		t.Fatalf("entries %v, map decode %v", got, want.ExtFields)
	}
	if op, ok := ResponseOpaque(frame); ok && (op != want.Opaque || !want.IsResponse() || want.Serialize != SerializeRocketMQ) {
		t.Fatalf("ResponseOpaque = %d for %+v", op, want)
	}
	// Into a held command left over from an earlier answer: overwritten whole, with the
	// same fields and entries; a binary answer uses the held command, a JSON one not.
	for _, bytesToo := range []bool{false, true} {
		checkHeldExt(t, frame, want, c, got, bytesToo)
	}
}

// checkHeldExt holds DecodeFrameExt into a held command, with the entries as strings
// or (bytesToo) as bytes, to DecodeFrameExt into a new one (c, entries got).
func checkHeldExt(t *testing.T, frame []byte, want, c *Command, got extMap, bytesToo bool) {
	t.Helper()
	h := &heldExt{extMap: extMap{}, cmd: Command{Code: 99, Language: "X", Version: 1, Opaque: -1, Flag: 3,
		Remark: "old", ExtFields: map[string]string{"old": "1"}, Body: []byte("old"), Serialize: 9}}
	var r ExtCommandReader = h
	if bytesToo {
		hb := &heldBytesExt{*h}
		r, h = hb, &hb.heldExt
	}
	hc, err := DecodeFrameExt(frame, r)
	if err != nil {
		t.Fatalf("into a held command: %v", err)
	}
	if hc.Code != c.Code || hc.Language != c.Language || hc.Version != c.Version || hc.Opaque != c.Opaque ||
		hc.Flag != c.Flag || hc.Remark != c.Remark || hc.Serialize != c.Serialize || !bytes.Equal(hc.Body, c.Body) ||
		!maps.Equal(hc.ExtFields, c.ExtFields) || (hc.Body == nil) != (c.Body == nil) {
		t.Fatalf("into a held command %+v, new command %+v", hc, c)
	}
	if (hc == &h.cmd) != (want.Serialize == SerializeRocketMQ) {
		t.Fatalf("serialize %d: held command used = %v", want.Serialize, hc == &h.cmd)
	}
	if !maps.Equal(h.extMap, got) {
		t.Fatalf("entries into a held command %v, else %v", h.extMap, got)
	}
}

// FuzzDecodeFrameExt holds the ExtReader decode to the map decode (the oracle) on any
// bytes: same acceptance, same fields, same entries (the last of a repeated key).
func FuzzDecodeFrameExt(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s[LengthPrefixBytes:])
	}
	dup := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0}
	dup = append(dup, 0, 0, 0, 22, 0, 1, 'k', 0, 0, 0, 1, 'a', 0, 1, 'k', 0, 0, 0, 1, 'b', 0, 0, 0, 0)
	f.Add(append([]byte{SerializeRocketMQ, 0, 0, byte(len(dup) - 4)}, dup[:len(dup)-4]...))
	f.Add([]byte{SerializeRocketMQ, 0, 0, 0})
	f.Add([]byte{7, 0, 0, 0})
	f.Fuzz(func(t *testing.T, frame []byte) {
		checkDecodeFrameExt(t, frame)
	})
}
