package body

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func goldenRegisterBody() *RegisterBrokerBody {
	return &RegisterBrokerBody{
		TopicConfigSerializeWrapper: TopicConfigSerializeWrapper{
			TopicConfigTable: map[string]TopicConfig{
				"TopicB": {TopicName: "TopicB", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 6, TopicFilterType: FilterMultiTag},
				"TBW102": {TopicName: "TBW102", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 7, TopicFilterType: FilterSingleTag},
			},
			DataVersion: DataVersion{Timestamp: 1690000000000, Counter: 3},
		},
		FilterServerList: []string{},
	}
}

const goldenRegisterJSON = `{"filterServerList":[],"topicConfigSerializeWrapper":{` +
	`"dataVersion":{"counter":3,"timestamp":1690000000000},"topicConfigTable":{` +
	`"TBW102":{"order":false,"perm":7,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"TBW102","topicSysFlag":0,"writeQueueNums":8},` +
	`"TopicB":{"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"MULTI_TAG","topicName":"TopicB","topicSysFlag":0,"writeQueueNums":8}}}}`

func TestRegisterBodyJSONGolden(t *testing.T) {
	got, err := goldenRegisterBody().Encode(false)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if string(got) != goldenRegisterJSON {
		t.Fatalf("encode:\n got %s\nwant %s", got, goldenRegisterJSON)
	}
	back, err := DecodeRegisterBrokerBody(got, false)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if want := goldenRegisterBody(); !reflect.DeepEqual(back, want) {
		t.Fatalf("decode:\n got %+v\nwant %+v", back, want)
	}
}

func TestRegisterBodyJSONJavaOrderAndDefaults(t *testing.T) {
	// docs/protocol.md's example key order, plus a topic that leaves every field but its
	// name out: it gets Java's TopicConfig defaults.
	in := `{"topicConfigSerializeWrapper":{"topicConfigTable":{` +
		`"T":{"topicName":"T","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicFilterType":"SINGLE_TAG","topicSysFlag":1,"order":true},` +
		`"D":{"topicName":"D"}},"dataVersion":{"timestamp":1690000000000,"counter":3,"stateVersion":0}},"filterServerList":["10.0.0.9:1"]}`
	got, err := DecodeRegisterBrokerBody([]byte(in), false)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := &RegisterBrokerBody{
		TopicConfigSerializeWrapper: TopicConfigSerializeWrapper{
			TopicConfigTable: map[string]TopicConfig{
				"T": {TopicName: "T", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6, TopicFilterType: FilterSingleTag, TopicSysFlag: 1, Order: true},
				"D": {TopicName: "D", ReadQueueNums: 16, WriteQueueNums: 16, Perm: 6, TopicFilterType: FilterSingleTag},
			},
			DataVersion: DataVersion{Timestamp: 1690000000000, Counter: 3},
		},
		FilterServerList: []string{"10.0.0.9:1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode:\n got %+v\nwant %+v", got, want)
	}
}

// inflateRecords reads the compressed layout independently of the decoder under
// test: the data version JSON, the topic records, the filter list JSON.
func inflateRecords(t *testing.T, data []byte) (dv string, topics []string, filters string) {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	next := func(n int) []byte {
		t.Helper()
		if len(raw) < n {
			t.Fatalf("inflated stream short: want %d more bytes, have %d", n, len(raw))
		}
		p := raw[:n]
		raw = raw[n:]
		return p
	}
	record := func() string { return string(next(int(binary.BigEndian.Uint32(next(4))))) }
	dv = record()
	count := int(binary.BigEndian.Uint32(next(4)))
	for range count {
		topics = append(topics, record())
	}
	filters = record()
	if len(raw) != 0 {
		t.Fatalf("%d trailing bytes after the filter list", len(raw))
	}
	return dv, topics, filters
}

func TestRegisterBodyCompressedLayout(t *testing.T) {
	b := goldenRegisterBody()
	b.FilterServerList = []string{"10.0.0.9:1"}
	tc := b.TopicConfigSerializeWrapper.TopicConfigTable["TopicB"]
	tc.TopicSysFlag, tc.Order = 3, true // not carried by the compressed form
	b.TopicConfigSerializeWrapper.TopicConfigTable["TopicB"] = tc

	data, err := b.Encode(true)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if data[0] != 0x78 {
		t.Fatalf("first byte %#x: not a zlib stream", data[0])
	}
	dv, topics, filters := inflateRecords(t, data)
	if want := `{"counter":3,"timestamp":1690000000000}`; dv != want {
		t.Fatalf("data version record: got %s, want %s", dv, want)
	}
	if want := []string{"TBW102 8 8 7 SINGLE_TAG", "TopicB 8 8 6 MULTI_TAG"}; !reflect.DeepEqual(topics, want) {
		t.Fatalf("topic records: got %q, want %q", topics, want)
	}
	if want := `["10.0.0.9:1"]`; filters != want {
		t.Fatalf("filter record: got %s, want %s", filters, want)
	}

	got, err := DecodeRegisterBrokerBody(data, true)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	tc.TopicSysFlag, tc.Order = 0, false
	b.TopicConfigSerializeWrapper.TopicConfigTable["TopicB"] = tc
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("decode:\n got %+v\nwant %+v", got, b)
	}
}

