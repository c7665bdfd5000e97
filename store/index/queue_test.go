package index

import (
	"os"
	"testing"
)

// TestTruncateDropsQueued: entries Add queued but has not written are dropped by
// Truncate; the next Commit must not write them past the cut.
func TestTruncateDropsQueued(t *testing.T) {
	x := openSized(t, t.TempDir(), 7, 1000)
	addRange(t, x, 0, 500)
	mustAdd(t, x, "T", "k", 500) // queued, not written
	mustAdd(t, x, "T", "q", 500)
	if len(x.queued) == 0 {
		t.Fatal("nothing queued")
	}
	if err := x.Truncate(250); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, x, 250)
	want(t, x, "T", "k", 200, 100, 0)
	want(t, x, "T", "q")
}

// TestCommitDrainFails: when writing the queue at Commit fails (here the next file
// cannot be created), Commit reports it, commits nothing, keeps the applied offset,
// and drops the queue: the round added again is found exactly once and nothing of the
// failed round is written later.
func TestCommitDrainFails(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 3, 4)
	addRange(t, x, 0, 200) // 4 entries: the first file is full
	// A directory where the next file goes: the roll fails.
	block := x.path(2)
	if err := os.Mkdir(block, 0o755); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, x, "T", "k", 200)
	mustAdd(t, x, "T", "u200", 200)
	if err := x.Commit(300); err == nil {
		t.Fatal("commit succeeded although the entries could not be written")
	}
	wantApplied(t, x, 200)
	want(t, x, "T", "k", 100, 0)
	if len(x.queued) != 0 || x.pend != 0 {
		t.Fatalf("after the failure: %d queued, %d pending", len(x.queued), x.pend)
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	// Another round, without the failed one's entries.
	mustAdd(t, x, "T", "v200", 200)
	mustCommit(t, x, 300)
	want(t, x, "T", "u200")
	want(t, x, "T", "v200", 200)
	want(t, x, "T", "k", 100, 0)
	if n := x.last().n; n != 1 {
		t.Fatalf("%d entries in the new file, want 1", n)
	}
}

// TestWrittenUncommittedInvisible: entries written into the chains (more than a queue
// of them) but not committed are passed over by Query. TestRoundTripCollisions checks
// this with fewer entries than a queue holds, which are never written before Commit.
func TestWrittenUncommittedInvisible(t *testing.T) {
	x := openSized(t, t.TempDir(), 2, 1000)
	addRange(t, x, 0, 200)
	for off := int64(200); off < 200+queuedKeys*100; off += 100 {
		mustAdd(t, x, "T", "k", off)
	}
	if x.pend == 0 {
		t.Fatal("no entry written before the commit")
	}
	want(t, x, "T", "k", 100, 0)
	mustCommit(t, x, 200+queuedKeys*100)
	want(t, x, "T", "k", desc(100+queuedKeys*100, 0)...)
}

// TestFull: Full turns true exactly when maxBatchKeys entries were added since the
// last commit, and false again after it.
func TestFull(t *testing.T) {
	x := openTemp(t)
	key := []byte("k00000")
	for i := 0; i < maxBatchKeys; i++ {
		if x.Full() {
			t.Fatalf("full after %d entries", i)
		}
		key[5] = byte('0' + i%10)
		if err := x.Add([]byte("T"), key, int64(i)*100, 1); err != nil {
			t.Fatal(err)
		}
	}
	if !x.Full() {
		t.Fatalf("not full after %d entries", maxBatchKeys)
	}
	mustCommit(t, x, int64(maxBatchKeys)*100)
	if x.Full() {
		t.Fatal("full after the commit")
	}
}
