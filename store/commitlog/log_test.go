package commitlog

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

func testLog(t *testing.T, dir string, sync bool) *Log {
	t.Helper()
	return New(Options{
		Dir:              dir,
		SegmentBytes:     16 << 10,
		SyncFlush:        sync,
		FlushInterval:    time.Hour,
		SyncFlushTimeout: 5 * time.Second,
		Logger:           zerolog.New(zerolog.NewTestWriter(t)),
	})
}

func record(t *testing.T, topic string, queue int32, body []byte) []byte {
	t.Helper()
	rec, err := message.EncodeRecord(nil, &message.Ext{
		Topic: topic, QueueID: queue, Body: body,
		BornHost:  netip.MustParseAddrPort("10.0.0.1:1"),
		StoreHost: netip.MustParseAddrPort("10.0.0.2:2"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func appendN(t *testing.T, l *Log, n, size int) []Result {
	t.Helper()
	var out []Result
	for i := 0; i < n; i++ {
		rec := record(t, "T", int32(i%2), make([]byte, size))
		r, err := l.Append(rec, 1, []byte("T"), int32(i%2), true)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

func TestAppendRollsWithBlank(t *testing.T) {
	dir := t.TempDir()
	l := testLog(t, dir, false)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	defer l.Close()
	rs := appendN(t, l, 100, 1000)
	rolled := false
	for i, r := range rs {
		if r.QueueOffset != int64(i/2) {
			t.Fatalf("record %d: queue offset %d", i, r.QueueOffset)
		}
		if i > 0 && r.PhysicalOffset != rs[i-1].EndOffset {
			// Rolled: the previous segment ends with a blank covering the rest.
			rolled = true
			seg := l.files.Find(rs[i-1].EndOffset)
			b := seg.Bytes()[rs[i-1].EndOffset-seg.Start():]
			if got := int64(binary.BigEndian.Uint32(b)); got != seg.End()-rs[i-1].EndOffset || binary.BigEndian.Uint32(b[4:]) != message.MagicBlank {
				t.Fatalf("blank after record %d: size %d magic %x", i-1, got, binary.BigEndian.Uint32(b[4:]))
			}
			if r.PhysicalOffset != seg.End() || seg.End()-rs[i-1].EndOffset < 8 {
				t.Fatalf("record %d at %d, segment ends %d", i, r.PhysicalOffset, seg.End())
			}
		}
		rec, err := l.Record(r.PhysicalOffset)
		if err != nil || message.RecordPhysicalOffset(rec) != r.PhysicalOffset || message.RecordStoreTimestamp(rec) != r.StoreTimestamp {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if !rolled {
		t.Fatal("100 KiB in 16 KiB segments did not roll")
	}
	// At walks records and blanks in order.
	n := 0
	for pos := int64(0); pos < l.Written(); {
		rec, next, err := l.At(pos)
		if err != nil {
			t.Fatalf("at %d: %v", pos, err)
		}
		if rec != nil {
			if pos != rs[n].PhysicalOffset {
				t.Fatalf("record %d at %d, want %d", n, pos, rs[n].PhysicalOffset)
			}
			n++
		}
		pos = next
	}
	if n != 100 {
		t.Fatalf("walked %d records", n)
	}
	if _, err := l.Append(make([]byte, 16<<10), 1, []byte("T"), 0, true); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized append: %v", err)
	}
}

// sweeperOnly returns a recovered SYNC_FLUSH log with the given SyncFlushTimeout that
// runs only its sweeper: nothing flushes unless the test calls Flush. It is abandoned
// when the test ends.
func sweeperOnly(t *testing.T, timeout time.Duration) *Log {
	t.Helper()
	l := testLog(t, t.TempDir(), true)
	l.o.SyncFlushTimeout = timeout
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.wg.Add(1)
	go l.sweepLoop()
	t.Cleanup(l.Abandon)
	return l
}

// TestGroupCommitAndTimeout checks both ends of a SYNC_FLUSH waiter, each on its own
// log: with nothing flushing, a waiter times out after SyncFlushTimeout; with a flush,
// every waiter it covers completes exactly once, successfully. The flush case keeps the
// default timeout of seconds: a flush on a loaded machine may take longer than the
// timeout case's 30 ms, and a timeout there is not what it checks.
func TestGroupCommitAndTimeout(t *testing.T) {
	startSweeper := func(t *testing.T, timeout time.Duration) (*Log, []Result) {
		l := sweeperOnly(t, timeout)
		return l, appendN(t, l, 10, 100)
	}
	t.Run("timeout", func(t *testing.T) {
		l, rs := startSweeper(t, 30*time.Millisecond)
		done := make(chan error, 1)
		l.OnFlushed(rs[9].EndOffset, func(err error) { done <- err })
		select {
		case err := <-done:
			if !errors.Is(err, ErrFlushTimeout) {
				t.Fatalf("got %v, want ErrFlushTimeout", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no timeout")
		}
	})
	t.Run("commit", func(t *testing.T) {
		l, rs := startSweeper(t, 5*time.Second)
		// A flush completes every waiter it covers, exactly once.
		var mu sync.Mutex
		calls := map[int]int{}
		for i, r := range rs {
			i := i
			l.OnFlushed(r.EndOffset, func(err error) {
				if err != nil {
					t.Errorf("waiter %d: %v", i, err)
				}
				mu.Lock()
				calls[i]++
				mu.Unlock()
			})
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		for i := range rs {
			if calls[i] != 1 {
				t.Fatalf("waiter %d called %d times", i, calls[i])
			}
		}
		mu.Unlock()
		inline := false
		l.OnFlushed(rs[0].EndOffset, func(err error) { inline = err == nil })
		if !inline {
			t.Fatal("a flushed offset did not complete inline")
		}
	})
}

func TestStickyWriteFailure(t *testing.T) {
	l := testLog(t, t.TempDir(), true)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	defer l.Close()
	rs := appendN(t, l, 3, 100)
	if err := l.WaitFlushed(t.Context(), rs[2].EndOffset); err != nil {
		t.Fatal(err)
	}
	// The preparer zeros the rest of the active segment and the whole next one ahead;
	// once it is done it sleeps, so the failure below is found by the flush and not,
	// first, by its zeros (which would refuse the append instead).
	ahead := l.files.Last().End() + l.o.SegmentBytes
	testutil.Eventually(t, 10*time.Second, "zeros written ahead", func() bool {
		return l.prep.zeroed.Load() >= ahead && l.prep.zero.cur.Load() == nil
	})
	l.files.Last().Fail(errors.New("injected EIO"))
	r, err := l.Append(record(t, "T", 0, []byte("x")), 1, []byte("T"), 0, true)
	if err != nil {
		t.Fatalf("append before the failed flush: %v", err)
	}
	err = l.WaitFlushed(t.Context(), r.EndOffset)
	if !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), "injected EIO") {
		t.Fatalf("flush: got %v, want ErrWriteFailed naming the cause", err)
	}
	if _, err := l.Append(record(t, "T", 0, []byte("y")), 1, []byte("T"), 0, true); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("append after failure: got %v, want ErrWriteFailed", err)
	}
	if err := l.Flush(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("flush after failure: got %v", err)
	}
	got := make(chan error, 1)
	l.OnFlushed(r.EndOffset+1000, func(err error) { got <- err })
	if err := <-got; !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("new waiter after failure: %v", err)
	}
}

func TestRecoverCorruptionBelowFlushed(t *testing.T) {
	dir := t.TempDir()
	l := testLog(t, dir, false)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	rs := appendN(t, l, 10, 200)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The last record is damaged although a checkpoint says it was flushed: nothing
	// valid follows it, but it is acknowledged data, so it is corruption.
	path := filepath.Join(dir, segment.Name(0))
	b, _ := os.ReadFile(path)
	b[rs[9].EndOffset-30] ^= 1
	b[rs[9].PhysicalOffset+100] ^= 1
	os.WriteFile(path, b, 0o644)
	l2 := testLog(t, dir, false)
	_, err := l2.Recover(RecoverOptions{Flushed: rs[9].EndOffset, From: 0})
	if !errors.Is(err, segment.ErrCorrupt) || !strings.Contains(err.Error(), "below the checkpoint's flushed offset") ||
		!strings.Contains(err.Error(), path) {
		t.Fatalf("got %v", err)
	}
	l2.Abandon()
	l3 := testLog(t, dir, false)
	res, err := l3.Recover(RecoverOptions{Flushed: rs[9].EndOffset, From: 0, TruncateOnCorruption: true})
	if err != nil || res.End != rs[9].PhysicalOffset || !res.Corruption || res.Records != 9 {
		t.Fatalf("truncating recovery: %+v %v", res, err)
	}
	l3.Abandon()
}

func TestRecoverMissingSegment(t *testing.T) {
	dir := t.TempDir()
	l := testLog(t, dir, false)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	rs := appendN(t, l, 60, 1000)
	l.Close()
	missing := filepath.Join(dir, segment.Name(16<<10))
	os.Remove(missing)
	l2 := testLog(t, dir, false)
	if _, err := l2.Recover(RecoverOptions{}); !errors.Is(err, segment.ErrCorrupt) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want corruption naming %s", err, missing)
	}
	l2.Abandon()
	l3 := testLog(t, dir, false)
	res, err := l3.Recover(RecoverOptions{TruncateOnCorruption: true})
	// The log now ends where the missing segment started, after segment 0's blank.
	if err != nil || res.End != 16<<10 || res.Records == 0 || rs[res.Records].PhysicalOffset != 16<<10 {
		t.Fatalf("truncating recovery: %+v %v", res, err)
	}
	l3.Abandon()
}

// TestExclusiveAfterWriteFailure: once a SYNC_FLUSH write failed, Exclusive refuses with
// the failure instead of running fn, whose read of the end (Written) would otherwise
// try to write the dropped staged run under the lock Exclusive holds, and hang.
func TestExclusiveAfterWriteFailure(t *testing.T) {
	l := testLog(t, t.TempDir(), true)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	defer l.Close()
	l.files.Last().Fail(errors.New("injected EIO"))
	r, err := l.Append(record(t, "T", 0, []byte("x")), 1, []byte("T"), 0, true)
	if err == nil {
		err = l.WaitFlushed(t.Context(), r.EndOffset)
	}
	if !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("append or flush on a failed segment: %v, want ErrWriteFailed", err)
	}
	done := make(chan error, 1)
	ran := false
	go func() { done <- l.Exclusive(func() error { ran = true; l.Written(); return nil }) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrWriteFailed) || ran {
			t.Fatalf("Exclusive on a failed log: %v (fn ran: %v), want ErrWriteFailed without running fn", err, ran)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exclusive on a failed log did not return in 10 s")
	}
}
