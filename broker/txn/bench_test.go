package txn

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// BenchmarkApplyPlain is what the projection adds to the dispatch of every ordinary
// record: a sysflag and topic comparison.
func BenchmarkApplyPlain(b *testing.B) {
	m := message.Ext{Topic: "BenchmarkOrders", BornHost: born, StoreHost: host, Body: make([]byte, 1024),
		Properties: map[string]string{message.PropTags: "t", message.PropUniqKey: "0A0000010000000000000000000000"}}
	rec, _ := message.EncodeRecord(nil, &m)
	s := New(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Apply(rec, int64(i)*int64(len(rec)))
	}
}

// BenchmarkApplyTransaction applies a half message and its commit: the projection's
// work per committed transaction.
func BenchmarkApplyTransaction(b *testing.B) {
	l := newLogSim(b)
	p, _ := l.half("pg", "Orders", 1, "0A0000010000000000000000000000", nil)
	half := l.recs[p]
	commit, _ := CommitRecord(nil, half, p)
	b.ReportAllocs()
	b.SetBytes(int64(len(half) + len(commit)))
	b.ResetTimer()
	off := int64(0)
	s := New(0)
	for i := 0; i < b.N; i++ {
		message.PatchRecord(half, int64(i), off, time.Now().UnixMilli())
		_ = s.Apply(half, off)
		// The commit names this half message (IPv4 hosts: the field is at 76).
		binary.BigEndian.PutUint64(commit[76:], uint64(off))
		_ = s.Apply(commit, off+int64(len(half)))
		off += int64(len(half) + len(commit))
	}
	if s.Len() != 0 {
		b.Fatalf("%d transactions left pending", s.Len())
	}
}