// compressRecords builds a compressed body by hand, the way Java's
// RegisterBrokerBody.encode(true) lays it out.
func compressRecords(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	for _, p := range parts {
		if _, err := zw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func be32(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

func rec(s string) []byte { return append(be32(len(s)), s...) }

func TestRegisterBodyCompressedFromJavaLayout(t *testing.T) {
	data := compressRecords(t,
		rec(`{"counter":7,"timestamp":1700000000000}`),
		be32(2),
		rec("%RETRY%g 1 1 6 SINGLE_TAG"),
		rec("T 4 +4 6 SINGLE_TAG  "), // Java's split drops the trailing empty fields
		rec(`[]`),
	)
	got, err := DecodeRegisterBrokerBody(data, true)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := &RegisterBrokerBody{
		TopicConfigSerializeWrapper: TopicConfigSerializeWrapper{
			TopicConfigTable: map[string]TopicConfig{
				"%RETRY%g": {TopicName: "%RETRY%g", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6, TopicFilterType: FilterSingleTag},
				"T":        {TopicName: "T", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6, TopicFilterType: FilterSingleTag},
			},
			DataVersion: DataVersion{Timestamp: 1700000000000, Counter: 7},
		},
		FilterServerList: []string{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode:\n got %+v\nwant %+v", got, want)
	}
}

func TestRegisterBodyCompressedErrors(t *testing.T) {
	dv := rec(`{"counter":1,"timestamp":2}`)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"not zlib", []byte("plain text"), ErrMalformed},
		{"empty stream", compressRecords(t), ErrMalformed},
		{"truncated data version", compressRecords(t, be32(100), []byte(`{"counter"`)), ErrMalformed},
		{"data version not JSON", compressRecords(t, rec(`counter=1`), be32(0), rec(`[]`)), ErrMalformed},
		{"negative length", compressRecords(t, be32(-5)), ErrMalformed},
		{"negative topic count", compressRecords(t, dv, be32(-1)), ErrMalformed},
		{"topic count beyond budget", compressRecords(t, dv, be32(1<<30)), ErrMalformed},
		{"record beyond inflate limit", compressRecords(t, be32(MaxBodyBytes+1)), ErrTooLarge},
		{"four fields", compressRecords(t, dv, be32(1), rec("T 4 4 6"), rec(`[]`)), ErrMalformed},
		{"six fields", compressRecords(t, dv, be32(1), rec("T 4 4 6 SINGLE_TAG x"), rec(`[]`)), ErrMalformed},
		{"bad number", compressRecords(t, dv, be32(1), rec("T four 4 6 SINGLE_TAG"), rec(`[]`)), ErrMalformed},
		{"int32 overflow", compressRecords(t, dv, be32(1), rec("T 2147483648 4 6 SINGLE_TAG"), rec(`[]`)), ErrMalformed},
		{"unknown filter type", compressRecords(t, dv, be32(1), rec("T 4 4 6 SQL92"), rec(`[]`)), ErrMalformed},
		{"missing filter list", compressRecords(t, dv, be32(0)), ErrMalformed},
		{"filter list not JSON", compressRecords(t, dv, be32(0), rec(`[a`)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRegisterBrokerBody(tt.data, true)
			if !errors.Is(err, tt.want) {
				t.Fatalf("decode: got %+v, %v; want error %v", got, err, tt.want)
			}
		})
	}
}

func TestRegisterBodyClaimedLengthCostsNoMemory(t *testing.T) {
	// A record claiming 60 MiB backed by ten bytes must fail without reserving the
	// 60 MiB.
	data := compressRecords(t, be32(60<<20), []byte("0123456789"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeRegisterBrokerBody(data, true)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("decode: got %v, want ErrMalformed", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("decode allocated %d bytes for a 10-byte record", grew)
	}
}

func TestRegisterBodyInflateBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates 40 MiB")
	}
	// 40 MiB of real data version (spaces around {}), then a topic record claiming 30
	// MiB more: past 64 MiB in total, so the second record is refused before it is
	// read, although each alone is under the limit.
	dvJSON := strings.Repeat(" ", 40<<20) + "{}"
	data := compressRecords(t, rec(dvJSON), be32(1), be32(30<<20))
	if len(data) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed; want a small body", len(data))
	}
	if _, err := DecodeRegisterBrokerBody(data, true); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("decode: got %v, want ErrTooLarge", err)
	}
}

