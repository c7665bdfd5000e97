package transport_test

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// TestClientLoneAsyncFrameWrittenByCaller: a oneway frame on an idle connection is
// written before InvokeOneway returns (by the caller, not by the writer goroutine
// later), every time, and the server receives each of them.
func TestClientLoneAsyncFrameWrittenByCaller(t *testing.T) {
	got := make(chan string, 16)
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, func(_ *server.Conn, req *codec.Command) *codec.Command {
			got <- req.ExtFields["i"]
			return nil
		})
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	ctx := remotingtest.Timeout(t, 20*time.Second)
	// The first call dials; once its frame arrived the connection is up and idle.
	if err := c.InvokeOneway(addr, codec.NewRequest(100, map[string]string{"i": "dial"}, nil)); err != nil {
		t.Fatal(err)
	}
	<-got
	for i, v := range []string{"a", "b", "c", "d"} {
		time.Sleep(time.Millisecond) // idle for longer than idleGap: not a wait for anything
		before := transport.Writes(c, addr)
		if err := c.InvokeOneway(addr, codec.NewRequest(100, map[string]string{"i": v}, []byte("x"))); err != nil {
			t.Fatalf("oneway %d: %v", i, err)
		}
		if w := transport.Writes(c, addr); w != before+1 {
			t.Fatalf("oneway %d: socket writes %d right after the call, want %d (written by the caller)", i, w, before+1)
		}
		select {
		case g := <-got:
			if g != v {
				t.Fatalf("oneway %d: server got %q, want %q", i, g, v)
			}
		case <-ctx.Done():
			t.Fatalf("oneway %d: never arrived", i)
		}
	}
}
