package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// A log cut below the checkpoint's ConsumeQueue progress (corruption under
// truncateOnCorruption) ends recovery with the queues opened again, trimmed to the new
// end: the fused re-dispatch trusted them further, and nothing past the cut may stay
// readable.
func TestFusedRecoveryLogEndsBelowQueues(t *testing.T) {
	const queues, n, bad = 3, 60, 41
	o := testOptions(t, AsyncFlush)
	o.CommitLogSegmentBytes = 16 << 10
	o.CheckpointInterval = time.Hour
	o.FlushInterval = time.Hour // the checkpoint's flushed offset stays behind its queues
	o.TruncateOnCorruption = true
	s := openT(t, o)
	ws := fill(t, s, n, queues, 300)
	syncDispatch(t, s)
	if err := s.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if cp := s.lastCheckpoint; cp.GetFlushedOffset() > ws[bad].phys || cp.GetApplied()[appliedConsumeQueue] != ws[n-1].end {
		t.Fatalf("checkpoint %v: want it flushed below %d and its queues at %d", cp, ws[bad].phys, ws[n-1].end)
	}
	s.crash()

	// Damage record bad's body: valid records follow it, so it is corruption, cut as
	// configured, below what the checkpoint's queues hold.
	segBytes := o.CommitLogSegmentBytes
	start := ws[bad].phys / segBytes * segBytes
	path := filepath.Join(o.Dir, commitLogDir, segment.Name(start))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[ws[bad].props-start-10] ^= 0xFF // inside the body: topic "R" and the lengths follow it
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	s = openT(t, o)
	st := s.RecoveryStats()
	if !st.Corruption || st.TruncatedAt != ws[bad].phys || st.EndOffset != ws[bad].phys {
		t.Fatalf("recovery stats %+v: want the log cut at %d", st, ws[bad].phys)
	}
	if st.Queues != queues || st.TrimmedUnits != n-bad {
		t.Fatalf("%d queues, %d units trimmed; want %d and the %d units past the cut", st.Queues, st.TrimmedUnits, queues, n-bad)
	}
	syncDispatch(t, s)
	verifyExactly(t, s, ws[:bad], queues)
}

// Without checkpoint and ConsumeQueues every record is verified and re-dispatched, here
// in many small chunks across segments, and every queue comes back exactly.
func TestFusedRecoveryInChunks(t *testing.T) {
	const queues, n = 4, 400
	defer func(c int64) { fusedChunk = c }(fusedChunk)
	fusedChunk = 3 << 10
	o := testOptions(t, AsyncFlush)
	o.CommitLogSegmentBytes = 32 << 10
	o.CheckpointInterval = time.Hour
	s := openT(t, o)
	ws := fill(t, s, n, queues, 300)
	syncDispatch(t, s)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.crash()
	for _, p := range []string{checkpointName, consumeQDir} {
		if err := os.RemoveAll(filepath.Join(o.Dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	s = openT(t, o)
	end := ws[n-1].end
	if st := s.RecoveryStats(); st.RecordsVerified != n || st.EndOffset != end || st.RedispatchedFrom != 0 || st.RedispatchedBytes != end {
		t.Fatalf("recovery stats %+v: want %d records verified and re-dispatched to %d", st, n, end)
	}
	syncDispatch(t, s)
	verifyExactly(t, s, ws, queues)
}
