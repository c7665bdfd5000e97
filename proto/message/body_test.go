package message

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEncodeBatchGolden(t *testing.T) {
	want := unhex(t, `
		0000001E          # TOTALSIZE 30 = 22 + 2 + 6
		00000000 00000000 # MAGICCODE, BODYCRC written as 0
		00000001          # FLAG
		00000002 6869     # BODYLEN, "hi"
		0006 544147530161 # PROPLEN, "TAGS\x01a"
	`)
	got, err := EncodeBatch(nil, []BatchEntry{{Flag: 1, Body: []byte("hi"), Properties: "TAGS\x01a"}})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("encode: got %X, %v; want %X", got, err, want)
	}
	entries, err := DecodeBatch(want, 10)
	if err != nil || len(entries) != 1 || entries[0].Flag != 1 || string(entries[0].Body) != "hi" || entries[0].Properties != "TAGS\x01a" {
		t.Fatalf("decode: got %+v, %v", entries, err)
	}
}

func TestBatchRoundTrip(t *testing.T) {
	in := []BatchEntry{
		{Flag: 0, Body: []byte{}, Properties: ""},
		{Flag: -1, Body: bytes.Repeat([]byte{0xAB}, 1000), Properties: "KEYS\x01k1\x02UNIQ_KEY\x01X\x02"},
		{Flag: 7, Body: []byte("third"), Properties: strings.Repeat("p", MaxPropertiesLen)},
	}
	b, err := EncodeBatch([]byte("head"), in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "head" {
		t.Fatalf("EncodeBatch did not append")
	}
	out, err := DecodeBatch(b[4:], len(in))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(out) != len(in) {
		t.Fatalf("entries: got %d, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i].Flag != in[i].Flag || !bytes.Equal(out[i].Body, in[i].Body) || out[i].Properties != in[i].Properties {
			t.Fatalf("entry %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
	// Bodies alias the input and are capped, so appending cannot clobber the next entry.
	_ = append(out[1].Body, 1)
	if again, _ := DecodeBatch(b[4:], 0); again[2].Flag != 7 {
		t.Fatalf("append to an entry body changed the batch")
	}
}

func TestEncodeBatchErrors(t *testing.T) {
	_, err := EncodeBatch(nil, []BatchEntry{{}, {Properties: strings.Repeat("p", MaxPropertiesLen+1)}})
	if !errors.Is(err, ErrPropertiesTooLong) || !strings.Contains(err.Error(), "entry 1") {
		t.Fatalf("got %v, want ErrPropertiesTooLong naming entry 1", err)
	}
}

func TestDecodeBatchBad(t *testing.T) {
	one := func(flag int32, body, props string) []byte {
		b, err := EncodeBatch(nil, []BatchEntry{{Flag: flag, Body: []byte(body), Properties: props}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := append(one(1, "a", "k\x01v"), one(2, "bb", "")...)
	second := len(one(1, "a", "k\x01v"))
	set32 := func(b []byte, off int, v uint32) []byte {
		b = append([]byte{}, b...)
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		return b
	}
	set16 := func(b []byte, off int, v uint16) []byte {
		b = append([]byte{}, b...)
		b[off], b[off+1] = byte(v>>8), byte(v)
		return b
	}
	for _, tc := range []struct {
		name, want string
		in         []byte
		max        int
	}{
		{"empty", "empty body", nil, 0},
		{"short tail", "entry 2 at offset 50: 3 bytes left", append(append([]byte{}, good...), 1, 2, 3), 0},
		{"total below 22", "entry 0 at offset 0: total size 21", set32(good, 0, 21), 0},
		{"total negative", "entry 0 at offset 0: total size -1", set32(good, 0, 0xFFFFFFFF), 0},
		{"total beyond body", "entry 1 at offset 26: total size 100", set32(good, second, 100), 0},
		{"negative body length", "entry 0 at offset 0: body length -5", set32(good, 16, 0xFFFFFFFB), 0},
		{"body length overrun", "entry 1 at offset 26: body length 9", set32(good, second+16, 9), 0},
		{"negative properties length", "entry 0 at offset 0: total size 26, body 1 and properties -1", set16(good, 21, 0xFFFF), 0},
		{"total larger than fields", "entry 0 at offset 0: total size 26, body 1 and properties 2 need 25", set16(good, 21, 2), 0},
		{"too many entries", "more than 1 entries", good, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := DecodeBatch(tc.in, tc.max)
			if !errors.Is(err, ErrBadBatch) || out != nil {
				t.Fatalf("got %v (%d entries), want ErrBadBatch", err, len(out))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	if out, err := DecodeBatch(good, 2); err != nil || len(out) != 2 || out[1].Flag != 2 {
		t.Fatalf("exactly maxEntries: got %d entries, %v", len(out), err)
	}
}

func TestDecodeBatchEveryCut(t *testing.T) {
	b, err := EncodeBatch(nil, []BatchEntry{{Flag: 1, Body: []byte("abc"), Properties: "k\x01v"}, {Flag: 2, Body: []byte("de")}})
	if err != nil {
		t.Fatal(err)
	}
	first := BatchEntryOverhead + 3 + 3
	for cut := 0; cut < len(b); cut++ {
		if cut == first {
			// A cut at an entry boundary is a shorter, valid batch.
			if out, err := DecodeBatch(b[:cut], 0); err != nil || len(out) != 1 || string(out[0].Body) != "abc" {
				t.Fatalf("cut at boundary: got %+v, %v", out, err)
			}
			continue
		}
		if out, err := DecodeBatch(b[:cut], 0); !errors.Is(err, ErrBadBatch) {
			t.Fatalf("cut %d: got %d entries, %v; want ErrBadBatch", cut, len(out), err)
		}
	}
}

func TestCompressRoundTrip(t *testing.T) {
	body := []byte(strings.Repeat("rocketgo message body ", 400)) // 8.8 KiB, over the threshold
	for _, level := range []int{-2, -1, 0, 1, DefaultCompressLevel, 9} {
		z, err := Compress(body, level)
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if level > 0 && len(z) >= len(body)/4 {
			t.Fatalf("level %d: %d bytes from %d, not compressed", level, len(z), len(body))
		}
		got, err := Decompress(z, len(body))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("level %d: decompress got %d bytes, %v", level, len(got), err)
		}
		// The same pooled writer serves the next call correctly.
		z2, _ := Compress(body[:100], level)
		if got, err := Decompress(z2, 100); err != nil || !bytes.Equal(got, body[:100]) {
			t.Fatalf("level %d second use: %v", level, err)
		}
	}
	// RFC 1950 header of java.util.zip.Deflater at level 5: CMF 0x78, FLG 0x5E.
	z, _ := Compress(body, DefaultCompressLevel)
	if z[0] != 0x78 || z[1] != 0x5E {
		t.Fatalf("zlib header: got %X, want 785E", z[:2])
	}
	if _, err := Compress(body, 10); err == nil {
		t.Fatalf("level 10 accepted")
	}
	if CompressThreshold != 4096 {
		t.Fatalf("threshold %d, want 4096", CompressThreshold)
	}
}

func TestDecompressEmpty(t *testing.T) {
	z, err := Compress(nil, DefaultCompressLevel)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decompress(z, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDecompressBounded(t *testing.T) {
	bomb, err := Compress(make([]byte, 8<<20), 9) // 8 MiB of zeros in a few KiB
	if err != nil {
		t.Fatal(err)
	}
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	for _, max := range []int{0, 1, 4096, 1 << 20} {
		out, err := Decompress(bomb, max)
		if !errors.Is(err, ErrTooLarge) || out != nil {
			t.Fatalf("max %d: got %d bytes, %v; want ErrTooLarge", max, len(out), err)
		}
	}
	if out, err := Decompress(bomb, 8<<20); err != nil || len(out) != 8<<20 {
		t.Fatalf("exact limit: got %d bytes, %v", len(out), err)
	}
	if out, err := Decompress(bomb, -5); !errors.Is(err, ErrTooLarge) || out != nil {
		t.Fatalf("negative limit: got %v", err)
	}
	// A bounded run must not allocate anywhere near the claimed output.
	allocs := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _ = Decompress(bomb, 4096)
		}
	})
	if per := allocs.AllocedBytesPerOp(); per > 256<<10 {
		t.Fatalf("bounded decompress allocates %d bytes per call", per)
	}
}

func TestDecompressBad(t *testing.T) {
	good, _ := Compress([]byte("hello hello hello hello"), DefaultCompressLevel)
	bad := func(f func([]byte) []byte) []byte { return f(append([]byte{}, good...)) }
	for name, in := range map[string][]byte{
		"empty":          nil,
		"not zlib":       []byte("plain text body"),
		"bad header":     bad(func(b []byte) []byte { b[1] ^= 1; return b }),
		"bad checksum":   bad(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }),
		"truncated":      good[:len(good)-5],
		"header only":    good[:2],
		"corrupt stream": bad(func(b []byte) []byte { b[2] = 0xFF; b[3] = 0xFF; return b }),
	} {
		out, err := Decompress(in, 1<<20)
		if !errors.Is(err, ErrBadCompressed) || out != nil {
			t.Errorf("%s: got %q, %v; want ErrBadCompressed", name, out, err)
		}
	}
	// The pool still hands out working readers after failures.
	if out, err := Decompress(good, 100); err != nil || string(out) != "hello hello hello hello" {
		t.Fatalf("after failures: %q %v", out, err)
	}
}
