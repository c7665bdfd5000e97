package message

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"net/netip"
	"strings"
	"testing"
)

// sampleExt returns a record with every field set to a distinct value.
func sampleExt() *Ext {
	return &Ext{
		Topic:                     "TopicTest",
		QueueID:                   3,
		Flag:                      0x11,
		QueueOffset:               42,
		PhysicalOffset:            0x1000,
		SysFlag:                   TxCommitType | FlagMultiTags,
		BornTimestamp:             0x0000018BCFE56800,
		BornHost:                  netip.MustParseAddrPort("192.168.0.10:50123"),
		StoreTimestamp:            0x0000018BCFE56901,
		StoreHost:                 netip.MustParseAddrPort("10.0.0.1:10911"),
		ReconsumeTimes:            2,
		PreparedTransactionOffset: 0x77,
		Body:                      []byte("hello, rocketgo"),
		Properties:                map[string]string{PropTags: "TagA", PropKeys: "k1"},
	}
}

// mustEncode encodes m or fails the test.
func mustEncode(t testing.TB, m *Ext) []byte {
	t.Helper()
	b, err := EncodeRecord(nil, m)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// unhex decodes hex written with spaces and newlines between fields; "#" starts a
// comment that runs to the end of the line.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var sb strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// equalExt fails the test unless got and want hold the same field values.
func equalExt(t testing.TB, got, want *Ext) {
	t.Helper()
	if got.Topic != want.Topic || got.QueueID != want.QueueID || got.Flag != want.Flag ||
		got.QueueOffset != want.QueueOffset || got.PhysicalOffset != want.PhysicalOffset ||
		got.SysFlag != want.SysFlag || got.BornTimestamp != want.BornTimestamp ||
		got.BornHost != want.BornHost || got.StoreTimestamp != want.StoreTimestamp ||
		got.StoreHost != want.StoreHost || got.ReconsumeTimes != want.ReconsumeTimes ||
		got.PreparedTransactionOffset != want.PreparedTransactionOffset ||
		got.BodyCRC != want.BodyCRC || !bytes.Equal(got.Body, want.Body) ||
		!maps.Equal(got.Properties, want.Properties) {
		t.Fatalf("ext mismatch:\n got %+v\nwant %+v", got, want)
	}
}

func TestEncodeRecordGoldenIPv4(t *testing.T) {
	// Expected bytes written out field by field (docs/protocol.md §4.1). Body "hello, rocketgo"
	// has CRC32 IEEE 0xA40FFDB5; masked to 31 bits as Java stores it: 0x240FFDB5.
	// Size: 91 fixed + 15 body + 9 topic + 17 properties = 132 = 0x84.
	want := unhex(t, `
		00000084                                  # TOTALSIZE 132
		DAA320A7                                  # MAGICCODE
		240FFDB5                                  # BODYCRC
		00000003                                  # QUEUEID 3
		00000011                                  # FLAG 0x11
		000000000000002A                          # QUEUEOFFSET 42
		0000000000001000                          # PHYSICALOFFSET 0x1000
		0000000A                                  # SYSFLAG commit|multi-tags
		0000018BCFE56800                          # BORNTIMESTAMP
		C0A8000A 0000C3CB                         # BORNHOST 192.168.0.10:50123
		0000018BCFE56901                          # STORETIMESTAMP
		0A000001 00002A9F                         # STOREHOST 10.0.0.1:10911
		00000002                                  # RECONSUMETIMES 2
		0000000000000077                          # PREPAREDTRANSACTIONOFFSET
		0000000F 68656C6C6F2C20726F636B6574676F   # BODYLENGTH 15, "hello, rocketgo"
		09 546F70696354657374                     # TOPICLENGTH 9, "TopicTest"
		0011 4B455953016B3102544147530154616741   # PROPERTIESLENGTH 17, "KEYS\x01k1\x02TAGS\x01TagA"
	`)
	got := mustEncode(t, sampleExt())
	if !bytes.Equal(got, want) {
		t.Fatalf("encode:\n got %X\nwant %X", got, want)
	}
	if n := RecordSize(15, 9, 17, 0); n != len(want) {
		t.Fatalf("RecordSize: got %d, want %d", n, len(want))
	}
	if RecordSize(0, 0, 0, 0) != FixedOverheadV4 || FixedOverheadV4 != 91 {
		t.Fatalf("fixed overhead: got %d, want 91", RecordSize(0, 0, 0, 0))
	}
	m, n, err := DecodeRecord(got)
	if err != nil || n != len(want) {
		t.Fatalf("decode: n=%d err=%v", n, err)
	}
	exp := sampleExt()
	exp.BodyCRC = 0x240FFDB5
	equalExt(t, m, exp)
}

func TestEncodeRecordGoldenIPv6(t *testing.T) {
	m := sampleExt()
	m.BornHost = netip.MustParseAddrPort("[2001:db8::1]:50123")
	m.StoreHost = netip.MustParseAddrPort("[fe80::2]:10911")
	m.Body = nil
	m.Properties = nil
	m.Topic = "T"
	want := unhex(t, `
		00000074                                  # TOTALSIZE 116 = 115 + 1 topic byte
		DAA320A7 00000000                         # MAGICCODE, BODYCRC of empty body
		00000003 00000011                         # QUEUEID, FLAG
		000000000000002A 0000000000001000         # QUEUEOFFSET, PHYSICALOFFSET
		0000003A                                  # SYSFLAG 0xA | 0x10 | 0x20
		0000018BCFE56800                          # BORNTIMESTAMP at 40
		20010DB8000000000000000000000001 0000C3CB # BORNHOST at 48
		0000018BCFE56901                          # STORETIMESTAMP at 68
		FE800000000000000000000000000002 00002A9F # STOREHOST at 76
		00000002                                  # RECONSUMETIMES at 96
		0000000000000077                          # PREPAREDTRANSACTIONOFFSET at 100
		00000000                                  # BODYLENGTH at 108
		01 54                                     # TOPICLENGTH at 112, "T"
		0000                                      # PROPERTIESLENGTH at 114
	`)
	got := mustEncode(t, m)
	if !bytes.Equal(got, want) {
		t.Fatalf("encode:\n got %X\nwant %X", got, want)
	}
	if n := RecordSize(0, 1, 0, FlagBornHostV6|FlagStoreHostV6); n != len(want) {
		t.Fatalf("RecordSize: got %d, want %d", n, len(want))
	}
	d, _, err := DecodeRecord(got)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	m.SysFlag |= FlagBornHostV6 | FlagStoreHostV6
	m.Body = []byte{}
	m.Properties = map[string]string{}
	equalExt(t, d, m)
}

func TestRecordSizeTable(t *testing.T) {
	for _, tc := range []struct {
		body, topic, props int
		sys                int32
		want               int
	}{
		{0, 0, 0, 0, 91},
		{1024, 9, 40, 0, 91 + 1024 + 9 + 40},
		{0, 0, 0, FlagBornHostV6, 103},
		{0, 0, 0, FlagStoreHostV6, 103},
		{0, 0, 0, FlagBornHostV6 | FlagStoreHostV6, 115},
		{5, 127, 32767, FlagCompressed | TxPreparedType, 91 + 5 + 127 + 32767},
	} {
		if got := RecordSize(tc.body, tc.topic, tc.props, tc.sys); got != tc.want {
			t.Errorf("RecordSize(%d,%d,%d,%#x): got %d, want %d", tc.body, tc.topic, tc.props, tc.sys, got, tc.want)
		}
	}
}

func TestRecordRoundTripTable(t *testing.T) {
	v4 := netip.MustParseAddrPort("127.0.0.1:1")
	v6 := netip.MustParseAddrPort("[::1]:65535")
	longProps := map[string]string{"K": strings.Repeat("v", MaxPropertiesLen-2)}
	for name, mod := range map[string]func(*Ext){
		"empty body":        func(m *Ext) { m.Body = []byte{} },
		"empty topic":       func(m *Ext) { m.Topic = "" },
		"max topic":         func(m *Ext) { m.Topic = strings.Repeat("t", MaxTopicLen) },
		"max properties":    func(m *Ext) { m.Properties = longProps },
		"no properties":     func(m *Ext) { m.Properties = map[string]string{} },
		"born v6":           func(m *Ext) { m.BornHost = v6; m.StoreHost = v4 },
		"store v6":          func(m *Ext) { m.BornHost = v4; m.StoreHost = v6 },
		"negative numbers":  func(m *Ext) { m.QueueID, m.Flag, m.QueueOffset, m.ReconsumeTimes = -1, -2, -3, -4 },
		"binary body":       func(m *Ext) { m.Body = []byte{0, 1, 2, 0xFF, 0xDA, 0xA3, 0x20, 0xA7} },
		"compressed":        func(m *Ext) { m.SysFlag |= FlagCompressed },
		"utf8 topic/values": func(m *Ext) { m.Topic = "主题"; m.Properties = map[string]string{PropTags: "标签"} },
	} {
		t.Run(name, func(t *testing.T) {
			m := sampleExt()
			mod(m)
			b := mustEncode(t, m)
			want := RecordSize(len(m.Body), len(m.Topic), len(EncodeProperties(m.Properties)), hostSysFlag(m.SysFlag, m.BornHost, m.StoreHost))
			if len(b) != want {
				t.Fatalf("size: got %d, want %d", len(b), want)
			}
			d, n, err := DecodeRecord(b)
			if err != nil || n != len(b) {
				t.Fatalf("decode: n=%d err=%v", n, err)
			}
			m.SysFlag = hostSysFlag(m.SysFlag, m.BornHost, m.StoreHost)
			m.BodyCRC = BodyCRC(m.Body)
			if m.Body == nil {
				m.Body = []byte{}
			}
			equalExt(t, d, m)
			if again := mustEncode(t, d); !bytes.Equal(again, b) {
				t.Fatalf("re-encode differs:\n got %X\nwant %X", again, b)
			}
		})
	}
}

func TestSysFlagBitsRoundTrip(t *testing.T) {
	v4 := netip.MustParseAddrPort("1.2.3.4:5")
	v6 := netip.MustParseAddrPort("[2001:db8::5]:6")
	for bit := 0; bit < 31; bit++ {
		flag := int32(1) << bit
		for _, hosts := range [][2]netip.AddrPort{{v4, v4}, {v6, v4}, {v4, v6}, {v6, v6}} {
			m := sampleExt()
			m.SysFlag = flag
			m.BornHost, m.StoreHost = hosts[0], hosts[1]
			b := mustEncode(t, m)
			d, _, err := DecodeRecord(b)
			if err != nil {
				t.Fatalf("bit %d: decode: %v", bit, err)
			}
			want := flag &^ (FlagBornHostV6 | FlagStoreHostV6)
			if hosts[0].Addr().Is6() {
				want |= FlagBornHostV6
			}
			if hosts[1].Addr().Is6() {
				want |= FlagStoreHostV6
			}
			if d.SysFlag != want || RecordSysFlag(b) != want {
				t.Fatalf("bit %d hosts %v: sysflag got %#x (view %#x), want %#x", bit, hosts, d.SysFlag, RecordSysFlag(b), want)
			}
			if d.BornHost != hosts[0] || d.StoreHost != hosts[1] {
				t.Fatalf("bit %d: hosts got %v %v, want %v", bit, d.BornHost, d.StoreHost, hosts)
			}
		}
	}
	if TxType(TxRollbackType|FlagCompressed|FlagBornHostV6) != TxRollbackType {
		t.Fatalf("TxType did not mask the transaction bits")
	}
}

func TestEncodeRecordMappedAndZeroHosts(t *testing.T) {
	m := sampleExt()
	// net.TCPAddr.AddrPort gives IPv4-mapped addresses for IPv4 peers; they are stored
	// as IPv4 so the record stays in the 91-byte form the Go client expects.
	m.BornHost = netip.MustParseAddrPort("[::ffff:127.0.0.1]:9")
	m.StoreHost = netip.AddrPort{}
	b := mustEncode(t, m)
	if RecordSysFlag(b)&(FlagBornHostV6|FlagStoreHostV6) != 0 {
		t.Fatalf("host bits set for mapped/zero hosts: %#x", RecordSysFlag(b))
	}
	d, _, err := DecodeRecord(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if want := netip.MustParseAddrPort("127.0.0.1:9"); d.BornHost != want {
		t.Fatalf("born host: got %v, want %v", d.BornHost, want)
	}
	if want := netip.MustParseAddrPort("0.0.0.0:0"); d.StoreHost != want {
		t.Fatalf("store host: got %v, want %v", d.StoreHost, want)
	}
}

func TestEncodeRecordLimits(t *testing.T) {
	m := sampleExt()
	m.Topic = strings.Repeat("x", MaxTopicLen+1)
	dst := []byte("prefix")
	out, err := EncodeRecord(dst, m)
	if !errors.Is(err, ErrTopicTooLong) || string(out) != "prefix" {
		t.Fatalf("long topic: got %q, %v; want prefix, ErrTopicTooLong", out, err)
	}
	m = sampleExt()
	m.Properties = map[string]string{"K": strings.Repeat("v", MaxPropertiesLen-1)} // 32768 encoded
	if _, err := EncodeRecord(nil, m); !errors.Is(err, ErrPropertiesTooLong) {
		t.Fatalf("long properties: got %v, want ErrPropertiesTooLong", err)
	}
	if _, err := EncodeRecordProps(nil, sampleExt(), strings.Repeat("p", MaxPropertiesLen+1)); !errors.Is(err, ErrPropertiesTooLong) {
		t.Fatalf("long raw properties: got %v, want ErrPropertiesTooLong", err)
	}
	// Appends after existing bytes.
	out, err = EncodeRecord([]byte{9, 9}, sampleExt())
	if err != nil || out[0] != 9 || out[1] != 9 || RecordTotalSize(out[2:]) != len(out)-2 {
		t.Fatalf("append: err=%v prefix=%v size=%d len=%d", err, out[:2], RecordTotalSize(out[2:]), len(out)-2)
	}
}

func TestEncodeRecordPropsVerbatim(t *testing.T) {
	props := "WAIT\x01true\x02TAGS\x01a\x02" // Go client form, kept byte for byte
	b, err := EncodeRecordProps(nil, sampleExt(), props)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if got := string(RecordProperties(b)); got != props {
		t.Fatalf("properties: got %q, want %q", got, props)
	}
	if v, ok := PropertyOf(RecordProperties(b), PropTags); !ok || v != "a" {
		t.Fatalf("PropertyOf TAGS: got %q %v", v, ok)
	}
}

func TestDecodeRecordEveryCut(t *testing.T) {
	for _, m := range []*Ext{sampleExt(), func() *Ext {
		m := sampleExt()
		m.BornHost = netip.MustParseAddrPort("[2001:db8::1]:1")
		return m
	}()} {
		b := mustEncode(t, m)
		for cut := 0; cut < len(b); cut++ {
			if _, n, err := DecodeRecord(b[:cut]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("cut %d: decode got n=%d err=%v, want ErrTruncated", cut, n, err)
			}
			if _, err := VerifyRecord(b[:cut]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("cut %d: verify got %v, want ErrTruncated", cut, err)
			}
		}
		// Extra bytes after the record are the next record: not this one's business.
		ext := append(append([]byte{}, b...), 1, 2, 3)
		if _, n, err := DecodeRecord(ext); err != nil || n != len(b) {
			t.Fatalf("trailing bytes: n=%d err=%v", n, err)
		}
	}
}

func TestDecodeRecordCorrupt(t *testing.T) {
	good := mustEncode(t, sampleExt())
	bodyLenOff, topicLenOff := 84, 88+15
	propsLenOff := topicLenOff + 1 + 9
	put32 := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte {
			b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
			return b
		}
	}
	put16 := func(off int, v uint16) func([]byte) []byte {
		return func(b []byte) []byte { b[off], b[off+1] = byte(v>>8), byte(v); return b }
	}
	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
		want   error
		field  string
	}{
		{"bad magic", put32(4, 0x12345678), ErrCorrupt, "magic 0x12345678"},
		{"v2 magic", put32(4, MagicV2), ErrCorrupt, "v2"},
		{"size below minimum", put32(0, 90), ErrCorrupt, "total size 90 below minimum"},
		{"negative size", put32(0, 0x80000000), ErrCorrupt, "total size"},
		{"size beyond input", put32(0, 500), ErrTruncated, "total size 500"},
		{"size shorter than fields", func(b []byte) []byte { put32(0, uint32(len(b)-1))(b); return b[:len(b)-1] }, ErrCorrupt, "properties length"},
		{"size longer than fields", func(b []byte) []byte { b = append(b, 0); return put32(0, uint32(len(b)))(b) }, ErrCorrupt, "properties length"},
		{"negative body length", put32(bodyLenOff, 0xFFFFFFFF), ErrCorrupt, "body length -1"},
		{"body length overrun", put32(bodyLenOff, 1000), ErrCorrupt, "body length 1000"},
		{"topic length over 127", func(b []byte) []byte { b[topicLenOff] = 200; return b }, ErrCorrupt, "topic length byte 200"},
		{"topic length overrun", func(b []byte) []byte { b[topicLenOff] = 60; return b }, ErrCorrupt, "topic length 60"},
		{"negative properties length", put16(propsLenOff, 0x8000), ErrCorrupt, "properties length -32768"},
		{"properties length short", put16(propsLenOff, 3), ErrCorrupt, "properties length 3"},
		{"crc mismatch", put32(8, 0x240FFDB4), ErrCorrupt, "body crc"},
		{"unmasked crc", put32(8, 0xA40FFDB5), ErrCorrupt, "body crc"},
		{"body byte flipped", func(b []byte) []byte { b[90] ^= 0x20; return b }, ErrCorrupt, "body crc"},
		{"born port too big", put32(52, 70000), ErrCorrupt, "born host port 70000"},
		{"store port negative", put32(68, 0xFFFFFFFF), ErrCorrupt, "store host port -1"},
		{"blank too small", func(b []byte) []byte { put32(0, 7)(b); return put32(4, MagicBlank)(b) }, ErrCorrupt, "blank total size 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(append([]byte{}, good...))
			m, _, err := DecodeRecord(b)
			if !errors.Is(err, tc.want) || m != nil {
				t.Fatalf("decode: got %v (m=%v), want %v", err, m != nil, tc.want)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name %q", err, tc.field)
			}
		})
	}
}

