package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil/pagecache"
)

// TestRecoveryScale measures the worst recovery of docs/scale.md §4.1 in process: a
// CommitLog of n GiB of 16 KiB messages in one queue, the store dropped as by SIGKILL,
// its checkpoint and ConsumeQueues removed and every file evicted from the page cache
// (posix_fadvise DONTNEED), then Open — every record verified and re-dispatched. It
// logs the time, the bytes the process read from the disk (/proc/self/io read_bytes)
// and its major faults, for each size of ROCKETGO_SCALE_RECOVERY_GIB (e.g. "1,2,5,10";
// unset: the test is skipped, it writes that much). ROCKETGO_SCALE_RECOVERY_DIR puts
// the stores there (one at a time, removed after each size);
// ROCKETGO_SCALE_RECOVERY_PROF=prefix writes a CPU profile of each Open to
// prefix-<n>.pprof.
func TestRecoveryScale(t *testing.T) {
	spec := os.Getenv("ROCKETGO_SCALE_RECOVERY_GIB")
	if spec == "" {
		t.Skip("writes gigabytes: set ROCKETGO_SCALE_RECOVERY_GIB=1,2,5,10")
	}
	for _, f := range strings.Split(spec, ",") {
		gib, err := strconv.ParseFloat(f, 64)
		if err != nil || gib <= 0 {
			t.Fatalf("ROCKETGO_SCALE_RECOVERY_GIB: %q", f)
		}
		recoveryAt(t, int64(gib*(1<<30)))
	}
}

func recoveryAt(t *testing.T, total int64) {
	parent := os.Getenv("ROCKETGO_SCALE_RECOVERY_DIR")
	if parent == "" {
		parent = t.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "recovery-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	o := DefaultOptions()
	o.Dir = dir
	o.FlushMode = AsyncFlush
	o.CheckpointInterval = time.Hour
	o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	rec := encode(t, msg{topic: "ScaleRecovery", body: make([]byte, 16<<10), tags: "T", uniq: "7F00000100002A9F000000000000"})
	var end, count int64
	for end < total {
		r, err := s.Put(rec)
		if err != nil {
			t.Fatal(err)
		}
		end, count = r.EndOffset, count+1
	}
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.crash()
	for _, p := range []string{checkpointName, consumeQDir} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pagecache.Evict(dir); err != nil {
		t.Fatal(err)
	}

	read0, flt0 := selfReadBytes(t), selfMajorFaults(t)
	if p := os.Getenv("ROCKETGO_SCALE_RECOVERY_PROF"); p != "" {
		f, err := os.Create(fmt.Sprintf("%s-%d.pprof", p, total>>30))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	s, err = Open(o)
	took := time.Since(began)
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := s.RecoveryStats()
	read, flt := selfReadBytes(t)-read0, selfMajorFaults(t)-flt0
	t.Logf("scale figure=recovery_inprocess log_gib=%.2f log_bytes=%d scanned_bytes=%d redispatched_bytes=%d seconds=%.2f gb_per_s=%.3f disk_read_bytes=%d read_per_log_byte=%.2f major_faults=%d",
		float64(end)/(1<<30), end, st.BytesScanned, st.RedispatchedBytes, took.Seconds(), float64(st.BytesScanned)/took.Seconds()/1e9, read, float64(read)/float64(end), flt)
	// The disk's own rate over the same files, evicted again: what a scan bound by the
	// disk can reach.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw := rawReadRate(t, filepath.Join(dir, "commitlog"), end)
	t.Logf("scale figure=recovery_inprocess_disk log_gib=%.2f raw_read_gb_per_s=%.3f recovery_vs_raw=%.2f",
		float64(end)/(1<<30), raw, float64(st.BytesScanned)/took.Seconds()/1e9/raw)
	s, err = Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if st.BytesScanned < end || st.EndOffset != end || st.RedispatchedBytes != end {
		t.Fatalf("recovery scanned %d and re-dispatched %d bytes to %d, want all %d", st.BytesScanned, st.RedispatchedBytes, st.EndOffset, end)
	}
	if got := s.MaxOffset("ScaleRecovery", 0); got != count {
		t.Fatalf("queue rebuilt to %d messages, want %d", got, count)
	}
}

// rawReadRate evicts dir's files and reads their first n bytes with read(2) in 1 MiB
// blocks, in name order, returning GB/s.
func rawReadRate(t *testing.T, dir string, n int64) float64 {
	t.Helper()
	if err := pagecache.Evict(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	began := time.Now()
	var got int64
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for got < n {
			k, err := f.Read(buf)
			got += int64(k)
			if err != nil {
				break
			}
		}
		f.Close()
	}
	return float64(got) / time.Since(began).Seconds() / 1e9
}

// selfReadBytes is the bytes this process caused to be read from storage.
func selfReadBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "read_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("/proc/self/io: no read_bytes in %q", b)
	return 0
}

// selfMajorFaults is this process's major page faults so far.
func selfMajorFaults(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	n, err := strconv.ParseInt(f[9], 10, 64) // majflt, field 12 of stat
	if err != nil {
		t.Fatal(err)
	}
	return n
}
