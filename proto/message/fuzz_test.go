package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"net/netip"
	"strings"
	"testing"
)

// recordSeeds returns golden records for the fuzzers: IPv4, IPv6, empty fields, a blank
// and a run of two records.
func recordSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	for _, m := range viewVariants() {
		seeds = append(seeds, mustEncode(f, m))
	}
	empty := &Ext{}
	seeds = append(seeds, mustEncode(f, empty))
	blank := make([]byte, 16)
	EncodeBlank(blank)
	seeds = append(seeds, blank, append(mustEncode(f, sampleExt()), mustEncode(f, empty)...))
	return seeds
}

func FuzzDecodeRecord(f *testing.F) {
	for _, s := range recordSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRecord(t, b)
		// Random bytes almost never carry a matching CRC; fix it up so the fuzzer also
		// explores everything behind the CRC check.
		if l, err := scan(b); err == nil {
			fixed := append([]byte{}, b...)
			binary.BigEndian.PutUint32(fixed[offBodyCRC:], BodyCRC(fixed[l.bodyOff:l.bodyOff+l.bodyLen]))
			checkRecord(t, fixed)
		}
	})
}

// checkRecord asserts the record properties on arbitrary input: no panic, errors wrap a
// sentinel, views agree with DecodeRecord, and whatever decodes re-encodes to bytes that
// decode to the same value (byte for byte when the raw properties are kept).
func checkRecord(t *testing.T, b []byte) {
	t.Helper()
	m, n, err := DecodeRecord(b)
	vn, verr := VerifyRecord(b)
	// ScanRecord accepts whatever VerifyRecord accepts, with the same size, and
	// disagrees with it only on the body CRC.
	if sn, serr := ScanRecord(b); (verr == nil && (serr != nil || sn != vn)) ||
		(verr != nil && serr == nil && !strings.Contains(verr.Error(), "body crc")) {
		t.Fatalf("verify n=%d err=%v, scan n=%d err=%v", vn, verr, sn, serr)
	}
	// Views must never panic, whatever the bytes.
	_, _, _, _ = RecordTopic(b), RecordBody(b), RecordProperties(b), RecordStoreHost(b)
	_, _ = RecordBornHost(b), RecordPreparedTransactionOffset(b)
	if err != nil {
		if m != nil {
			t.Fatalf("error %v with a message", err)
		}
		if !errors.Is(err, ErrBlank) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if verr == nil && !errors.Is(err, ErrCorrupt) {
			// Only DecodeRecord's host checks go beyond VerifyRecord.
			t.Fatalf("verify ok but decode %v", err)
		}
		return
	}
	if verr != nil || vn != n || n > len(b) || n < FixedOverheadV4 {
		t.Fatalf("decode n=%d, verify n=%d err=%v, len %d", n, vn, verr, len(b))
	}
	rec := b[:n]
	if RecordTopic(rec) != m.Topic || !bytes.Equal(RecordBody(rec), m.Body) ||
		RecordStoreTimestamp(rec) != m.StoreTimestamp || RecordBornHost(rec) != m.BornHost ||
		RecordStoreHost(rec) != m.StoreHost || RecordReconsumeTimes(rec) != m.ReconsumeTimes ||
		RecordPreparedTransactionOffset(rec) != m.PreparedTransactionOffset ||
		!maps.Equal(DecodeProperties(string(RecordProperties(rec))), m.Properties) {
		t.Fatalf("views disagree with decode: %+v", m)
	}
	again, err := EncodeRecord(nil, m)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	m2, n2, err := DecodeRecord(again)
	if err != nil || n2 != len(again) {
		t.Fatalf("decode of re-encoded: n=%d err=%v", n2, err)
	}
	equalExt(t, m2, m)
	verbatim, err := EncodeRecordProps(nil, m, string(RecordProperties(rec)))
	if err != nil || !bytes.Equal(verbatim, rec) {
		t.Fatalf("verbatim re-encode differs (%v):\n got %X\nwant %X", err, verbatim, rec)
	}
}