func TestDecodeRecordMappedV6Host(t *testing.T) {
	m := sampleExt()
	m.BornHost = netip.MustParseAddrPort("[2001:db8::1]:1")
	b := mustEncode(t, m)
	copy(b[48:64], netip.MustParseAddr("::ffff:1.2.3.4").AsSlice())
	if _, _, err := DecodeRecord(b); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "IPv4-mapped") {
		t.Fatalf("got %v, want ErrCorrupt naming the mapped host", err)
	}
	if _, err := VerifyRecord(b); err != nil {
		t.Fatalf("verify checks framing and CRC only, got %v", err)
	}
}

func TestDecodeRecordEveryByteFlip(t *testing.T) {
	for _, m := range []*Ext{sampleExt(), func() *Ext {
		m := sampleExt()
		m.StoreHost = netip.MustParseAddrPort("[2001:db8::1]:1")
		return m
	}()} {
		good := mustEncode(t, m)
		for i := range good {
			for _, x := range []byte{0x01, 0x80, 0xFF} {
				b := append([]byte{}, good...)
				b[i] ^= x
				d, n, derr := DecodeRecord(b)
				vn, verr := VerifyRecord(b)
				if derr == nil {
					if verr != nil || vn != n {
						t.Fatalf("byte %d ^%#x: decode ok but verify %d, %v", i, x, vn, verr)
					}
					// Whatever decodes re-encodes to bytes that decode the same.
					again := mustEncode(t, d)
					d2, _, err := DecodeRecord(again)
					if err != nil {
						t.Fatalf("byte %d ^%#x: re-decode: %v", i, x, err)
					}
					equalExt(t, d2, d)
				}
			}
		}
	}
}

