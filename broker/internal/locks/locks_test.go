package locks

import (
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
)

func mqs(ids ...int32) []body.MessageQueue {
	out := make([]body.MessageQueue, len(ids))
	for i, id := range ids {
		out[i] = body.MessageQueue{Topic: "T", BrokerName: "broker-a", QueueID: id}
	}
	return out
}

func queueIDs(qs []body.MessageQueue) []int32 {
	out := make([]int32, len(qs))
	for i, q := range qs {
		out[i] = q.QueueID
	}
	return out
}

func TestLockLeaseExclusive(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := New(clock, 60*time.Second, zerolog.Nop())

	if got := queueIDs(l.TryLockBatch("g", "A", mqs(0, 1))); !slices.Equal(got, []int32{0, 1}) {
		t.Fatalf("A locks 0,1: got %v", got)
	}
	if got := queueIDs(l.TryLockBatch("g", "B", mqs(1, 2))); !slices.Equal(got, []int32{2}) {
		t.Fatalf("B locks 1,2 while A holds 1: got %v, want [2]", got)
	}
	// Another group is a separate namespace.
	if got := queueIDs(l.TryLockBatch("other", "B", mqs(1))); !slices.Equal(got, []int32{1}) {
		t.Fatalf("B locks 1 in another group: got %v", got)
	}

	// A renews at 59 s; B still cannot take queue 1 at 60 s or 119 s.
	now = now.Add(59 * time.Second)
	if got := queueIDs(l.TryLockBatch("g", "A", mqs(1))); !slices.Equal(got, []int32{1}) {
		t.Fatalf("A renews 1: got %v", got)
	}
	now = now.Add(60 * time.Second) // 60 s after the renewal: still live
	if got := l.TryLockBatch("g", "B", mqs(1)); len(got) != 0 {
		t.Fatalf("B took queue 1 before A's lease lapsed: %v", got)
	}
	if h, ok := l.Holder("g", mqs(1)[0]); !ok || h != "A" {
		t.Fatalf("holder: got %q, %v", h, ok)
	}

	// One more second and the lease has lapsed: B gets it, and then A does not.
	now = now.Add(time.Second)
	if got := queueIDs(l.TryLockBatch("g", "B", mqs(1))); !slices.Equal(got, []int32{1}) {
		t.Fatalf("B after expiry: got %v, want [1]", got)
	}
	if got := l.TryLockBatch("g", "A", mqs(1)); len(got) != 0 {
		t.Fatalf("A regained queue 1 held by B: %v", got)
	}
}

func TestLockUnlock(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := New(clock, 60*time.Second, zerolog.Nop())
	l.TryLockBatch("g", "A", mqs(0, 1))

	l.UnlockBatch("g", "B", mqs(0)) // not B's: no effect
	if got := l.TryLockBatch("g", "B", mqs(0)); len(got) != 0 {
		t.Fatalf("B took queue 0 after unlocking it without holding it: %v", got)
	}
	l.UnlockBatch("g", "A", mqs(0))
	if got := queueIDs(l.TryLockBatch("g", "B", mqs(0))); !slices.Equal(got, []int32{0}) {
		t.Fatalf("B after A unlocked: got %v, want [0]", got)
	}
	if _, ok := l.Holder("g", mqs(2)[0]); ok {
		t.Fatal("holder of a never-locked queue reported ok")
	}
}

func TestLockPurgeAndBound(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := New(clock, 60*time.Second, zerolog.Nop())
	l.max = 3
	if got := l.TryLockBatch("g", "A", mqs(0, 1, 2, 3, 4)); len(got) != 3 {
		t.Fatalf("at the bound of 3: got %v", got)
	}
	// A queue already in the table can still be renewed at the bound.
	if got := l.TryLockBatch("g", "A", mqs(0)); len(got) != 1 {
		t.Fatalf("renewal at the bound: got %v", got)
	}
	now = now.Add(61 * time.Second)
	l.PurgeExpired()
	l.mu.Lock()
	count, groups := l.mu.count, len(l.mu.groups)
	l.mu.Unlock()
	if count != 0 || groups != 0 {
		t.Fatalf("after purge: %d entries in %d groups, want none", count, groups)
	}
	if got := l.TryLockBatch("g", "B", mqs(3, 4)); len(got) != 2 {
		t.Fatalf("after purge: got %v, want both", got)
	}
	l.UnlockBatch("g", "B", mqs(3, 4))
	l.mu.Lock()
	count = l.mu.count
	l.mu.Unlock()
	if count != 0 {
		t.Fatalf("after unlock: count %d, want 0", count)
	}
}

func BenchmarkTryLockBatch(b *testing.B) {
	l := New(time.Now, DefaultLease, zerolog.Nop())
	qs := mqs(0, 1, 2, 3, 4, 5, 6, 7)
	b.ReportAllocs()
	b.SetBytes(int64(len(qs)))
	for b.Loop() {
		if got := l.TryLockBatch("g", "client", qs); len(got) != len(qs) {
			b.Fatal(got)
		}
	}
}
