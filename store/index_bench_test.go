package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// BenchmarkPutIndexed measures ASYNC_FLUSH appends of 1 KiB records that each carry a
// unique UNIQ_KEY, as a producer's messages do, until the key index holds them all: the
// CommitLog, dispatcher and indexer costs of one message. cpu-ns/msg is the process CPU
// per record, pebble's flushes and compactions included; compare it with
// BenchmarkPutAsync's to see the index's share.
func BenchmarkPutIndexed(b *testing.B) {
	s, err := Open(benchOptions(b, AsyncFlush))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const uniq = "7F00000100002A9F000000000000"
	recs := make([][]byte, 256)
	at := make([]int, len(recs))
	for i := range recs {
		recs[i] = encode(b, msg{topic: "BenchTopic", queue: int32(i % 8), body: body(i, 1024), tags: "TagA", uniq: uniq})
		at[i] = bytes.Index(recs[i], []byte(uniq))
	}
	b.SetBytes(int64(len(recs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testutil.ProcessCPU(b)
	for i := 0; i < b.N; i++ {
		rec := recs[i%len(recs)]
		// A fresh unique key in place: the properties are not under the body CRC.
		putHex(rec[at[i%len(recs)]+len(uniq)-8:], uint32(i))
		if _, err := s.Put(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.waitIndexed(s.cl.Written()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(testutil.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/msg")
	last := []byte(uniq)
	putHex(last[len(last)-8:], uint32(b.N-1))
	if offs, err := s.QueryByKey("BenchTopic", string(last), 0, 1<<62, 4); err != nil || len(offs) != 1 {
		b.Fatalf("query of the last key: %v %v", offs, err)
	}
}

// putHex writes v as 8 upper-case hex digits into dst.
func putHex(dst []byte, v uint32) {
	for j := 7; j >= 0; j-- {
		dst[j] = "0123456789ABCDEF"[v&15]
		v >>= 4
	}
}

// BenchmarkReindex measures the indexer alone: b.N records (1 KiB, a unique UNIQ_KEY
// each) are written and the store closed before the timer starts; then the key index
// is removed and the store reopened, and the timer runs until the indexer has caught
// up with the log, as after a crash that lost the index.
func BenchmarkReindex(b *testing.B) {
	o := benchOptions(b, AsyncFlush)
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	const uniq = "7F00000100002A9F000000000000"
	rec := encode(b, msg{topic: "BenchTopic", body: body(0, 1024), tags: "TagA", uniq: uniq})
	at := bytes.Index(rec, []byte(uniq)) + len(uniq) - 8
	for i := 0; i < b.N; i++ {
		putHex(rec[at:], uint32(i))
		if _, err := s.Put(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(o.Dir, indexDir)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testutil.ProcessCPU(b)
	s, err = Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.waitIndexed(s.cl.Written()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(testutil.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/msg")
}
