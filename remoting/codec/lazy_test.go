package codec

import (
	"bytes"
	"maps"
	"testing"
	"unsafe"
)

// lazyOdd picks the requests decoded lazily in these tests: odd codes, so that both
// choices are taken over a corpus.
func lazyOdd(code int32) bool { return code%2 != 0 }

// rangeMap collects RangeExt's entries the way the map decode applies them.
func rangeMap(c *Command) map[string]string {
	m := map[string]string{}
	c.RangeExt(func(k, v string, del bool) {
		if del {
			delete(m, k)
		} else {
			m[k] = v
		}
	})
	return m
}

// checkLazy holds the lazy decode of frame (prefix included) against the map decode:
// the same error text, the same command once loaded, and RangeExt giving the map's
// entries.
func checkLazy(t *testing.T, frame []byte, lazy func(int32) bool) {
	t.Helper()
	if len(frame) < LengthPrefixBytes {
		return
	}
	want, werr := DecodeFrameCopy(frame[LengthPrefixBytes:])
	var arena BodyArena
	got, gerr := DecodeFrameCopyLazy(frame[LengthPrefixBytes:], lazy, &arena)
	if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("lazy decode error %v, map decode error %v", gerr, werr)
	}
	lent, isLent, lerr := DecodeFrameLent(frame[LengthPrefixBytes:], lazy, &arena)
	if (lerr == nil) != (gerr == nil) || (lerr != nil && lerr.Error() != gerr.Error()) {
		t.Fatalf("lent decode error %v, lazy decode error %v", lerr, gerr)
	}
	if werr != nil {
		return
	}
	checkLent(t, frame, lent, isLent, got)
	// A JSON header whose code follows its extFields is decoded in full: still right.
	picked := !want.IsResponse() && lazy(want.Code)
	if got.HasRawExt() && !picked || !got.HasRawExt() && picked && got.Serialize == SerializeRocketMQ {
		t.Fatalf("code %d flag %d: HasRawExt %v", want.Code, want.Flag, got.HasRawExt())
	}
	if got.HasRawExt() && got.ExtFields != nil {
		t.Fatalf("lazy command has a map before LoadExt: %v", got.ExtFields)
	}
	if m := rangeMap(got); !maps.Equal(m, want.ExtFields) {
		t.Fatalf("RangeExt gives %v, map decode %v", m, want.ExtFields)
	}
	got.LoadExt()
	if got.HasRawExt() || !sameCommand(got, want) || (got.ExtFields == nil) != (want.ExtFields == nil) {
		t.Fatalf("loaded lazy command %+v, map decode %+v", got, want)
	}
	if m := rangeMap(got); !maps.Equal(m, want.ExtFields) {
		t.Fatalf("RangeExt after LoadExt gives %v, want %v", m, want.ExtFields)
	}
}

// checkLent holds a DecodeFrameLent result against DecodeFrameCopyLazy's (copied): the
// same command, the body lent (aliasing frame, no spare capacity) exactly when the
// extFields were left unparsed and there is a body.
func checkLent(t *testing.T, frame []byte, lent *Command, isLent bool, copied *Command) {
	t.Helper()
	if want := copied.HasRawExt() && len(copied.Body) > 0; isLent != want {
		t.Fatalf("body lent %v, want %v (raw extFields %v, body of %d bytes)", isLent, want, copied.HasRawExt(), len(copied.Body))
	}
	if isLent {
		end := unsafe.Pointer(unsafe.SliceData(frame[len(frame)-1:]))
		if unsafe.Pointer(unsafe.SliceData(lent.Body[len(lent.Body)-1:])) != end || cap(lent.Body) != len(lent.Body) {
			t.Fatalf("lent body does not end the frame or has spare capacity %d", cap(lent.Body)-len(lent.Body))
		}
	}
	if lent.HasRawExt() != copied.HasRawExt() || rangeMap(lent) == nil != (rangeMap(copied) == nil) || !maps.Equal(rangeMap(lent), rangeMap(copied)) {
		t.Fatalf("lent command extFields %v (raw %v), copied %v (raw %v)", rangeMap(lent), lent.HasRawExt(), rangeMap(copied), copied.HasRawExt())
	}
	a, b := *lent, *copied
	a.LoadExt()
	b.LoadExt()
	if !sameCommand(&a, &b) {
		t.Fatalf("lent command %+v, copied %+v", a, b)
	}
}

// TestDecodeFrameLentSlab: the commands DecodeFrameLent hands out are distinct, also
// across slabs, and each keeps its own fields.
func TestDecodeFrameLentSlab(t *testing.T) {
	var arena BodyArena
	var got []*Command
	for i := range 3*arenaSlab + 1 {
		c := &Command{Code: int32(i), ExtFields: map[string]string{"k": "v"}, Body: []byte{byte(i)}, Serialize: SerializeRocketMQ}
		f, err := AppendFrame(nil, c, 0)
		if err != nil {
			t.Fatal(err)
		}
		d, lent, err := DecodeFrameLent(f[LengthPrefixBytes:], lazyOdd, &arena)
		if err != nil || lent != (i%2 != 0) {
			t.Fatalf("frame %d: lent %v, err %v", i, lent, err)
		}
		got = append(got, d)
	}
	for i, c := range got {
		if c.Code != int32(i) || len(c.Body) != 1 || c.Body[0] != byte(i) {
			t.Fatalf("command %d: code %d body %v", i, c.Code, c.Body)
		}
	}
}

