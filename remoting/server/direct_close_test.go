package server_test

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/server"
)

// TestCloseHookInsideFailedWriteHoldsNoWriteLock: when the loop's own write fails, gnet
// closes the connection inside that write and runs OnClose there. The hook must find the
// connection's write lock free: holding it across the write let two loops whose hooks
// write to each other's connections (a consumer group's change notice) deadlock when
// both connections failed at once.
func TestCloseHookInsideFailedWriteHoldsNoWriteLock(t *testing.T) {
	type state struct{ free, loopWriting bool }
	seen := make(chan state, 1)
	s := failLoopWrite(t, func(s *server.Server) {
		s.OnClose(func(c *server.Conn) {
			free, writing := server.WriteLockState(c)
			select {
			case seen <- state{free, writing}:
			default:
			}
		})
	})
	defer closeWithin(t, s, 10*time.Second, "the event loop is stuck in OnClose")
	select {
	case st := <-seen:
		if !st.free {
			t.Fatal("OnClose ran with the connection's write lock held")
		}
		if !st.loopWriting {
			t.Fatal("OnClose did not run inside the loop's failed write: the test no longer exercises that path")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose did not run within 10 s")
	}
}
