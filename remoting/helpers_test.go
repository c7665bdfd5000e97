package remoting

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// startServer starts a server on 127.0.0.1:0 with handlers installed by setup, and
// closes it when the test ends.
func startServer(t testing.TB, setup func(*Server)) *Server {
	t.Helper()
	s := NewServer(ServerOptions{Addr: "127.0.0.1:0", Logger: testLogger(t), EventLoops: 2})
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newClient returns a client closed when the test ends.
func newClient(t testing.TB) *Client {
	t.Helper()
	c := NewClient(ClientOptions{DialTimeout: 2 * time.Second, Logger: testLogger(t)})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testLogger routes logs to the test output (shown only on failure).
func testLogger(t testing.TB) zerolog.Logger {
	if tt, ok := t.(*testing.T); ok {
		return zerolog.New(zerolog.NewTestWriter(tt)).Level(zerolog.WarnLevel)
	}
	return zerolog.Nop()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// echoHandler answers with the request's "k" ext field and body.
func echoHandler(_ *Conn, req *Command) *Command {
	resp := req.NewResponse(0, "")
	resp.ExtFields["k"] = req.ExtFields["k"]
	resp.Body = req.Body
	return resp
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