func TestBlankRecord(t *testing.T) {
	for _, size := range []int{8, 9, 91, 4096} {
		b := bytes.Repeat([]byte{0xEE}, size)
		EncodeBlank(b)
		if RecordTotalSize(b) != size || RecordMagic(b) != MagicBlank {
			t.Fatalf("blank %d: size %d magic %#x", size, RecordTotalSize(b), RecordMagic(b))
		}
		if b[8%size] != 0xEE && size > 8 {
			t.Fatalf("blank %d touched bytes past the header", size)
		}
		n, err := VerifyRecord(b)
		if !errors.Is(err, ErrBlank) || n != size {
			t.Fatalf("verify blank %d: n=%d err=%v", size, n, err)
		}
		if m, n, err := DecodeRecord(b); !errors.Is(err, ErrBlank) || n != size || m != nil {
			t.Fatalf("decode blank %d: n=%d err=%v", size, n, err)
		}
		// Only the 8-byte header is needed to recognise the blank.
		if n, err := VerifyRecord(b[:8]); !errors.Is(err, ErrBlank) || n != size {
			t.Fatalf("verify blank header %d: n=%d err=%v", size, n, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("EncodeBlank of 7 bytes did not panic")
		}
	}()
	EncodeBlank(make([]byte, 7))
}

func TestDecodeRecordSequence(t *testing.T) {
	var log []byte
	var want []*Ext
	for i := 0; i < 5; i++ {
		m := sampleExt()
		m.QueueOffset = int64(i)
		m.Body = bytes.Repeat([]byte{byte(i)}, i*100)
		if i%2 == 1 {
			m.StoreHost = netip.MustParseAddrPort("[2001:db8::9]:10911")
		}
		var err error
		if log, err = EncodeRecord(log, m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	tail := make([]byte, 64)
	EncodeBlank(tail)
	log = append(log, tail...)
	off := 0
	for i := 0; ; i++ {
		m, n, err := DecodeRecord(log[off:])
		if errors.Is(err, ErrBlank) {
			if i != len(want) || off+n != len(log) {
				t.Fatalf("blank at record %d offset %d size %d, want record %d ending at %d", i, off, n, len(want), len(log))
			}
			break
		}
		if err != nil {
			t.Fatalf("record %d at %d: %v", i, off, err)
		}
		if m.QueueOffset != int64(i) || !bytes.Equal(m.Body, want[i].Body) || m.StoreHost != want[i].StoreHost {
			t.Fatalf("record %d: got offset %d body %d bytes host %v", i, m.QueueOffset, len(m.Body), m.StoreHost)
		}
		off += n
	}
}

func TestVerifyRecordAllocs(t *testing.T) {
	m := sampleExt()
	m.Body = bytes.Repeat([]byte("x"), 1024)
	b := mustEncode(t, m)
	if a := testing.AllocsPerRun(100, func() {
		if _, err := VerifyRecord(b); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("VerifyRecord allocates %.1f times per call", a)
	}
}

func TestDecodeRecordDoesNotAlias(t *testing.T) {
	b := mustEncode(t, sampleExt())
	m, _, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if string(m.Body) != "hello, rocketgo" || m.Topic != "TopicTest" || m.Properties[PropTags] != "TagA" {
		t.Fatalf("decoded fields changed with the input: %+v", m)
	}
}
