package commitlog

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// TestStartPrimesAhead pins the priming (prepare.go): right after Start, before any
// append, the preparer has prepared the active segment and created and prepared the
// next one, so the first appends find their pages ready.
func TestStartPrimesAhead(t *testing.T) {
	for _, sync := range []bool{false, true} {
		l := testLog(t, t.TempDir(), sync)
		if _, err := l.Recover(RecoverOptions{}); err != nil {
			t.Fatal(err)
		}
		l.Start()
		want := 2 * l.o.SegmentBytes // the active segment and the one created ahead
		testutil.Eventually(t, 10*time.Second, "pages prepared ahead without an append", func() bool {
			l.prep.mu.Lock()
			next := l.prep.next
			l.prep.mu.Unlock()
			return l.prepMark().Load() >= want && next != nil && next.Start() == l.o.SegmentBytes
		})
		if w := l.Written(); w != 0 {
			t.Fatalf("sync=%v: written %d after priming, want 0", sync, w)
		}
		l.Close()
	}
}

// TestPausePopulate pins the preparer's pacing (prepare.go): no pause while the writer
// is within half of populateAhead of the populated end, a pause as long as the chunk
// took otherwise, cut short (false) when the log closes.
func TestPausePopulate(t *testing.T) {
	l := testLog(t, t.TempDir(), false)
	l.written.Store(10 << 20)
	ahead := int64(populateAhead)
	done := make(chan bool, 1)
	go func() { done <- l.pausePopulate(10<<20+ahead/2-1, ahead, time.Hour) }()
	if got := <-done; !got {
		t.Fatal("close to the writer: pausePopulate returned false, want true at once")
	}
	began := time.Now()
	if !l.pausePopulate(10<<20+ahead/2, ahead, 20*time.Millisecond) {
		t.Fatal("far ahead: pausePopulate returned false, want true after the pause")
	}
	if took := time.Since(began); took < 20*time.Millisecond {
		t.Fatalf("far ahead: paused %v, want at least the chunk's 20ms", took)
	}
	go func() { done <- l.pausePopulate(10<<20+ahead, ahead, time.Hour) }()
	close(l.stop)
	if got := <-done; got {
		t.Fatal("closing: pausePopulate returned true, want false")
	}
}

// TestPreparerPausesFarAhead: the preparer itself paces its refill. With a segment
// larger than populateAhead and nothing appended, it populates populateAhead in
// populateChunk steps and pauses after exactly the chunks that end at least half of
// populateAhead past the writer (at 0): those ending at 32, 33, … 64 MiB.
func TestPreparerPausesFarAhead(t *testing.T) {
	l := New(Options{
		Dir:              t.TempDir(),
		SegmentBytes:     2 * populateAhead,
		FlushInterval:    time.Hour,
		SyncFlushTimeout: 5 * time.Second,
		Logger:           zerolog.New(zerolog.NewTestWriter(t)),
	})
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	defer l.Close()
	want := int64((populateAhead-populateAhead/2)/populateChunk + 1)
	testutil.Eventually(t, 30*time.Second, "populateAhead populated", func() bool {
		return l.prep.populated.Load() >= populateAhead && l.prep.pauses.Load() >= want
	})
	if got := l.prep.pauses.Load(); got != want || l.prep.populated.Load() != populateAhead {
		t.Fatalf("%d pauses with %d bytes populated, want %d pauses at %d", got, l.prep.populated.Load(), want, populateAhead)
	}
}
