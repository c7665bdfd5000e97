package message

import (
	"bytes"
	"testing"
)

// benchExt is a typical produced message: 1 KiB body, tags, keys and a unique key.
func benchExt() *Ext {
	m := sampleExt()
	m.Body = bytes.Repeat([]byte("0123456789abcdef"), 64)
	m.Properties = map[string]string{
		PropTags: "TagA", PropKeys: "order-1234", PropUniqKey: "0A00000104D20102030416BEC1FA0000",
		PropCluster: "DefaultCluster",
	}
	return m
}

func BenchmarkEncodeRecord(b *testing.B) {
	m := benchExt()
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(mustEncode(b, m))))
	b.ReportAllocs()
	for range b.N {
		var err error
		if buf, err = EncodeRecord(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRecordProps(b *testing.B) {
	m := benchExt()
	props := EncodeProperties(m.Properties)
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(mustEncode(b, m))))
	b.ReportAllocs()
	for range b.N {
		var err error
		if buf, err = EncodeRecordProps(buf[:0], m, props); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRecord(b *testing.B) {
	rec := mustEncode(b, benchExt())
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for range b.N {
		if _, err := VerifyRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	rec := mustEncode(b, benchExt())
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for range b.N {
		if _, _, err := DecodeRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPropertyOf(b *testing.B) {
	props := RecordProperties(mustEncode(b, benchExt()))
	b.SetBytes(int64(len(props)))
	b.ReportAllocs()
	for range b.N {
		if _, ok := PropertyOf(props, PropTags); !ok {
			b.Fatal("TAGS not found")
		}
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	entries := make([]BatchEntry, 64)
	for i := range entries {
		entries[i] = BatchEntry{Body: bytes.Repeat([]byte{'x'}, 1024), Properties: "TAGS\x01a\x02UNIQ_KEY\x010A00000104D20102030416BEC1FA0000"}
	}
	body, err := EncodeBatch(nil, entries)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for range b.N {
		if _, err := DecodeBatch(body, 1024); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewUniqID(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		_ = NewUniqID()
	}
}

func BenchmarkTagsHash(b *testing.B) {
	b.SetBytes(int64(len("TagA||TagB")))
	b.ReportAllocs()
	for range b.N {
		_ = TagsHash("TagA||TagB")
	}
}
