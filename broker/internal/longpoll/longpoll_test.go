package longpoll

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// fakeClock runs timers by hand: Advance fires every timer whose deadline has passed,
// in deadline order, on the caller's goroutine (never inside AfterFunc).
type fakeClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Duration
	f       func()
	stopped bool
	fired   bool
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now + d, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.fired && t.at <= c.now {
			t.fired = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at < due[j].at })
	for _, t := range due {
		t.f()
	}
}

func (c *fakeClock) live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			n++
		}
	}
	return n
}

// recorder collects releases in order.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) req(name, topic string, q int32, off int64, owner uint64, match func(int64) bool) *Request {
	return &Request{Topic: topic, QueueID: q, Offset: off, Owner: owner, Match: match,
		Release: func(why Reason) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.got = append(r.got, name+":"+why.String())
		}}
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func newTable(t *testing.T, o Options) (*Table, *fakeClock) {
	t.Helper()
	c := &fakeClock{}
	o.AfterFunc = c.AfterFunc
	return New(o), c
}

func mustPark(t *testing.T, tb *Table, r *Request, d time.Duration) {
	t.Helper()
	if err := tb.Park(r, d); err != nil {
		t.Fatalf("park %s@%d: %v", r.Topic, r.QueueID, err)
	}
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestNotifyReleasesOnlyMatchingQueueAndOffset(t *testing.T) {
	tb, clk := newTable(t, Options{})
	var rec recorder
	mustPark(t, tb, rec.req("a", "T", 0, 5, 1, nil), time.Second)
	mustPark(t, tb, rec.req("b", "T", 1, 5, 1, nil), time.Second)
	mustPark(t, tb, rec.req("c", "U", 0, 5, 1, nil), time.Second)
	mustPark(t, tb, rec.req("d", "T", 0, 7, 2, nil), time.Second)

	tb.Notify("T", 0, 5, 0) // max 5 is not past offset 5
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("notify at max 5: released %v, want none", got)
	}
	tb.Notify("T", 0, 6, 0)
	if got, want := rec.take(), []string{"a:arrived"}; !equal(got, want) {
		t.Fatalf("notify T@0 max 6: got %v, want %v", got, want)
	}
	if got := tb.Len(); got != 3 {
		t.Fatalf("len after wake: got %d, want 3", got)
	}
	tb.Notify("T", 0, 8, 0)
	if got, want := rec.take(), []string{"d:arrived"}; !equal(got, want) {
		t.Fatalf("notify T@0 max 8: got %v, want %v", got, want)
	}
	if got := clk.live(); got != 2 {
		t.Fatalf("live timers: got %d, want 2 (woken requests' timers stopped)", got)
	}
}

func TestNotifyHonoursTagFilterButWakeDoesNot(t *testing.T) {
	tb, _ := newTable(t, Options{})
	var rec recorder
	only42 := func(c int64) bool { return c == 42 }
	mustPark(t, tb, rec.req("tagged", "T", 0, 0, 1, only42), time.Second)
	tb.Notify("T", 0, 1, 7)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("non-matching tag released %v", got)
	}
	tb.Notify("T", 0, 2, 42)
	if got, want := rec.take(), []string{"tagged:arrived"}; !equal(got, want) {
		t.Fatalf("matching tag: got %v, want %v", got, want)
	}
	mustPark(t, tb, rec.req("again", "T", 0, 2, 1, only42), time.Second)
	tb.Wake("T", 0, 2)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("wake at max == offset released %v", got)
	}
	tb.Wake("T", 0, 3)
	if got, want := rec.take(), []string{"again:arrived"}; !equal(got, want) {
		t.Fatalf("wake: got %v, want %v", got, want)
	}
}

func TestDeadlineReleasesEachRequestAtItsOwnTime(t *testing.T) {
	tb, clk := newTable(t, Options{})
	var rec recorder
	mustPark(t, tb, rec.req("slow", "T", 0, 0, 1, nil), 300*time.Millisecond)
	mustPark(t, tb, rec.req("fast", "T", 0, 0, 1, nil), 100*time.Millisecond)
	clk.Advance(99 * time.Millisecond)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("before any deadline: released %v", got)
	}
	clk.Advance(1 * time.Millisecond)
	if got, want := rec.take(), []string{"fast:expired"}; !equal(got, want) {
		t.Fatalf("at 100ms: got %v, want %v", got, want)
	}
	clk.Advance(199 * time.Millisecond)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("at 299ms: released %v", got)
	}
	clk.Advance(time.Millisecond)
	if got, want := rec.take(), []string{"slow:expired"}; !equal(got, want) {
		t.Fatalf("at 300ms: got %v, want %v", got, want)
	}
	if tb.Len() != 0 {
		t.Fatalf("len: got %d, want 0", tb.Len())
	}
}