func TestDecodeFrameLazy(t *testing.T) {
	frames := [][]byte{
		// Java's key order: the flag after the extFields.
		frameOf(SerializeJSON, []byte(`{"code":11,"extFields":{"a":"1"},"flag":1}`), nil),
		// The code after the extFields, or twice.
		frameOf(SerializeJSON, []byte(`{"extFields":{"a":"1"},"code":11}`), nil),
		frameOf(SerializeJSON, []byte(`{"code":11,"extFields":{"a":"1"},"code":12,"extFields":{"b":"2"}}`), nil),
		frameOf(SerializeJSON, []byte(`{"code":11,"extFields":{"a":"1","a":null,"b":"x\u00e9","c":7,"d":true}}`), nil),
		frameOf(SerializeJSON, []byte(`{"code":11,"extFields":null}`), nil),
		frameOf(SerializeJSON, []byte(`{"code":11,"extFields":{"a":"1",}}`), nil),
	}
	for _, c := range []*Command{sendRequest(16), {Code: 11, ExtFields: map[string]string{"a": "1", "b": ""}}, {Code: 11}} {
		for _, typ := range []byte{SerializeJSON, SerializeRocketMQ} {
			c.Serialize = typ
			b, err := AppendFrame(nil, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, b)
		}
	}
	for _, f := range frames {
		for _, lazy := range []func(int32) bool{lazyOdd, func(int32) bool { return true }, func(int32) bool { return false }} {
			t.Run("", func(t *testing.T) {
				checkLazy(t, f, lazy)
			})
		}
	}
}

// FuzzDecodeFrameLazy holds the lazy decode against the map decode for any bytes.
func FuzzDecodeFrameLazy(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	f.Add(frameOf(SerializeJSON, []byte(`{"code":11,"extFields":{"a":"1"},"code":12,"extFields":{"b":null}}`), nil))
	f.Add(frameOf(SerializeJSON, []byte(`{"code":11,"extFields":{"a":"1"},"flag":1}`), nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLazy(t, data, lazyOdd)
		checkLazy(t, data, func(int32) bool { return true })
	})
}

// TestBodyArena: bodies copied into an arena hold their bytes when more are copied, an
// append to one cannot overwrite the next, and a large one gets its own allocation.
func TestBodyArena(t *testing.T) {
	var a BodyArena
	var got [][]byte
	for i := range 100 {
		got = append(got, a.copy(bytes.Repeat([]byte{byte(i)}, 1000)))
	}
	_ = append(got[0], 0xEE)
	for i, b := range got {
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, 1000)) || cap(b) != len(b) {
			t.Fatalf("body %d changed or has spare capacity %d", i, cap(b)-len(b))
		}
	}
	big := make([]byte, arenaMaxBody+1)
	if b := a.copy(big); len(b) != len(big) || len(a.buf) > arenaChunk {
		t.Fatalf("large body: %d bytes", len(b))
	}
}

// TestLentHeaderInArena: a send's binary header decoded with DecodeFrameLent lives in
// the arena: its strings keep their values after the frame's buffer is overwritten and
// more frames are decoded, and a warm arena decodes a frame without an allocation of
// its own.
func TestLentHeaderInArena(t *testing.T) {
	ext := map[string]string{"a": "ProducerGroup", "b": "TopicTest", "i": "KEYS\x01k1\x02"}
	req := NewRequest(311, ext, []byte("body"))
	req.Serialize, req.Remark = SerializeRocketMQ, "remark"
	frame, err := AppendFrame(nil, req, 0)
	if err != nil {
		t.Fatal(err)
	}
	var arena BodyArena
	buf := append([]byte(nil), frame[LengthPrefixBytes:]...)
	first, lent, err := DecodeFrameLent(buf, lazyOdd, &arena)
	if err != nil || !lent {
		t.Fatalf("decode: lent %v, %v", lent, err)
	}
	clear(buf) // the read buffer is reused
	for range 200 {
		copy(buf, frame[LengthPrefixBytes:])
		if _, _, err := DecodeFrameLent(buf, lazyOdd, &arena); err != nil {
			t.Fatal(err)
		}
		clear(buf)
	}
	if m := rangeMap(first); first.Remark != "remark" || !maps.Equal(m, ext) {
		t.Fatalf("after reuse: remark %q, ext %v", first.Remark, m)
	}
	copy(buf, frame[LengthPrefixBytes:])
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := DecodeFrameLent(buf, lazyOdd, &arena); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per lent decode", n)
	}
	// The map LoadExt builds owns its strings: its user may keep them.
	first.LoadExt()
	chunk := unsafe.SliceData(arena.buf)
	for k, v := range first.ExtFields {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(v))); p >= uintptr(unsafe.Pointer(chunk)) && p < uintptr(unsafe.Pointer(chunk))+uintptr(cap(arena.buf)) {
			t.Fatalf("LoadExt: value of %q lies in the arena", k)
		}
	}
	if !maps.Equal(first.ExtFields, ext) {
		t.Fatalf("LoadExt gives %v", first.ExtFields)
	}
	// A header decoded in full (an even code) owns its strings, not the arena's.
	req.Code = 310
	if frame, err = AppendFrame(nil, req, 0); err != nil {
		t.Fatal(err)
	}
	before := len(arena.buf)
	c, _, err := DecodeFrameLent(frame[LengthPrefixBytes:], lazyOdd, &arena)
	if err != nil || c.ExtFields["b"] != "TopicTest" || len(arena.buf) != before {
		t.Fatalf("full decode: %v, ext %v, arena grew %d", err, c.ExtFields, len(arena.buf)-before)
	}
}
