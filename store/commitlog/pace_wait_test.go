package commitlog

import (
	"context"
	"sync"
	"testing"
	"time"
)

// slowPacedLog is pacedLog with every msync made to take at least stepTime more (the
// synced hook sleeps), so that a paced flush of a few MiB lasts its whole budget. It
// returns the log, the recorded msyncs and a channel closed once the second msync of
// the periodic flush returned (the flush is pacing from then on).
func slowPacedLog(t *testing.T, interval, stepTime time.Duration) (*Log, func() [][2]int64, <-chan struct{}) {
	t.Helper()
	l, _ := pacedLog(t, interval)
	var mu sync.Mutex
	var msyncs [][2]int64
	pacing := make(chan struct{})
	l.fl.synced = func(from, to int64) {
		time.Sleep(stepTime)
		mu.Lock()
		msyncs = append(msyncs, [2]int64{from, to})
		if len(msyncs) == 2 {
			close(pacing)
		}
		mu.Unlock()
	}
	return l, func() [][2]int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([][2]int64(nil), msyncs...)
	}, pacing
}

// TestPacedFlushServesWaiterAtOnce: a waiter that arrives while the periodic flush is
// pacing (a broker's flush request under ASYNC_FLUSH) is served within about one step,
// not once the pacing budget (a quarter interval) has run out: its kick ends the pacing.
func TestPacedFlushServesWaiterAtOnce(t *testing.T) {
	const interval = 2 * time.Second // budget 500ms
	l, msyncs, pacing := slowPacedLog(t, interval, 5*time.Millisecond)
	appendN(t, l, 3000, 1000) // ~3 MiB: ~90 steps of >= 10ms, longer than the budget
	l.Start()
	defer l.Close()
	select {
	case <-pacing:
	case <-time.After(10 * time.Second):
		t.Fatal("no paced flush started")
	}
	r := appendN(t, l, 1, 1000)[0]
	began := time.Now()
	if err := l.WaitFlushed(context.Background(), r.EndOffset); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if budget := l.paceBudget(); took > budget/2 {
		t.Fatalf("waiter served after %v, want well within the pacing budget %v (msyncs %d)", took, budget, len(msyncs()))
	}
	if got := l.Flushed(); got != r.EndOffset {
		t.Fatalf("flushed %d, want %d (the waiter's record end)", got, r.EndOffset)
	}
}

// TestPacedFlushCloseDoesNotWaitForPacing: Close during a pacing flush returns within
// about one step, not once the pacing budget has run out, with everything flushed.
func TestPacedFlushCloseDoesNotWaitForPacing(t *testing.T) {
	const interval = 2 * time.Second
	l, _, pacing := slowPacedLog(t, interval, 5*time.Millisecond)
	rs := appendN(t, l, 3000, 1000)
	l.Start()
	select {
	case <-pacing:
	case <-time.After(10 * time.Second):
		t.Fatal("no paced flush started")
	}
	began := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if took, budget := time.Since(began), l.paceBudget(); took > budget/2 {
		t.Fatalf("close took %v, want well within the pacing budget %v", took, budget)
	}
	if got, want := l.Flushed(), rs[len(rs)-1].EndOffset; got != want {
		t.Fatalf("flushed %d after close, want %d", got, want)
	}
}
