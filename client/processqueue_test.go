package client

import (
	"context"
	"testing"
	"time"
)

// msgsAt returns messages at the given offsets with 10-byte bodies.
func msgsAt(offs ...int64) []*MessageExt {
	out := make([]*MessageExt, len(offs))
	for i, o := range offs {
		out[i] = &MessageExt{Message: Message{Topic: "T", Body: make([]byte, 10)}, QueueOffset: o}
	}
	return out
}

func newTestPQ(t *testing.T) *processQueue {
	t.Helper()
	pq := newProcessQueue(context.Background(), MessageQueue{Topic: "T", BrokerName: "b", QueueID: 0})
	t.Cleanup(pq.stop)
	return pq
}

func TestProcessQueueCommitPointConcurrent(t *testing.T) {
	pq := newTestPQ(t)
	ms := msgsAt(10, 11, 12, 13)
	if got := pq.put(ms); len(got) != 4 {
		t.Fatalf("put: %d new, want 4", len(got))
	}
	if n, b := pq.cached(); n != 4 || b != 40 {
		t.Fatalf("cached: %d msgs %d bytes, want 4 and 40", n, b)
	}
	var committed []int64
	commit := func(off int64) { committed = append(committed, off) }
	// Finishing out of order: the commit point stays at the oldest unfinished one.
	if off := pq.remove(ms[2:3], commit); off != 10 {
		t.Fatalf("remove 12: commit point %d, want 10", off)
	}
	if off := pq.remove(ms[0:1], commit); off != 11 {
		t.Fatalf("remove 10: commit point %d, want 11", off)
	}
	if off := pq.remove([]*MessageExt{ms[1], ms[3]}, commit); off != 14 {
		t.Fatalf("remove rest: commit point %d, want 14 (max+1)", off)
	}
	if want := []int64{10, 11, 14}; len(committed) != 3 || committed[0] != want[0] || committed[1] != want[1] || committed[2] != want[2] {
		t.Fatalf("commits %v, want %v", committed, want)
	}
	if off := pq.remove(ms[1:2], commit); off != -1 {
		t.Fatalf("remove from empty cache: %d, want -1", off)
	}
	if n, b := pq.cached(); n != 0 || b != 0 {
		t.Fatalf("cached after all removed: %d, %d", n, b)
	}
}

func TestProcessQueuePutDeduplicatesAndSorts(t *testing.T) {
	pq := newTestPQ(t)
	pq.put(msgsAt(5, 6))
	if got := pq.put(msgsAt(6, 7)); len(got) != 1 || got[0].QueueOffset != 7 {
		t.Fatalf("re-put: new %v, want only 7", offsetsOf(got))
	}
	pq.put(msgsAt(3)) // older offset arriving late (after a broker reset) sorts first
	if got := offsetsOf(pq.take(10)); !equalInts(got, []int64{3, 5, 6, 7}) {
		t.Fatalf("take order %v", got)
	}
	// A taken message is still "cached" for dedup purposes.
	if got := pq.put(msgsAt(5)); len(got) != 0 {
		t.Fatalf("put of a taken offset accepted")
	}
}

func TestProcessQueueOrderlyTakeCommitReturn(t *testing.T) {
	pq := newTestPQ(t)
	pq.put(msgsAt(0, 1, 2, 3, 4))
	b1 := pq.take(2)
	if !equalInts(offsetsOf(b1), []int64{0, 1}) {
		t.Fatalf("first batch %v", offsetsOf(b1))
	}
	if b := pq.take(2); b != nil {
		t.Fatalf("second take while a batch is out: %v", offsetsOf(b))
	}
	// Failure: the batch goes back in front, reconsume counted.
	pq.returnTaken()
	b1again := pq.take(2)
	if !equalInts(offsetsOf(b1again), []int64{0, 1}) || b1again[0].ReconsumeTimes != 1 {
		t.Fatalf("retaken %v reconsume %d", offsetsOf(b1again), b1again[0].ReconsumeTimes)
	}
	var got int64 = -2
	if off := pq.commitTaken(func(o int64) { got = o }); off != 2 || got != 2 {
		t.Fatalf("commit: %d (hook %d), want 2", off, got)
	}
	b2 := pq.take(10)
	if !equalInts(offsetsOf(b2), []int64{2, 3, 4}) || b2[0].ReconsumeTimes != 0 {
		t.Fatalf("second batch %v", offsetsOf(b2))
	}
	pq.returnUntouched()
	if b := pq.take(1); b[0].ReconsumeTimes != 0 {
		t.Fatalf("untouched return counted a reconsume")
	}
}

