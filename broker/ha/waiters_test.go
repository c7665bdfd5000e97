package ha

import (
	"errors"
	"testing"
	"time"
)

// recorder collects callback results in order.
type recorder struct{ got []string }

func (r *recorder) fn(name string) func(error) {
	return func(err error) {
		if err != nil {
			name += ":" + err.Error()
		}
		r.got = append(r.got, name)
	}
}

func (r *recorder) want(t *testing.T, want ...string) {
	t.Helper()
	if len(r.got) != len(want) {
		t.Fatalf("callbacks %q, want %q", r.got, want)
	}
	for i := range want {
		if r.got[i] != want[i] {
			t.Fatalf("callbacks %q, want %q", r.got, want)
		}
	}
	r.got = nil
}

func TestWaitListAdvanceAndExpire(t *testing.T) {
	var l waitList
	var r recorder
	t0 := time.Unix(1000, 0)
	dl := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	if now, first := l.add(100, r.fn("a"), dl(3)); now != nil || !first {
		t.Fatalf("first add: now %v first %v", now, first)
	}
	if now, first := l.add(300, r.fn("b"), dl(4)); now != nil || first {
		t.Fatalf("second add: now %v first %v", now, first)
	}
	l.add(200, r.fn("c"), dl(5))
	if d, ok := l.next(); !ok || !d.Equal(dl(3)) {
		t.Fatalf("next deadline %v %v, want %v", d, ok, dl(3))
	}

	run(l.advance(250)) // covers a and c, not b
	r.want(t, "a", "c")
	run(l.advance(100)) // an older acknowledgement changes nothing
	r.want(t)
	if l.ackedOffset() != 250 {
		t.Fatalf("acked %d, want 250", l.ackedOffset())
	}
	// Already acknowledged: answered at once.
	now, _ := l.add(250, r.fn("d"), dl(6))
	if now == nil {
		t.Fatalf("add at the acked offset was not answered at once")
	}
	now.fn(now.err)
	r.want(t, "d")

	run(l.expire(dl(3)))
	r.want(t)
	run(l.expire(dl(4))) // b's deadline
	r.want(t, "b:"+ErrSlaveTimeout.Error())
	if l.pending() != 0 {
		t.Fatalf("%d waiters left", l.pending())
	}
}

func TestWaitListFailAll(t *testing.T) {
	var l waitList
	var r recorder
	dl := time.Unix(2000, 0)
	l.add(10, r.fn("a"), dl)
	l.add(20, r.fn("b"), dl)
	run(l.failAll(ErrClosed))
	r.want(t, "a:"+ErrClosed.Error(), "b:"+ErrClosed.Error())
	now, _ := l.add(30, r.fn("c"), dl)
	if now == nil || !errors.Is(now.err, ErrClosed) {
		t.Fatalf("add after failAll: %+v, want ErrClosed at once", now)
	}
}
