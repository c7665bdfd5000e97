package commitlog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
)

// TestCommitWaitsForZerosAhead stages a record into a range the preparer has claimed for
// its zeros (the appender overtook it) and checks that the flusher's write of the record
// waits until the zeros are in: written the other way round, the zeros would replace an
// acknowledged record on disk. The record must then read back intact, before and after a
// crash.
func TestCommitWaitsForZerosAhead(t *testing.T) {
	dir := t.TempDir()
	l := testLog(t, dir, true) // not started: no preparer of its own claims anything
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	seg := l.files.Last()
	from := l.written.Load()
	c := &zeroClaim{seg: seg, from: from, to: seg.End(), done: make(chan struct{})}
	l.prep.zero.cur.Store(c)
	// The preparer's side ends by releasing the claim; a test that fails before then
	// still releases it, or the flush goroutine would hold l.mu for ever.
	var once sync.Once
	release := func() {
		once.Do(func() {
			l.prep.zero.cur.Store(nil)
			close(c.done)
		})
	}
	t.Cleanup(release)

	body := bytes.Repeat([]byte("z"), 900)
	r, err := l.Append(record(t, "T", 0, body), 1, []byte("T"), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- l.Flush() }()
	testutil.Eventually(t, 10*time.Second, "the flusher's commit to wait for the claim", func() bool {
		return l.prep.zero.waits.Load() == 1
	})
	select {
	case err := <-flushed:
		t.Fatalf("flush returned (%v) while the zeros over [%d, %d) were still being written", err, c.from, c.to)
	default:
	}
	if w := l.written.Load(); w != from {
		t.Fatalf("the record was written (end %d) before the zeros under it", w)
	}

	// The preparer's side: its zeros land, then it releases the claim.
	if err := seg.WriteZeros(c.from-seg.Start(), c.to-seg.Start()); err != nil {
		t.Fatal(err)
	}
	release()
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flush still blocked after the zeros were released")
	}
	if got := l.Flushed(); got != r.EndOffset {
		t.Fatalf("flushed through %d, want %d", got, r.EndOffset)
	}
	check := func(l *Log, when string) {
		t.Helper()
		rec, err := l.Record(r.PhysicalOffset)
		if err != nil {
			t.Fatalf("%s: record at %d: %v", when, r.PhysicalOffset, err)
		}
		if !bytes.Equal(message.RecordBody(rec), body) {
			t.Fatalf("%s: record at %d has body %q…, want %q…", when, r.PhysicalOffset, message.RecordBody(rec)[:8], body[:8])
		}
	}
	check(l, "before the crash")
	l.Abandon()

	l2 := testLog(t, dir, true)
	res, err := l2.Recover(RecoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Abandon()
	if res.End != r.EndOffset {
		t.Fatalf("recovered end %d, want %d", res.End, r.EndOffset)
	}
	check(l2, "after the crash")
}

// TestZeroAheadStaysPastTheWriter checks the preparer's own bound: a range it is asked
// to zero is cut at the write position taken under the lock, so zeros never land on
// what is staged or written.
func TestZeroAheadStaysPastTheWriter(t *testing.T) {
	l := testLog(t, t.TempDir(), true)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	defer l.Abandon()
	body := bytes.Repeat([]byte("w"), 700)
	rs := make([]Result, 3)
	for i := range rs {
		var err error
		if rs[i], err = l.Append(record(t, "T", 0, body), 1, []byte("T"), 0, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	// One more record, staged only: the claim must start past it (at the append
	// position, not at what is written), so that the commit of the record does not wait
	// for zeros that would otherwise land where it goes.
	last, err := l.Append(record(t, "T", 0, body), 1, []byte("T"), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	seg := l.files.Last()
	claims := make(chan *zeroClaim, 1)
	hold := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	l.prep.zero.claimed = func(c *zeroClaim) {
		claims <- c
		<-hold
	}
	zeroed := make(chan bool, 1)
	go func() { zeroed <- l.zeroAhead(seg, seg.Start(), seg.End()) }() // asked for the whole segment
	var c *zeroClaim
	select {
	case c = <-claims:
	case <-time.After(10 * time.Second):
		t.Fatal("zeroAhead took no claim")
	}
	if c.from != last.EndOffset || c.to != seg.End() {
		t.Fatalf("claim [%d, %d), want [%d, %d): past the staged record", c.from, c.to, last.EndOffset, seg.End())
	}
	// The commit runs while the claim is held.
	flushed := make(chan error, 1)
	go func() { flushed <- l.Flush() }()
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the commit of the staged record waited for a claim past it")
	}
	if w := l.prep.zero.waits.Load(); w != 0 {
		t.Fatalf("%d writes waited for the claim", w)
	}
	release()
	if !<-zeroed {
		t.Fatal("zeroAhead reported its zeros not written")
	}
	for _, r := range append(rs, last) {
		rec, err := l.Record(r.PhysicalOffset)
		if err != nil {
			t.Fatalf("record at %d after zeros ahead: %v", r.PhysicalOffset, err)
		}
		if !bytes.Equal(message.RecordBody(rec), body) {
			t.Fatalf("record at %d lost its body to the zeros", r.PhysicalOffset)
		}
	}
	// And past the end the file holds zeros now.
	end := last.EndOffset - seg.Start()
	if tail := seg.Bytes()[end:]; !allZeros(tail) {
		t.Fatal("the range past the writer is not zero")
	}
}

func allZeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TestZeroAheadFailureFailsTheLog injects a write failure into the segment the preparer
// writes its zeros to and checks that the log fails as on a failed msync: every
// SYNC_FLUSH waiter gets the error, none an acknowledgement, later appends and flushes
// are refused, and the range is not counted as zeroed.
func TestZeroAheadFailureFailsTheLog(t *testing.T) {
	l := testLog(t, t.TempDir(), true)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	defer l.Abandon()
	l.files.Last().Fail(errors.New("injected EIO"))
	const n = 3
	got := make(chan error, n)
	for _, r := range appendN(t, l, n, 200) {
		l.OnFlushed(r.EndOffset, func(err error) { got <- err })
	}
	// Only the preparer runs: nothing but its zeros touches the file.
	l.wg.Add(1)
	go l.prepareLoop()
	l.prep.wake()

	testutil.Eventually(t, 10*time.Second, "the log to fail", func() bool { return l.Err() != nil })
	if err := l.Err(); !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), "injected EIO") {
		t.Fatalf("log failed with %v, want ErrWriteFailed naming the cause", err)
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-got:
			if !errors.Is(err, ErrWriteFailed) {
				t.Fatalf("waiter got %v, want ErrWriteFailed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d waiters still waiting after the log failed", n-i, n)
		}
	}
	if _, err := l.Append(record(t, "T", 0, []byte("x")), 1, []byte("T"), 0, true); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("append after the failure: got %v, want ErrWriteFailed", err)
	}
	if err := l.Flush(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("flush after the failure: got %v, want ErrWriteFailed", err)
	}
	if z := l.prep.zeroed.Load(); z != 0 {
		t.Fatalf("the preparer counts [0, %d) as zeroed after its write failed", z)
	}
}