func TestRegisterBodyEncodeCompressedRejects(t *testing.T) {
	for _, tc := range []TopicConfig{
		{TopicName: "has space", TopicFilterType: FilterSingleTag},
		{TopicName: "T", TopicFilterType: "SQL92"},
	} {
		b := RegisterBrokerBody{TopicConfigSerializeWrapper: TopicConfigSerializeWrapper{
			TopicConfigTable: map[string]TopicConfig{tc.TopicName: tc},
		}}
		if _, err := b.Encode(true); err == nil {
			t.Fatalf("encode compressed of %+v: want error", tc)
		}
		if _, err := b.Encode(false); err != nil {
			t.Fatalf("encode JSON of %+v: %v", tc, err)
		}
	}
}

func TestTopicConfigText(t *testing.T) {
	tc := TopicConfig{TopicName: "T", ReadQueueNums: 4, WriteQueueNums: 2, Perm: 6}
	text, err := tc.EncodeText()
	if err != nil || text != "T 4 2 6 SINGLE_TAG" {
		t.Fatalf("EncodeText: got %q, %v; want %q", text, err, "T 4 2 6 SINGLE_TAG")
	}
	back, err := DecodeTopicConfigText(text)
	tc.TopicFilterType = FilterSingleTag
	if err != nil || !reflect.DeepEqual(back, tc) {
		t.Fatalf("DecodeTopicConfigText(%q): got %+v, %v; want %+v", text, back, err, tc)
	}
}

func TestTopicConfigWrapperJSON(t *testing.T) {
	w := goldenRegisterBody().TopicConfigSerializeWrapper
	enc := w.AppendJSON(nil)
	back, err := DecodeTopicConfigSerializeWrapper(enc)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	if !reflect.DeepEqual(*back, w) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, w)
	}
	if _, err := DecodeTopicConfigSerializeWrapper([]byte(`{"topicConfigTable":{"T":{"perm":"6"}}}`)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("decode string perm: got %v, want ErrMalformed", err)
	}
}

func FuzzDecodeRegisterBody(f *testing.F) {
	f.Add([]byte(goldenRegisterJSON), false)
	compressed, err := goldenRegisterBody().Encode(true)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(compressed, true)
	f.Add(compressRecords(f, rec(`{"counter":7,"timestamp":1}`), be32(1), rec("T 4 +4 6 SINGLE_TAG  "), rec(`["a"]`)), true)
	f.Add([]byte(`{"topicConfigSerializeWrapper":{"topicConfigTable":{"D":{"topicName":"x y"}}},"filterServerList":null}`), false)
	f.Fuzz(func(t *testing.T, data []byte, compressed bool) {
		b, err := DecodeRegisterBrokerBody(data, compressed)
		if err != nil {
			return
		}
		enc, err := b.Encode(compressed)
		if err != nil {
			t.Fatalf("re-encode (compressed=%v) of %+v: %v", compressed, b, err)
		}
		again, err := DecodeRegisterBrokerBody(enc, compressed)
		if err != nil {
			t.Fatalf("re-decode (compressed=%v): %v", compressed, err)
		}
		if !reflect.DeepEqual(b, again) {
			t.Fatalf("round trip (compressed=%v):\n first %+v\nsecond %+v", compressed, b, again)
		}
	})
}

func benchRegisterBody(topics int) *RegisterBrokerBody {
	b := &RegisterBrokerBody{TopicConfigSerializeWrapper: TopicConfigSerializeWrapper{
		TopicConfigTable: make(map[string]TopicConfig, topics),
		DataVersion:      DataVersion{Timestamp: 1690000000000, Counter: 42},
	}}
	for i := range topics {
		name := "topic-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i)
		b.TopicConfigSerializeWrapper.TopicConfigTable[name] = TopicConfig{
			TopicName: name, ReadQueueNums: 8, WriteQueueNums: 8, Perm: 6, TopicFilterType: FilterSingleTag,
		}
	}
	return b
}

func BenchmarkRegisterBodyDecodeJSON(b *testing.B) {
	data, _ := benchRegisterBody(1000).Encode(false)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRegisterBrokerBody(data, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRegisterBodyDecodeCompressed(b *testing.B) {
	data, err := benchRegisterBody(1000).Encode(true)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRegisterBrokerBody(data, true); err != nil {
			b.Fatal(err)
		}
	}
}
