package commitlog

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// pacedLog is an ASYNC_FLUSH log whose periodic flush runs every interval, with a hook
// that records every msync.
func pacedLog(t *testing.T, interval time.Duration) (*Log, func() [][2]int64) {
	t.Helper()
	l := New(Options{
		Dir:              t.TempDir(),
		SegmentBytes:     4 << 20,
		FlushInterval:    interval,
		SyncFlushTimeout: 5 * time.Second,
		Logger:           zerolog.New(zerolog.NewTestWriter(t)),
	})
	var mu sync.Mutex
	var msyncs [][2]int64
	l.fl.synced = func(from, to int64) {
		mu.Lock()
		msyncs = append(msyncs, [2]int64{from, to})
		mu.Unlock()
	}
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	return l, func() [][2]int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([][2]int64(nil), msyncs...)
	}
}

// TestPacedFlushSteps pins the paced periodic flush (pace.go): the range is msynced in
// page-aligned steps of at most paceSlice, without gap or overlap, and flushed (what
// the checkpoint records for recovery) only ever lands on a record boundary.
func TestPacedFlushSteps(t *testing.T) {
	l, msyncs := pacedLog(t, 400*time.Millisecond)
	rs := appendN(t, l, 300, 1000) // ~300 KiB: about ten steps
	ends := map[int64]bool{0: true}
	for _, r := range rs {
		ends[r.EndOffset] = true
	}
	last := rs[len(rs)-1].EndOffset
	var seen []int64
	var mu sync.Mutex
	l.Start()
	defer l.Close()
	testutil.Eventually(t, 10*time.Second, "everything flushed", func() bool {
		f := l.Flushed()
		mu.Lock()
		seen = append(seen, f)
		mu.Unlock()
		return f == last
	})
	for _, f := range seen {
		if !ends[f] {
			t.Fatalf("flushed %d is not a record boundary", f)
		}
	}
	got := msyncs()
	// At least the first step is paced; how many follow before the budget (a quarter
	// interval) runs out depends on the machine's load.
	if len(got) < 2 {
		t.Fatalf("%d msyncs for %d bytes, want paced steps of at most %d: %v", len(got), last, paceSlice, got)
	}
	pos := int64(0)
	for i, m := range got {
		if m[0] != pos {
			t.Fatalf("msync %d covers [%d, %d), want it to start at %d: %v", i, m[0], m[1], pos, got)
		}
		if i < len(got)-1 && (m[1]-m[0] > paceSlice || m[1]%segment.PageSize != 0) {
			t.Fatalf("step %d is [%d, %d): want at most %d bytes, ending on a page", i, m[0], m[1], paceSlice)
		}
		pos = m[1]
	}
	if pos != last {
		t.Fatalf("msyncs end at %d, want %d", pos, last)
	}
}

// TestPacedFlushStopsPausingOnClose: Close during a paced flush flushes the rest at once
// and returns promptly, with everything flushed.
func TestPacedFlushStopsPausingOnClose(t *testing.T) {
	l, msyncs := pacedLog(t, 400*time.Millisecond)
	rs := appendN(t, l, 2000, 1000) // ~2 MiB: about 60 steps
	l.Start()
	testutil.Eventually(t, 10*time.Second, "the paced flush under way", func() bool { return len(msyncs()) > 0 })
	began := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("close took %v", took)
	}
	if got, want := l.Flushed(), rs[len(rs)-1].EndOffset; got != want {
		t.Fatalf("flushed %d after close, want %d", got, want)
	}
}

// TestPeriodicFlushDropsWrittenPages: the periodic ASYNC_FLUSH flush first drops this
// process's page-table entries of the whole pages it is about to write back
// (dropMappings), so that writing them back write-protects no mapped page: once
// everything is flushed, no page below the last record's page is mapped. The records
// are intact, read through the mapping (which maps them again) and after a reopen.
func TestPeriodicFlushDropsWrittenPages(t *testing.T) {
	l, _ := pacedLog(t, 50*time.Millisecond)
	bodies := make([][]byte, 120)
	var rs []Result
	for i := range bodies {
		bodies[i] = bytes.Repeat([]byte{byte(i + 1)}, 1000)
		r, err := l.Append(record(t, "T", 0, bodies[i]), 1, []byte("T"), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	last := rs[len(rs)-1].EndOffset
	l.Start()
	testutil.Eventually(t, 10*time.Second, "everything flushed", func() bool { return l.Flushed() == last })
	seg := l.files.Find(0)
	pages := testutil.MappedPages(t, seg.Bytes()[:last&^(segment.PageSize-1)])
	for i, m := range pages {
		if m {
			t.Fatalf("page %d of %d below the end (%d) still mapped after the flush", i, len(pages), last)
		}
	}
	check := func(l *Log) {
		t.Helper()
		for i, r := range rs {
			b, ok := l.Slice(r.PhysicalOffset, int32(r.EndOffset-r.PhysicalOffset))
			if !ok {
				t.Fatalf("record %d at %d not readable", i, r.PhysicalOffset)
			}
			m, _, err := message.DecodeRecord(b)
			if err != nil || !bytes.Equal(m.Body, bodies[i]) {
				t.Fatalf("record %d at %d: %v, body intact %v", i, r.PhysicalOffset, err, err == nil && bytes.Equal(m.Body, bodies[i]))
			}
		}
	}
	check(l)
	dir := l.o.Dir
	l.Close()
	l2 := New(Options{Dir: dir, SegmentBytes: 4 << 20, FlushInterval: time.Second, SyncFlushTimeout: 5 * time.Second,
		Logger: zerolog.New(zerolog.NewTestWriter(t))})
	rr, err := l2.Recover(RecoverOptions{})
	if err != nil || rr.End != last {
		t.Fatalf("reopened: end %d (%v), want %d", rr.End, err, last)
	}
	defer l2.Close()
	check(l2)
}
