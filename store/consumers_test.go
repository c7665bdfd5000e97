package store

import (
	"testing"
)

// fillSegments appends n 900-byte records to T/0 and returns the queue offset of the
// first record of the active (last) segment.
func fillSegments(t *testing.T, s *Store, n int) (activeFirst int64) {
	t.Helper()
	var rs []PutResult
	for i := 0; i < n; i++ {
		rs = append(rs, put(t, s, msg{topic: "T", body: body(i, 900)}))
	}
	syncDispatch(t, s)
	last := rs[len(rs)-1].PhysicalOffset
	active := last - last%s.o.CommitLogSegmentBytes
	for _, r := range rs {
		if r.PhysicalOffset >= active {
			return r.QueueOffset
		}
	}
	return 0
}

// TestRejectNewKeepsUnconsumed: under rejectNew, with the disk always "above"
// diskSpaceCleanForciblyRatio, retention deletes nothing a group has not consumed —
// not while the group is at 0, only the segments wholly below its offset once it moves,
// and never counts a loss.
func TestRejectNewKeepsUnconsumed(t *testing.T) {
	o := testOptions(t, AsyncFlush)
	o.DiskWarnRatio = 1e-9
	o.DiskFullPolicy = RejectNew
	s := openT(t, o)
	var at int64 // the slow group's committed offset
	s.SetConsumerProgress(func() []Consumption {
		return []Consumption{{Group: "slow", Topic: "T", QueueID: 0, Offset: at}}
	})
	activeFirst := fillSegments(t, s, 300)
	segs := len(s.cl.Segments())
	if segs < 3 {
		t.Fatalf("%d segments; the test needs at least 3", segs)
	}
	if n := s.runRetention(); n != 0 || s.MinOffset("T", 0) != 0 {
		t.Fatalf("rejectNew deleted %d segments (queue min %d) while the group is at 0", n, s.MinOffset("T", 0))
	}
	// The group consumes up to the active segment: everything before may go.
	at = activeFirst
	if n := s.runRetention(); n != segs-1 {
		t.Fatalf("deleted %d segments once consumed, want %d", n, segs-1)
	}
	if min := s.MinOffset("T", 0); min > at || min == 0 {
		t.Fatalf("queue min %d after retention, want in (0, %d]", min, at)
	}
	if got := s.UnconsumedDeleted(); got != 0 {
		t.Fatalf("unconsumed deleted %d under rejectNew, want 0", got)
	}
}

// TestDeleteOldestCountsLoss: under deleteOldest the same pressure deletes the old
// segments although the group has consumed nothing, and the loss is counted exactly:
// every message below the queue's new minimum.
func TestDeleteOldestCountsLoss(t *testing.T) {
	o := testOptions(t, AsyncFlush)
	o.DiskWarnRatio = 1e-9
	s := openT(t, o)
	s.SetConsumerProgress(func() []Consumption {
		return []Consumption{{Group: "slow", Topic: "T", QueueID: 0, Offset: 5}}
	})
	fillSegments(t, s, 300)
	if n := s.runRetention(); n == 0 {
		t.Fatal("deleteOldest deleted nothing under pressure")
	}
	min := s.MinOffset("T", 0)
	if got, want := s.UnconsumedDeleted(), min-5; got != want || want <= 0 {
		t.Fatalf("unconsumed deleted %d, want %d (queue min %d, group at 5)", got, want, min)
	}
	if got := s.Stats().UnconsumedDeleted; got != min-5 {
		t.Fatalf("stats report %d, want %d", got, min-5)
	}
	// A second run deletes nothing more and counts nothing again.
	s.runRetention()
	if got := s.UnconsumedDeleted(); got != min-5 {
		t.Fatalf("count moved to %d on a run that deleted nothing", got)
	}
}