func FuzzDecodeProperties(f *testing.F) {
	for _, s := range []string{
		"", "TAGS\x01a", "TAGS\x01a\x02KEYS\x01k1 k2\x02", "\x01\x02\x01", "k\x01a\x01b\x02k\x01c",
		EncodeProperties(sampleExt().Properties), "WAIT\x01true\x02CLUSTER\x01c\x02",
	} {
		f.Add(s, "TAGS")
	}
	f.Fuzz(func(t *testing.T, s, key string) {
		m := DecodeProperties(s)
		enc := EncodeProperties(m)
		if len(enc) > len(s) {
			t.Fatalf("re-encoding grew %d -> %d bytes", len(s), len(enc))
		}
		if got := DecodeProperties(enc); !maps.Equal(got, m) {
			t.Fatalf("round trip: got %q, want %q", got, m)
		}
		if got := DecodeProperties(enc + "\x02"); !maps.Equal(got, m) {
			t.Fatalf("go form round trip: got %q, want %q", got, m)
		}
		for k, v := range m {
			if pv, ok := PropertyOf([]byte(s), k); !ok || pv != v {
				t.Fatalf("PropertyOf(%q): got %q %v, want %q", k, pv, ok, v)
			}
		}
		pv, ok := PropertyOf([]byte(s), key)
		if mv, mok := m[key]; ok != mok || pv != mv {
			t.Fatalf("PropertyOf(%q): got %q %v, map has %q %v", key, pv, ok, mv, mok)
		}
		removed := DecodeProperties(RemoveProperty(s, key))
		want := maps.Clone(m)
		delete(want, key)
		if !maps.Equal(removed, want) {
			t.Fatalf("RemoveProperty(%q): got %q, want %q", key, removed, want)
		}
		set := DecodeProperties(SetProperty(s, key, "v"))
		if validPair(key, "v") {
			want[key] = "v"
		}
		if !maps.Equal(set, want) {
			t.Fatalf("SetProperty(%q): got %q, want %q", key, set, want)
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	seed, _ := EncodeBatch(nil, []BatchEntry{
		{Flag: 1, Body: []byte("hello"), Properties: "TAGS\x01a\x02"},
		{Flag: 0, Body: nil, Properties: ""},
		{Flag: -7, Body: bytes.Repeat([]byte{0xFF}, 40), Properties: "KEYS\x01k"},
	})
	f.Add(seed, 0)
	f.Add(seed, 2)
	f.Add(seed[:30], 1)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		entries, err := DecodeBatch(body, max)
		if err != nil {
			if !errors.Is(err, ErrBadBatch) || entries != nil {
				t.Fatalf("error %v with %d entries", err, len(entries))
			}
			return
		}
		if len(entries) == 0 || (max > 0 && len(entries) > max) {
			t.Fatalf("%d entries for max %d", len(entries), max)
		}
		again, err := EncodeBatch(nil, entries)
		if err != nil || len(again) != len(body) {
			t.Fatalf("re-encode: %d bytes (input %d), %v", len(again), len(body), err)
		}
		// Identical except MAGICCODE and BODYCRC, which are written as 0.
		for off := 0; off < len(body); {
			size := RecordTotalSize(body[off:])
			for i := off; i < off+size; i++ {
				if i-off >= 4 && i-off < 12 {
					continue
				}
				if again[i] != body[i] {
					t.Fatalf("re-encoded byte %d differs", i)
				}
			}
			off += size
		}
		entries2, err := DecodeBatch(again, max)
		if err != nil || len(entries2) != len(entries) {
			t.Fatalf("decode of re-encoded: %d entries, %v", len(entries2), err)
		}
		for i := range entries {
			if entries2[i].Flag != entries[i].Flag || !bytes.Equal(entries2[i].Body, entries[i].Body) ||
				entries2[i].Properties != entries[i].Properties {
				t.Fatalf("entry %d differs after round trip", i)
			}
		}
	})
}

func FuzzParseMsgID(f *testing.F) {
	f.Add("0A00000100002A9F0000000000001000")
	f.Add("20010DB800000000000000000000000100002A9F000000000000002A")
	f.Add("C0A800640F3A000000001a2b3c4d00ff")
	f.Fuzz(func(t *testing.T, id string) {
		if h, off, err := ParseOffsetMsgID(id); err == nil {
			again := OffsetMsgID(h, off)
			h2, off2, err := ParseOffsetMsgID(again)
			if err != nil || h2 != netip.AddrPortFrom(h.Addr().Unmap(), h.Port()) || off2 != off {
				t.Fatalf("offset id %q -> %v %d -> %q -> %v %d %v", id, h, off, again, h2, off2, err)
			}
		} else if !errors.Is(err, ErrBadMsgID) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if u, err := ParseUniqID(id); err == nil {
			if !IsUniqIDHex(id) || (len(id) == UniqIDLenV4) != u.IP.Is4() {
				t.Fatalf("uniq id %q parsed to %+v", id, u)
			}
		} else if IsUniqIDHex(id) {
			t.Fatalf("hex id %q not parsed: %v", id, err)
		}
	})
}

func FuzzDecompress(f *testing.F) {
	z, _ := Compress([]byte("hello hello hello hello"), DefaultCompressLevel)
	f.Add(z, 100)
	f.Add(z, 3)
	f.Add([]byte{0x78, 0x9C}, 10)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		max %= 1 << 20
		out, err := Decompress(body, max)
		if err != nil {
			if out != nil || !(errors.Is(err, ErrBadCompressed) || errors.Is(err, ErrTooLarge)) {
				t.Fatalf("error %v with %d bytes", err, len(out))
			}
			return
		}
		if len(out) > max && !(max < 0 && len(out) == 0) {
			t.Fatalf("%d bytes for max %d", len(out), max)
		}
		z, err := Compress(out, DefaultCompressLevel)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decompress(z, len(out))
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