func TestReleasedExactlyOnceWhenWakeAndDeadlineRace(t *testing.T) {
	tb, clk := newTable(t, Options{})
	var rec recorder
	mustPark(t, tb, rec.req("x", "T", 0, 0, 1, nil), time.Millisecond)
	tb.Notify("T", 0, 1, 0)
	clk.Advance(time.Second) // the stopped timer must not fire
	if got, want := rec.take(), []string{"x:arrived"}; !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestBoundsPerOwnerAndTotal(t *testing.T) {
	tb, _ := newTable(t, Options{MaxTotal: 3, MaxPerOwner: 2})
	var rec recorder
	mustPark(t, tb, rec.req("a1", "T", 0, 0, 1, nil), time.Second)
	mustPark(t, tb, rec.req("a2", "T", 1, 0, 1, nil), time.Second)
	if err := tb.Park(rec.req("a3", "T", 2, 0, 1, nil), time.Second); !errors.Is(err, ErrOwnerFull) {
		t.Fatalf("third park of owner 1: got %v, want ErrOwnerFull", err)
	}
	mustPark(t, tb, rec.req("b1", "T", 3, 0, 2, nil), time.Second)
	if err := tb.Park(rec.req("c1", "T", 4, 0, 3, nil), time.Second); !errors.Is(err, ErrFull) {
		t.Fatalf("fourth park: got %v, want ErrFull", err)
	}
	if err := tb.Park(rec.req("z", "T", 4, 0, 3, nil), 0); !errors.Is(err, ErrNoWait) {
		t.Fatalf("zero timeout: got %v, want ErrNoWait", err)
	}
	if got := tb.OwnerLen(1); got != 2 {
		t.Fatalf("owner 1 len: got %d, want 2", got)
	}
	// Releasing one frees room for another owner.
	tb.Notify("T", 0, 1, 0)
	mustPark(t, tb, rec.req("c1", "T", 4, 0, 3, nil), time.Second)
}

func TestDropOwnerForgetsWithoutRelease(t *testing.T) {
	tb, clk := newTable(t, Options{})
	var rec recorder
	mustPark(t, tb, rec.req("gone1", "T", 0, 0, 9, nil), time.Second)
	mustPark(t, tb, rec.req("gone2", "T", 1, 0, 9, nil), time.Second)
	mustPark(t, tb, rec.req("stay", "T", 0, 0, 1, nil), time.Second)
	tb.DropOwner(9)
	if tb.Len() != 1 || tb.OwnerLen(9) != 0 {
		t.Fatalf("after drop: len %d owner9 %d, want 1 and 0", tb.Len(), tb.OwnerLen(9))
	}
	tb.Notify("T", 0, 1, 0)
	clk.Advance(2 * time.Second)
	if got, want := rec.take(), []string{"stay:arrived"}; !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCloseReleasesAllAndRefusesPark(t *testing.T) {
	tb, clk := newTable(t, Options{})
	var rec recorder
	mustPark(t, tb, rec.req("a", "T", 0, 0, 1, nil), time.Second)
	mustPark(t, tb, rec.req("b", "U", 3, 0, 2, nil), time.Second)
	tb.Close()
	got := rec.take()
	sort.Strings(got)
	if want := []string{"a:shutdown", "b:shutdown"}; !equal(got, want) {
		t.Fatalf("close: got %v, want %v", got, want)
	}
	if err := tb.Park(rec.req("late", "T", 0, 0, 1, nil), time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("park after close: got %v, want ErrClosed", err)
	}
	clk.Advance(time.Minute)
	tb.Notify("T", 0, 5, 0)
	tb.Close()
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("after close: released %v", got)
	}
}

func TestReleaseMayParkAgain(t *testing.T) {
	tb, _ := newTable(t, Options{})
	var mu sync.Mutex
	var order []string
	var r *Request
	r = &Request{Topic: "T", Offset: 0, Owner: 1, Release: func(why Reason) {
		mu.Lock()
		order = append(order, why.String())
		mu.Unlock()
		if why == Arrived && r.Offset == 0 {
			r2 := *r
			r2.Offset = 1
			r2.Release = func(why Reason) {
				mu.Lock()
				order = append(order, "second:"+why.String())
				mu.Unlock()
			}
			if err := tb.Park(&r2, time.Second); err != nil {
				t.Errorf("re-park from Release: %v", err)
			}
		}
	}}
	mustPark(t, tb, r, time.Second)
	tb.Notify("T", 0, 1, 0)
	tb.Notify("T", 0, 2, 0)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"arrived", "second:arrived"}; !equal(order, want) {
		t.Fatalf("got %v, want %v", order, want)
	}
}

// TestRealTimerDeadline checks the default clock: a request parked for 50 ms is released
// close to 50 ms later, not on some coarse tick.
func TestRealTimerDeadline(t *testing.T) {
	tb := New(Options{})
	done := make(chan time.Time, 1)
	start := time.Now()
	err := tb.Park(&Request{Topic: "T", Owner: 1, Release: func(why Reason) {
		if why != Expired {
			t.Errorf("reason: got %v, want expired", why)
		}
		done <- time.Now()
	}}, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-done:
		if el := at.Sub(start); el < 50*time.Millisecond || el > 1500*time.Millisecond {
			t.Fatalf("released after %v, want about 50ms", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not released within 5s")
	}
}

func TestConcurrentParkNotifyDrop(t *testing.T) {
	tb := New(Options{})
	const owners, per = 8, 200
	var mu sync.Mutex
	count := map[*Request]int{}
	var wg sync.WaitGroup
	for o := 0; o < owners; o++ {
		wg.Add(2)
		go func(owner uint64) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				var r *Request
				r = &Request{Topic: "T", QueueID: int32(i % 4), Offset: int64(i), Owner: owner,
					Release: func(Reason) {
						mu.Lock()
						count[r]++
						mu.Unlock()
					}}
				_ = tb.Park(r, time.Duration(1+i%5)*time.Millisecond)
				if owner == 0 && i == per/2 {
					tb.DropOwner(owner)
				}
			}
		}(uint64(o))
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				tb.Notify("T", int32(i%4), int64(i+1), 0)
			}
		}()
	}
	wg.Wait()
	tb.Close()
	if tb.Len() != 0 {
		t.Fatalf("len after close: got %d, want 0", tb.Len())
	}
	mu.Lock()
	defer mu.Unlock()
	for r, n := range count {
		if n != 1 {
			t.Fatalf("request %s@%d offset %d released %d times", r.Topic, r.QueueID, r.Offset, n)
		}
	}
}
