package commitlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
)

// writerBody is the body of record seq of writer w: it names both, so that a record
// read back after a restart proves which acknowledged write it is.
func writerBody(w, seq int) []byte {
	b := make([]byte, 300)
	copy(b, fmt.Sprintf("writer %d record %d|", w, seq))
	binary.BigEndian.PutUint64(b[len(b)-8:], uint64(w)<<32|uint64(seq))
	return b
}

// startedSyncLog returns a recovered, started SYNC_FLUSH log in a new directory.
func startedSyncLog(t *testing.T) *Log {
	t.Helper()
	l := testLog(t, t.TempDir(), true)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	return l
}

type ackedRec struct {
	pos, end int64
	body     []byte
}

// TestGroupCommitAcksAreDurable runs concurrent SYNC_FLUSH writers that each wait for
// their record's flush before the next. Every acknowledgement must come after an msync
// that covered the record (the msyncs are watched as they return), the msyncs must be
// far fewer than the writes, and after a crash (no final flush) and a reopen every
// acknowledged record must be read back at its offset, intact.
func TestGroupCommitAcksAreDurable(t *testing.T) {
	const writers, perWriter = 32, 40
	dir := t.TempDir()
	l := testLog(t, dir, true)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	// msynced is how far the log has been msynced without a gap, as the msyncs
	// themselves report it.
	var msynced atomic.Int64
	var gap atomic.Value
	l.fl.synced = func(from, to int64) {
		if from != msynced.Load() {
			gap.Store(fmt.Sprintf("msync of [%d, %d) after [0, %d)", from, to, msynced.Load()))
		}
		msynced.Store(to)
	}
	l.Start()
	var mu sync.Mutex
	var acked []ackedRec
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; seq < perWriter; seq++ {
				body := writerBody(w, seq)
				rec := record(t, "T", int32(w%4), body)
				r, err := l.Append(rec, 1, []byte("T"), int32(w%4), true)
				if err != nil {
					t.Errorf("writer %d append %d: %v", w, seq, err)
					return
				}
				if err := l.WaitFlushed(t.Context(), r.EndOffset); err != nil {
					t.Errorf("writer %d flush %d: %v", w, seq, err)
					return
				}
				if got := msynced.Load(); got < r.EndOffset {
					t.Errorf("writer %d record %d at [%d, %d) acknowledged with only [0, %d) msynced",
						w, seq, r.PhysicalOffset, r.EndOffset, got)
				}
				mu.Lock()
				acked = append(acked, ackedRec{r.PhysicalOffset, r.EndOffset, body})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if g := gap.Load(); g != nil {
		t.Fatalf("the msyncs left a gap: %s", g)
	}
	writes := int64(writers * perWriter)
	if len(acked) != int(writes) {
		t.Fatalf("%d of %d writes acknowledged", len(acked), writes)
	}
	flushes := l.Flushes()
	t.Logf("%d writes, %d msync rounds (%.1f records per msync)", writes, flushes, float64(writes)/float64(flushes))
	if flushes <= 0 || flushes > writes/4 {
		t.Fatalf("%d msync rounds for %d concurrent writes: group commit should need at most a quarter", flushes, writes)
	}
	l.Abandon() // a crash: no final flush

	l2 := testLog(t, dir, true)
	if _, err := l2.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	defer l2.Abandon()
	for _, a := range acked {
		rec, err := l2.Record(a.pos)
		if err != nil {
			t.Fatalf("acknowledged record at %d: %v", a.pos, err)
		}
		if int64(len(rec)) != a.end-a.pos || !bytes.Equal(message.RecordBody(rec), a.body) {
			t.Fatalf("acknowledged record at %d: %d bytes, body %q..., want %d bytes, body %q...",
				a.pos, len(rec), message.RecordBody(rec)[:24], a.end-a.pos, a.body[:24])
		}
	}
}

// TestLoneProducerFlushesAtOnce checks that a single producer's record is flushed by
// an msync of its own, not held back to batch with records that never come.
func TestLoneProducerFlushesAtOnce(t *testing.T) {
	l := startedSyncLog(t)
	defer l.Close()
	const n = 50
	for i := 0; i < n; i++ {
		r, err := l.Append(record(t, "T", 0, writerBody(0, i)), 1, []byte("T"), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.WaitFlushed(t.Context(), r.EndOffset); err != nil {
			t.Fatal(err)
		}
		if got := l.Flushed(); got < r.EndOffset {
			t.Fatalf("record %d acknowledged at flushed %d < end %d", i, got, r.EndOffset)
		}
	}
	if got := l.Flushes(); got != n {
		t.Fatalf("%d msync rounds for %d records written one at a time, want one each", got, n)
	}
}

// TestFlushErrorFailsEveryWaiter queues many waiters, some through OnFlushed and some
// blocked in WaitFlushed, behind a flush whose msync fails: every one of them must get
// the error (naming its cause) exactly once, and so must every later waiter, flush and
// append.
func TestFlushErrorFailsEveryWaiter(t *testing.T) {
	l := startedSyncLog(t)
	defer l.Close()
	// Hold the flusher off until every waiter is queued.
	l.fl.syncMu.Lock()
	const n = 40
	var calls [n]atomic.Int32
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		r, err := l.Append(record(t, "T", 0, writerBody(0, i)), 1, []byte("T"), 0, true)
		if err != nil {
			l.fl.syncMu.Unlock()
			t.Fatal(err)
		}
		if i%2 == 0 {
			l.OnFlushed(r.EndOffset, func(err error) {
				calls[i].Add(1)
				errs <- err
			})
			continue
		}
		go func() {
			err := l.WaitFlushed(t.Context(), r.EndOffset)
			calls[i].Add(1)
			errs <- err
		}()
	}
	testutil.Eventually(t, 10*time.Second, "all waiters queued", func() bool { return l.fl.w.n.Load() == n })
	l.files.Last().Fail(errors.New("injected EIO"))
	l.fl.syncMu.Unlock()
	for i := 0; i < n; i++ {
		err := <-errs
		if !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), "injected EIO") {
			t.Fatalf("waiter got %v, want ErrWriteFailed naming the cause", err)
		}
	}
	for i := range calls {
		if c := calls[i].Load(); c != 1 {
			t.Fatalf("waiter %d completed %d times", i, c)
		}
	}
	if err := l.WaitFlushed(t.Context(), l.Written()+1); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("waiter after the failure: %v", err)
	}
	if err := l.Flush(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("flush after the failure: %v", err)
	}
	if _, err := l.Append(record(t, "T", 0, []byte("x")), 1, []byte("T"), 0, true); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("append after the failure: %v", err)
	}
}
