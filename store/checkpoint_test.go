package store

import (
	"fmt"
	"testing"
	"time"
)

// forceCheckpoint makes everything appended so far dispatched and flushed, writes a
// checkpoint, and returns the flushed offset the checkpoint file now vouches for.
func forceCheckpoint(t *testing.T, s *Store) int64 {
	t.Helper()
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		t.Fatalf("wait dispatched: %v", err)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := s.checkpoint(); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	return s.lastCheckpoint.GetFlushedOffset()
}

// TestRecoveryBoundedByCheckpoint checks that an unclean restart verifies and
// re-dispatches only what lies past the last checkpoint: the records the checkpoint
// vouches for are neither scanned nor rebuilt, yet stay readable through their
// ConsumeQueues together with the re-dispatched tail.
func TestRecoveryBoundedByCheckpoint(t *testing.T) {
	const (
		queues = 3
		head   = 300 // records the forced checkpoint covers: several segments
		tail   = 37  // records written after it, across a segment boundary
		size   = 300
	)
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.CommitLogSegmentBytes = 32 << 10
		o.CheckpointInterval = time.Hour // only the checkpoints the test forces (and Open's)
		s := openT(t, o)
		ws := fill(t, s, head, queues, size)
		cpFlushed := forceCheckpoint(t, s)
		if cpFlushed != ws[head-1].end {
			t.Fatalf("checkpoint flushed offset %d, want the end of the last record %d", cpFlushed, ws[head-1].end)
		}
		if cpFlushed < 3*o.CommitLogSegmentBytes {
			t.Fatalf("checkpoint at %d covers less than three segments: the test proves nothing", cpFlushed)
		}
		more := fillFrom(t, s, head, tail, queues, size)
		ws = append(ws, more...)
		end := ws[len(ws)-1].end
		if cpFlushed/o.CommitLogSegmentBytes == (end-1)/o.CommitLogSegmentBytes {
			t.Fatalf("tail [%d, %d) lies in one segment; want it to cross a boundary", cpFlushed, end)
		}
		// The tail's units reach the ConsumeQueue files before the stop, so recovery
		// has to trim them (the checkpoint does not vouch for them) and rebuild them.
		syncDispatch(t, s)
		s.crash()

		s = openT(t, o)
		st := s.RecoveryStats()
		// At most the empty segment prepared ahead of the writer is removed: it lies past
		// the recovered end.
		if st.Clean || st.TruncatedAt != -1 || st.Corruption || st.RemovedSegments > 1 {
			t.Fatalf("recovery stats %+v: want an unclean stop with nothing cut", st)
		}
		if st.CheckpointFlushed != cpFlushed || st.VerifiedFrom != cpFlushed {
			t.Fatalf("checkpoint flushed %d, verified from %d; want both at the forced checkpoint %d",
				st.CheckpointFlushed, st.VerifiedFrom, cpFlushed)
		}
		if st.EndOffset != end {
			t.Fatalf("recovered end %d, want %d", st.EndOffset, end)
		}
		// Exactly the tail: its records, and its bytes (the end-of-segment blank it
		// crossed included), nothing below the checkpoint.
		if st.RecordsVerified != tail || st.BytesScanned != end-cpFlushed {
			t.Fatalf("verified %d records, %d bytes; want %d records, %d bytes (the log holds %d)",
				st.RecordsVerified, st.BytesScanned, tail, end-cpFlushed, end)
		}
		if st.RedispatchedFrom != cpFlushed || st.RedispatchedBytes != end-cpFlushed {
			t.Fatalf("re-dispatched %d bytes from %d; want %d from %d",
				st.RedispatchedBytes, st.RedispatchedFrom, end-cpFlushed, cpFlushed)
		}
		if st.Queues != queues || st.TrimmedUnits != tail {
			t.Fatalf("%d queues, %d units trimmed; want %d queues, the %d tail units",
				st.Queues, st.TrimmedUnits, queues, tail)
		}
		syncDispatch(t, s)
		verifyExactly(t, s, ws, queues)
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, head - 1, head, len(ws) - 1} {
			key := fmt.Sprintf("U%06d", i)
			if got, _ := s.QueryByKey("R", key, 0, 1<<62, 5); len(got) != 1 || got[0] != ws[i].phys {
				t.Fatalf("query %s: %v, want [%d]", key, got, ws[i].phys)
			}
		}

		// Recovery ends with a checkpoint of its own: a second unclean stop verifies
		// only what was appended after the first recovery.
		again := fillFrom(t, s, len(ws), 5, queues, size)
		ws = append(ws, again...)
		s.crash()
		s = openT(t, o)
		st = s.RecoveryStats()
		if st.Clean || st.VerifiedFrom != end || st.CheckpointFlushed != end || st.RecordsVerified != 5 ||
			st.BytesScanned != ws[len(ws)-1].end-end {
			t.Fatalf("second recovery %+v: want 5 records verified from %d", st, end)
		}
		syncDispatch(t, s)
		verifyExactly(t, s, ws, queues)
	})
}

// fillFrom is fill for messages first, first+1, ...: the same topic, queues, bodies and
// keys the i-th message of one long fill would have.
func fillFrom(t testing.TB, s *Store, first, n, queues, size int) []written {
	t.Helper()
	var out []written
	for i := first; i < first+n; i++ {
		m := msg{topic: "R", queue: int32(i % queues), body: body(i, size), keys: fmt.Sprintf("k%d", i), uniq: fmt.Sprintf("U%06d", i)}
		r := put(t, s, m)
		out = append(out, written{m: m, qo: r.QueueOffset, phys: r.PhysicalOffset, end: r.EndOffset})
	}
	return out
}
