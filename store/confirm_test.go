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

// TestHoldUnconfirmedAfterRestart: a store opened with HoldUnconfirmed dispatches
// nothing past where its ConsumeQueues were checkpointed — after a clean close and after
// a crash (a copy of the live directory) — until SetConfirmOffset moves on; without it,
// Open dispatches the whole log.
func TestHoldUnconfirmedAfterRestart(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.HoldUnconfirmed = true
		s := openT(t, o)
		if c := s.ConfirmOffset(); c != 0 {
			t.Fatalf("a new store held at %d, want 0", c)
		}
		rs := []PutResult{put(t, s, msg{topic: "T", queue: 0, body: body(0, 100)})}
		s.SetConfirmOffset(rs[0].EndOffset)
		syncDispatch(t, s) // the log ends with the one confirmed record
		for i := 1; i < 3; i++ {
			rs = append(rs, put(t, s, msg{topic: "T", queue: 0, body: body(i, 100)}))
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		crashed := o
		crashed.Dir = o.Dir + "-crashed"
		copyDir(t, o.Dir, crashed.Dir) // the live directory: as after a SIGKILL
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}

		for _, c := range []struct {
			name string
			o    Options
			max  int64 // the most the queue may show before the offset moves
		}{
			{"clean", o, 1},
			{"crashed", crashed, 1},
		} {
			s := openT(t, c.o)
			if got := s.MaxOffset("T", 0); got > c.max {
				t.Fatalf("%s reopen: queue max %d before any confirmation, want at most %d", c.name, got, c.max)
			}
			// A new message while the tail is held goes after it in its queue.
			r := put(t, s, msg{topic: "T", queue: 0, body: body(3, 100)})
			if r.QueueOffset != 3 {
				t.Fatalf("%s reopen: a new message got queue offset %d behind two held ones, want 3", c.name, r.QueueOffset)
			}
			s.SetConfirmOffset(ConfirmAll)
			syncDispatch(t, s)
			if got := s.MaxOffset("T", 0); got != 4 {
				t.Fatalf("%s reopen, bound lifted: queue max %d, want 4", c.name, got)
			}
			res := s.GetMessages("T", 0, 0, 32, 1<<20, nil)
			phys := append(rs[:3:3], r)
			for i, rec := range res.Records {
				checkRecord(t, rec, msg{topic: "T", queue: 0, body: body(i, 100)}, int64(i), phys[i].PhysicalOffset)
			}
			if len(res.Records) != 4 {
				t.Fatalf("%s reopen: read %d records, want 4", c.name, len(res.Records))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestDeleteTopicWaitsForConfirmationWithoutHoldingAppends: a topic deleted while
// records wait for their confirmation waits for them before it holds the appends, so
// producers go on meanwhile; it completes once they are confirmed.
func TestDeleteTopicWaitsForConfirmationWithoutHoldingAppends(t *testing.T) {
	s := openT(t, testOptions(t, AsyncFlush))
	put(t, s, msg{topic: "Gone", queue: 0, body: body(0, 100)})
	syncDispatch(t, s)
	s.SetConfirmOffset(s.MaxPhysicalOffset())
	put(t, s, msg{topic: "Other", queue: 0, body: body(1, 100)})
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteTopic("Gone") }()
	// While the delete waits, an append goes through.
	appended := make(chan error, 1)
	go func() {
		_, err := s.Put(encode(t, msg{topic: "Other", queue: 0, body: body(2, 100)}))
		appended <- err
	}()
	select {
	case err := <-appended:
		if err != nil {
			t.Fatalf("append during the delete: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an append waited 5s behind a delete waiting for confirmation")
	}
	select {
	case err := <-deleted:
		t.Fatalf("the delete returned (%v) before the records were confirmed", err)
	default:
	}
	s.SetConfirmOffset(ConfirmAll)
	select {
	case err := <-deleted:
		if err != nil {
			t.Fatalf("delete: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the delete did not complete within 5s of the confirmation")
	}
	if got := s.MaxOffset("Gone", 0); got != 0 {
		t.Fatalf("deleted topic's queue max %d, want 0", got)
	}
	if got := s.MaxOffset("Other", 0); got != 2 {
		t.Fatalf("other topic's queue max %d, want 2", got)
	}
}