// TestProcessQueueFreezeBlocksCommits is the rebalance guarantee: once frozen, no
// in-flight result moves the offset.
func TestProcessQueueFreezeBlocksCommits(t *testing.T) {
	pq := newTestPQ(t)
	ms := msgsAt(1, 2)
	pq.put(ms)
	taken := pq.take(1)
	if !pq.drop() {
		t.Fatal("first drop reported already dropped")
	}
	if pq.drop() {
		t.Fatal("second drop reported a change")
	}
	called := false
	hook := func(int64) { called = true }
	if off := pq.remove(ms[1:], hook); off != -1 || called {
		t.Fatalf("remove after freeze: %d, hook %v", off, called)
	}
	if off := pq.commitTaken(hook); off != -1 || called {
		t.Fatalf("commitTaken after freeze: %d, hook %v", off, called)
	}
	pq.skipTo(50, hook)
	pq.reset(60, hook)
	if called || pq.commit(func() { called = true }) {
		t.Fatal("commit ran after freeze")
	}
	if got := pq.put(msgsAt(9)); len(got) != 0 {
		t.Fatal("put after freeze cached messages")
	}
	if !pq.stopped() || pq.ctx.Err() == nil {
		t.Fatal("drop did not stop the queue")
	}
	_ = taken
}

func TestProcessQueueSkipToAndReset(t *testing.T) {
	pq := newTestPQ(t)
	var last int64 = -1
	hook := func(o int64) { last = o }
	pq.skipTo(7, hook) // empty cache: the queue's point moves
	if last != 7 {
		t.Fatalf("skipTo on empty cache committed %d, want 7", last)
	}
	ms := msgsAt(7, 8)
	pq.put(ms)
	last = -1
	pq.skipTo(20, hook) // messages cached: no commit, but max moves
	if last != -1 {
		t.Fatalf("skipTo with cached messages committed %d", last)
	}
	if off := pq.remove(ms, hook); off != 20 {
		t.Fatalf("commit point after skip %d, want 20", off)
	}
	pq.put(msgsAt(20, 21))
	pq.reset(5, hook) // the broker moved the offset back
	if last != 5 {
		t.Fatalf("reset committed %d, want 5", last)
	}
	if n, _ := pq.cached(); n != 0 {
		t.Fatalf("reset kept %d messages", n)
	}
}

func TestProcessQueueSpanAndSignals(t *testing.T) {
	pq := newTestPQ(t)
	if pq.span() != 0 {
		t.Fatal("span of empty queue")
	}
	ms := msgsAt(100, 150, 400)
	pq.put(ms)
	select {
	case <-pq.ready:
	default:
		t.Fatal("put did not signal ready")
	}
	if s := pq.span(); s != 300 {
		t.Fatalf("span %d, want 300", s)
	}
	pq.remove(ms[:1], nil)
	select {
	case <-pq.space:
	default:
		t.Fatal("remove did not signal space")
	}
	if s := pq.span(); s != 250 {
		t.Fatalf("span %d, want 250", s)
	}
}

func TestProcessQueueLockValidity(t *testing.T) {
	pq := newTestPQ(t)
	t0 := time.Unix(1000, 0)
	if pq.lockValid(t0, 30*time.Second) {
		t.Fatal("valid before locking")
	}
	pq.setLocked(true, t0)
	if !pq.lockValid(t0.Add(29*time.Second), 30*time.Second) {
		t.Fatal("not valid within ttl")
	}
	if pq.lockValid(t0.Add(30*time.Second), 30*time.Second) {
		t.Fatal("valid at ttl")
	}
	pq.setLocked(false, t0.Add(time.Second))
	if pq.lockValid(t0.Add(time.Second), 30*time.Second) || pq.isLocked() {
		t.Fatal("valid after unlock")
	}
}

func TestProcessQueueWaitIdle(t *testing.T) {
	pq := newTestPQ(t)
	pq.beginConsume()
	done := make(chan bool)
	go func() { done <- pq.waitIdle(context.Background()) }()
	pq.endConsume()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("waitIdle gave up")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitIdle did not return")
	}
	pq.beginConsume()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if pq.waitIdle(ctx) {
		t.Fatal("waitIdle with a call in flight and a dead context reported idle")
	}
}

func offsetsOf(ms []*MessageExt) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.QueueOffset
	}
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkProcessQueuePutRemove(b *testing.B) {
	pq := newProcessQueue(context.Background(), MessageQueue{Topic: "T", BrokerName: "b"})
	defer pq.stop()
	batch := make([]*MessageExt, 32)
	b.ReportAllocs()
	b.SetBytes(32 * 1024)
	var off int64
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j] = &MessageExt{Message: Message{Body: make([]byte, 1024)}, QueueOffset: off}
			off++
		}
		pq.put(batch)
		for _, m := range batch {
			pq.remove([]*MessageExt{m}, nil)
		}
	}
}
