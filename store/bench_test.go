package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// benchOptions returns production-sized options in a temporary directory.
func benchOptions(b *testing.B, mode FlushMode) Options {
	b.Helper()
	o := DefaultOptions()
	o.Dir = filepath.Join(b.TempDir(), "store")
	o.FlushMode = mode
	o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
	o.Logger = zerolog.Nop()
	return o
}

// benchRecord returns a 1 KiB-body record as the broker would encode it: tags, keys
// and a unique key.
func benchRecord(b testing.TB, i int) []byte {
	return encode(b, msg{
		topic: "BenchTopic",
		queue: int32(i % 8),
		body:  body(i, 1024),
		tags:  "TagA",
		keys:  fmt.Sprintf("order-%d", i),
		uniq:  fmt.Sprintf("7F00000100002A9F0000000000%06X", i),
	})
}

// BenchmarkPutAsync measures appends with ASYNC_FLUSH: the record is acknowledged once
// it is in the mapping. The dispatcher (ConsumeQueue and key index) runs concurrently.
func BenchmarkPutAsync(b *testing.B) {
	s, err := Open(benchOptions(b, AsyncFlush))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := make([][]byte, 1024)
	for i := range recs {
		recs[i] = benchRecord(b, i)
	}
	b.SetBytes(int64(len(recs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testutil.ProcessCPU(b)
	for i := 0; i < b.N; i++ {
		if _, err := s.Put(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	reportCPU(b, s, cpu0)
}

// reportCPU reports the process CPU per record since cpu0, once the dispatcher and
// the indexer have caught up with every record put: the records' whole cost.
func reportCPU(b *testing.B, s *Store, cpu0 time.Duration) {
	end := s.cl.Written()
	if err := errors.Join(s.waitDispatched(end), s.waitIndexed(end)); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(testutil.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/msg")
}

// BenchmarkPutSync1 measures SYNC_FLUSH appends from a single producer: each record is
// appended, then waited for until it is flushed. Its latency is one msync (target L2,
// docs/performance.md §3); p50 and p99 are reported.
func BenchmarkPutSync1(b *testing.B) {
	s, recs := openSyncBench(b)
	defer s.Close()
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		r, err := s.Put(recs[i%len(recs)])
		if err != nil {
			b.Fatal(err)
		}
		if err := s.WaitFlushed(ctx, r.EndOffset); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(began))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	reportFlushes(b, s)
}

// BenchmarkPutSync64 measures SYNC_FLUSH appends from 64 goroutines, each waiting for
// its record to be flushed (group commit) before the next.
func BenchmarkPutSync64(b *testing.B) {
	s, recs := openSyncBench(b)
	defer s.Close()
	var n atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := testutil.ProcessCPU(b)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for {
				i := n.Add(1)
				if i > int64(b.N) {
					return
				}
				r, err := s.Put(recs[i%int64(len(recs))])
				if err != nil {
					b.Error(err)
					return
				}
				if err := s.WaitFlushed(ctx, r.EndOffset); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	reportFlushes(b, s)
	reportCPU(b, s, cpu0)
}

// openSyncBench opens a SYNC_FLUSH store for a benchmark and returns it with 1024
// distinct 1 KiB-body records to put.
func openSyncBench(b *testing.B) (*Store, [][]byte) {
	s, err := Open(benchOptions(b, SyncFlush))
	if err != nil {
		b.Fatal(err)
	}
	recs := make([][]byte, 1024)
	for i := range recs {
		recs[i] = benchRecord(b, i)
	}
	b.SetBytes(int64(len(recs[0])))
	b.ReportAllocs()
	return s, recs
}

// reportFlushes reports messages per second, messages per msync and the mean msync.
func reportFlushes(b *testing.B, s *Store) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	st := s.Stats()
	b.ReportMetric(float64(b.N)/float64(max(1, st.Flushes)), "msg/flush")
	b.ReportMetric(float64(st.FlushTime.Microseconds())/float64(max(1, st.Flushes)), "µs/msync")
}

// BenchmarkGetMessages32 measures reading 32 records of a queue through its
// ConsumeQueue (a pull of RocketMQ's default batch).
func BenchmarkGetMessages32(b *testing.B) {
	s, err := Open(benchOptions(b, AsyncFlush))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 32 * 1024
	for i := 0; i < n; i++ {
		r := benchRecord(b, i*8) // queue 0 only
		if _, err := s.Put(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		b.Fatal(err)
	}
	rec := benchRecord(b, 0)
	b.SetBytes(int64(32 * len(rec)))
	b.ReportAllocs()
	b.ResetTimer()
	off := int64(0)
	for i := 0; i < b.N; i++ {
		g := s.GetMessages("BenchTopic", 0, off, 32, 0, nil)
		if g.Status != Found || len(g.Records) != 32 {
			b.Fatalf("status %s, %d records", g.Status, len(g.Records))
		}
		off = g.NextBegin % n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/32, "ns/record")
}

// BenchmarkRecover measures recovery of 1 GiB of CommitLog after an unclean stop with
// no checkpoint past the start: every record is verified and dispatched again. It writes
// 1 GiB, so it runs only when asked for by name (-bench=Recover).
func BenchmarkRecover(b *testing.B) {
	if !strings.Contains(benchFlag(), "Recover") {
		b.Skip("writes 1 GiB: run with -bench=Recover")
	}
	o := benchOptions(b, AsyncFlush)
	o.CheckpointInterval = time.Hour
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([][]byte, 1024)
	for i := range recs {
		recs[i] = benchRecord(b, i)
	}
	var total int64
	for i := 0; total < 1<<30; i++ {
		r, err := s.Put(recs[i%len(recs)])
		if err != nil {
			b.Fatal(err)
		}
		total = r.EndOffset
	}
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		b.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	s.crash()
	// Forget the index and ConsumeQueues progress too: recover everything from 0.
	if err := os.Remove(filepath.Join(o.Dir, checkpointName)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := os.RemoveAll(filepath.Join(o.Dir, indexDir)); err != nil {
			b.Fatal(err)
		}
		os.Remove(filepath.Join(o.Dir, checkpointName))
		b.StartTimer()
		s, err := Open(o)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st := s.RecoveryStats()
		if st.BytesScanned < total || st.EndOffset != total {
			b.Fatalf("recovery scanned %d bytes to %d, want %d", st.BytesScanned, st.EndOffset, total)
		}
		s.crash()
		b.StartTimer()
	}
}

func benchFlag() string {
	for _, a := range os.Args {
		if v, ok := strings.CutPrefix(a, "-test.bench="); ok {
			return v
		}
	}
	return ""
}

// BenchmarkDeviceSync64 measures the disk alone, as SYNC_FLUSH with 64 producers uses
// it: one op writes 64 records' worth of bytes (64 × 1124) with pwrite after the
// previous ones and fdatasyncs the file. Its µs/op is the floor under a group-commit
// round, and 64 / (µs/op) the msg/s that 64 closed-loop producers could reach if
// everything but the sync were free. Run it beside PutSync64 to tell a slow disk hour
// from a slow flusher (docs/performance.md):
//   - written: blocks written and synced beforehand (a log whose zeros ahead were all
//     written back long ago): no metadata to commit per sync;
//   - fallocated: blocks preallocated as unwritten extents, as a fresh segment's are:
//     each sync also commits the journal entry that marks the range written.
func BenchmarkDeviceSync64(b *testing.B) {
	b.Run("written", func(b *testing.B) { benchDeviceSync(b, true) })
	b.Run("fallocated", func(b *testing.B) { benchDeviceSync(b, false) })
}

func benchDeviceSync(b *testing.B, written bool) {
	const round = 64 * 1124
	f, err := os.Create(filepath.Join(b.TempDir(), "device"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	size := int64(b.N+1) * round
	if written {
		zeros := make([]byte, 1<<20)
		for off := int64(0); off < size; off += int64(len(zeros)) {
			if _, err := f.WriteAt(zeros, off); err != nil {
				b.Fatal(err)
			}
		}
	} else if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		b.Skipf("fallocate: %v", err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, round)
	for i := range buf {
		buf[i] = byte(i)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		if _, err := f.WriteAt(buf, int64(i)*round); err != nil {
			b.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(began))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(64*float64(b.N)/b.Elapsed().Seconds(), "ceiling-msg/s")
}