// TestZeroAheadOnReplica checks a SYNC_FLUSH log sealed as a replica's (Store.SetReplica):
// the seal refuses appends, not the preparer, so zeros still go ahead of the replicated
// runs, and those runs, copied into the mapping, read back intact and survive a restart.
func TestZeroAheadOnReplica(t *testing.T) {
	master := openRecovered(t, t.TempDir())
	defer master.Close()
	appendN(t, master, 40, 700) // about 1.7 segments of 16 KiB
	dir := t.TempDir()
	slave := fixedLog(t, dir, true)
	slave.Seal()
	for pos := int64(0); pos < master.Written(); {
		b, err := master.ReadRaw(pos, 3000)
		if err != nil {
			t.Fatal(err)
		}
		if pos, err = slave.AppendRaw(pos, b); err != nil {
			t.Fatalf("append raw at %d: %v", pos, err)
		}
	}
	end := master.Written()
	active := slave.files.Find(end)
	testutil.Eventually(t, 10*time.Second, "zeros written through the end of the active segment", func() bool {
		return slave.prep.zeroed.Load() >= active.End()
	})
	if got, want := readAll(t, slave, 0, end), readAll(t, master, 0, end); !bytes.Equal(got, want) {
		t.Fatal("the replica's log differs from the master's")
	}
	if err := slave.Close(); err != nil {
		t.Fatal(err)
	}
	again := fixedLog(t, dir, true)
	defer again.Close()
	if again.Written() != end {
		t.Fatalf("recovered replica ends at %d, want %d", again.Written(), end)
	}
	if got, want := readAll(t, again, 0, end), readAll(t, master, 0, end); !bytes.Equal(got, want) {
		t.Fatal("the recovered replica's log differs from the master's")
	}
}

// TestZeroAheadInWholeChunks runs the preparer under SYNC_FLUSH while a producer appends
// and flushes round after round, and checks that every range of zeros it writes ends on
// a chunk boundary (or a segment's end): once the writer moves, a preparer that zeroed
// exactly syncAhead past it would chase it with a few KiB after every round, and each
// such write-back converts an extent whose new state the next msync must write out.
func TestZeroAheadInWholeChunks(t *testing.T) {
	l := New(Options{
		Dir:              t.TempDir(),
		SegmentBytes:     4 * syncChunk,
		SyncFlush:        true,
		FlushInterval:    time.Hour,
		SyncFlushTimeout: 5 * time.Second,
		Logger:           zerolog.New(zerolog.NewTestWriter(t)),
	})
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var claims [][2]int64
	l.prep.zero.claimed = func(c *zeroClaim) {
		mu.Lock()
		claims = append(claims, [2]int64{c.from, c.to})
		mu.Unlock()
	}
	l.Start()
	defer l.Close()
	// Past half of syncAhead, so that the preparer is woken again with the writer
	// inside a chunk, and into the second segment.
	rec := record(t, "T", 0, make([]byte, 8<<10))
	for l.Written() < syncAhead/2+syncChunk+syncChunk/3 {
		var end int64
		for range 8 {
			r, err := l.Append(rec, 1, []byte("T"), 0, true)
			if err != nil {
				t.Fatal(err)
			}
			end = r.EndOffset
		}
		if err := l.WaitFlushed(context.Background(), end); err != nil {
			t.Fatal(err)
		}
	}
	w := l.Written()
	// The writer went past half of syncAhead: the preparer was woken again and
	// zeroes (or zeroed) up to a chunk boundary at least syncAhead past where it was.
	testutil.Eventually(t, 10*time.Second, "zeros past the first syncAhead", func() bool {
		return l.prep.zeroed.Load() >= syncAhead+syncAhead/2
	})
	mu.Lock()
	defer mu.Unlock()
	zeroed := l.prep.zeroed.Load()
	for _, c := range claims {
		if c[1]%syncChunk != 0 {
			t.Errorf("zeros over [%d, %d): the end is not on a %d-byte chunk boundary", c[0], c[1], syncChunk)
		}
	}
	// [0, zeroed) in whole chunks, plus one in progress and one cut short by the writer.
	if most := int(zeroed/syncChunk) + 2; len(claims) > most {
		t.Errorf("%d ranges of zeros for %d bytes (writer at %d), want at most %d: %v", len(claims), zeroed, w, most, claims)
	}
}
