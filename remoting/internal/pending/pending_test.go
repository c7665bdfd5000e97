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
