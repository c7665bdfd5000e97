package commitlog

import (
	"errors"
	"testing"
	"time"
)

// TestTimeoutOfWaiterQueuedBehindAnArmedSweeper covers the sweeper's one wake-up rule:
// it is woken only when it sleeps without a deadline. A waiter queued while it sleeps
// until an earlier waiter's deadline (that waiter was flushed meanwhile) is not woken
// for, and must still get ErrFlushTimeout once its own deadline passes, not sooner.
func TestTimeoutOfWaiterQueuedBehindAnArmedSweeper(t *testing.T) {
	const timeout = 200 * time.Millisecond
	l := sweeperOnly(t, timeout)

	first := appendN(t, l, 1, 100)[0]
	firstDone := make(chan error, 1)
	l.OnFlushed(first.EndOffset, func(err error) { firstDone <- err })
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-firstDone; err != nil {
		t.Fatalf("flushed waiter: %v", err)
	}

	second := appendN(t, l, 1, 100)[0]
	queued := time.Now()
	secondDone := make(chan error, 1)
	l.OnFlushed(second.EndOffset, func(err error) { secondDone <- err })
	select {
	case err := <-secondDone:
		if !errors.Is(err, ErrFlushTimeout) {
			t.Fatalf("got %v, want ErrFlushTimeout", err)
		}
		if waited := time.Since(queued); waited < timeout {
			t.Fatalf("timed out after %v, before its own deadline (%v)", waited, timeout)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiter queued while the sweeper slept until an earlier deadline never timed out")
	}
}
