package store

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestConfirmOffsetBoundsDispatch: records past the confirm offset reach no
// ConsumeQueue and no arrival subscriber, though Grown reports them; moving the offset
// dispatches exactly the records that end at or below it (one that only starts below
// it waits); a store closed with records past it dispatches them when it opens again.
func TestConfirmOffsetBoundsDispatch(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		s := openT(t, o)
		var arrivals atomic.Int64
		s.Subscribe(func(Arrival) { arrivals.Add(1) })
		s.SetConfirmOffset(0)
		var rs []PutResult
		for i := 0; i < 3; i++ {
			rs = append(rs, put(t, s, msg{topic: "T", queue: 0, body: body(i, 100)}))
		}
		select {
		case <-s.Grown(rs[2].EndOffset - 1):
		case <-time.After(5 * time.Second):
			t.Fatal("Grown did not report the three records within 5s")
		}
		// Grown is released by the dispatcher's round, which stopped at the bound.
		if got := s.MaxOffset("T", 0); got != 0 || arrivals.Load() != 0 || s.d.pos.Load() != rs[0].PhysicalOffset {
			t.Fatalf("before any confirmation: queue max %d, %d arrivals, dispatched to %d; want 0, 0, %d",
				got, arrivals.Load(), s.d.pos.Load(), rs[0].PhysicalOffset)
		}

		// Through the middle of the third record: the first two only.
		s.SetConfirmOffset(rs[2].PhysicalOffset + 10)
		deadline := time.Now().Add(5 * time.Second)
		for s.d.pos.Load() < rs[1].EndOffset {
			if time.Now().After(deadline) {
				t.Fatalf("dispatched to %d 5s after the confirm offset moved; want %d", s.d.pos.Load(), rs[1].EndOffset)
			}
			time.Sleep(time.Millisecond)
		}
		if got := s.MaxOffset("T", 0); got != 2 || arrivals.Load() != 2 || s.d.pos.Load() != rs[1].EndOffset {
			t.Fatalf("confirmed into the third record: queue max %d, %d arrivals, dispatched to %d; want 2, 2, %d",
				got, arrivals.Load(), s.d.pos.Load(), rs[1].EndOffset)
		}
		res := s.GetMessages("T", 0, 0, 32, 1<<20, nil)
		if res.Status != Found || len(res.Records) != 2 || res.MaxOffset != 2 {
			t.Fatalf("read: %v, %d records, max %d; want FOUND, 2, 2", res.Status, len(res.Records), res.MaxOffset)
		}
		for i, rec := range res.Records {
			checkRecord(t, rec, msg{topic: "T", queue: 0, body: body(i, 100)}, int64(i), rs[i].PhysicalOffset)
		}

		// Closed with the third record unconfirmed: the next Open dispatches it.
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		s = openT(t, o)
		syncDispatch(t, s)
		if got := s.MaxOffset("T", 0); got != 3 {
			t.Fatalf("reopened: queue max %d, want 3", got)
		}
		if s.ConfirmOffset() != ConfirmAll {
			t.Fatalf("reopened with confirm offset %d, want no bound", s.ConfirmOffset())
		}
	})
}
