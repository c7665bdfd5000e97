package pending

import (
	"errors"
	"testing"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// TestAsyncCompleteOnce: an async call's callback runs once, with the outcome; the
// call lets go of the callback (and what it holds) at once, and a second Complete is a
// no-op rather than a block on a channel the async call never had.
func TestAsyncCompleteOnce(t *testing.T) {
	var got []error
	held := make([]byte, 1<<20) // what a send's callback keeps alive: its message
	c := NewAsync(func(_ *codec.Command, err error) { got = append(got, err); _ = held })
	first := errors.New("first")
	c.Complete(nil, first)
	if !c.Completed() || c.cb != nil {
		t.Fatalf("after Complete: completed %v, callback kept %v", c.Completed(), c.cb != nil)
	}
	c.Complete(nil, errors.New("second"))
	if len(got) != 1 || got[0] != first {
		t.Fatalf("callback saw %v, want only %v", got, first)
	}
}

// TestFailAllPastAPanickingCallback: a callback that panics while FailAll completes the
// calls does not leave the others pending forever: each is completed with the failure,
// and the panic reaches FailAll's caller.
func TestFailAllPastAPanickingCallback(t *testing.T) {
	var p Table
	failure := errors.New("connection lost")
	const n = 8
	got := make(chan error, n)
	for op := int32(1); op <= n; op++ {
		cb := func(_ *codec.Command, err error) { got <- err }
		if op == 3 {
			cb = func(*codec.Command, error) { panic("callback bug") }
		}
		if err := p.Add(op, NewAsync(cb)); err != nil {
			t.Fatal(err)
		}
	}
	sync := NewSync()
	if err := p.Add(n+1, sync); err != nil {
		t.Fatal(err)
	}
	recovered := func() (r any) {
		defer func() { r = recover() }()
		p.FailAll(failure)
		return nil
	}()
	if recovered != "callback bug" {
		t.Fatalf("recovered %v, want the callback's panic", recovered)
	}
	for i := range n - 1 {
		select {
		case err := <-got:
			if err != failure {
				t.Fatalf("a call failed with %v, want %v", err, failure)
			}
		default:
			t.Fatalf("only %d of the %d other async calls were completed", i, n-1)
		}
	}
	if _, err, done := sync.Done(); !done || err != failure {
		t.Fatalf("the waiting caller's call: done %v, err %v", done, err)
	}
	if p.Len() != 0 {
		t.Fatalf("%d calls left in the table", p.Len())
	}
}
