package remoting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
)

func TestClientConcurrentCallsOneConnection(t *testing.T) {
	var tr *connTracker
	s := startServer(t, func(s *Server) {
		tr = trackConns(s)
		s.Handle(100, echoHandler)
		s.HandleAsync(101, echoHandler)
	})
	c := newClient(t)
	addr := s.Addr().String()
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := strconv.Itoa(i)
			rc := int16(100 + i%2)
			resp, err := c.Invoke(ctxTimeout(t, 20*time.Second), addr, NewRequest(rc, map[string]string{"k": k}, []byte(k)))
			switch {
			case err != nil:
				errs <- fmt.Errorf("call %d: %w", i, err)
			case resp.ExtFields["k"] != k || string(resp.Body) != k:
				errs <- fmt.Errorf("call %d: got answer %q/%q", i, resp.ExtFields["k"], resp.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	tr.mu.Lock()
	conns := len(tr.open)
	tr.mu.Unlock()
	if conns != 1 {
		t.Fatalf("connections opened: got %d, want 1", conns)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending after all answers: %d", c.Pending())
	}
}

func TestClientTimeoutLeavesNothingPending(t *testing.T) {
	s := startServer(t, func(s *Server) {
		s.Handle(60, func(*Conn, *Command) *Command { return nil }) // never answers
	})
	c := newClient(t)
	addr := s.Addr().String()
	start := time.Now()
	_, err := c.Invoke(ctxTimeout(t, 100*time.Millisecond), addr, NewRequest(60, nil, nil))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: got %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timeout after %v, want about 100ms", d)
	}
	if n := c.Pending(); n != 0 {
		t.Fatalf("pending after timeout: %d", n)
	}

	// Async: the callback gets the timeout, once, and the entry is gone.
	got := make(chan error, 2)
	err = c.InvokeAsync(ctxTimeout(t, 100*time.Millisecond), addr, NewRequest(60, nil, nil), func(r *Command, err error) {
		got <- err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("async timeout: got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("async callback not called")
	}
	if n := c.Pending(); n != 0 {
		t.Fatalf("pending after async timeout: %d", n)
	}

	// A cancelled (not expired) context is reported as cancellation, not a timeout.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, 5*time.Second, "pending call", func() bool { return c.Pending() == 1 })
		cancel()
	}()
	_, err = c.Invoke(ctx, addr, NewRequest(60, nil, nil))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("cancelled call: got %v", err)
	}
	if n := c.Pending(); n != 0 {
		t.Fatalf("pending after cancel: %d", n)
	}
	select {
	case err := <-got:
		t.Fatalf("async callback called twice: %v", err)
	default:
	}
}

func TestClientInvokeAsyncAndOneway(t *testing.T) {
	oneway := make(chan *Command, 1)
	s := startServer(t, func(s *Server) {
		s.Handle(100, echoHandler)
		s.Handle(code.UpdateConsumerOffset, func(_ *Conn, req *Command) *Command {
			oneway <- req
			return req.NewResponse(0, "") // must not be sent: the request is oneway
		})
	})
	c := newClient(t)
	addr := s.Addr().String()
	const n = 200
	results := make(chan string, n)
	for i := range n {
		k := strconv.Itoa(i)
		err := c.InvokeAsync(ctxTimeout(t, 10*time.Second), addr, NewRequest(100, map[string]string{"k": k}, nil), func(r *Command, err error) {
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			results <- r.ExtFields["k"]
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for range n {
		select {
		case k := <-results:
			seen[k] = true
		case <-time.After(10 * time.Second):
			t.Fatal("async callbacks missing")
		}
	}
	for i := range n {
		if !seen[strconv.Itoa(i)] {
			t.Fatalf("async answer %d missing; got %v", i, seen)
		}
	}

	if err := c.InvokeOneway(addr, NewRequest(code.UpdateConsumerOffset, map[string]string{"offset": "9"}, nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-oneway:
		if !req.IsOneway() || req.ExtFields["offset"] != "9" {
			t.Fatalf("oneway: got %+v", req)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("oneway request not delivered")
	}
	// A call after the oneway still gets its own answer (no stray response arrived).
	resp, err := c.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, map[string]string{"k": "after"}, nil))
	if err != nil || resp.ExtFields["k"] != "after" {
		t.Fatalf("call after oneway: %v %+v", err, resp)
	}
}

func TestClientServerGoesAwayAndComesBack(t *testing.T) {
	never := func(*Conn, *Command) *Command { return nil }
	s := startServer(t, func(s *Server) {
		s.Handle(100, echoHandler)
		s.Handle(60, never)
	})
	addr := s.Addr().String()
	c := newClient(t)
	if _, err := c.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, nil, nil)); err != nil {
		t.Fatal(err)
	}
	const inflight = 20
	errc := make(chan error, inflight+1)
	for range inflight {
		go func() {
			_, err := c.Invoke(ctxTimeout(t, 30*time.Second), addr, NewRequest(60, nil, nil))
			errc <- err
		}()
	}
	async := make(chan error, 1)
	if err := c.InvokeAsync(ctxTimeout(t, 30*time.Second), addr, NewRequest(60, nil, nil), func(_ *Command, err error) { async <- err }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "in-flight calls", func() bool { return c.Pending() == inflight+1 })
	start := time.Now()
	_ = s.Close()
	for i := range inflight {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("in-flight call %d: got %v, want ErrClosed", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("in-flight call %d not failed promptly", i)
		}
	}
	if err := <-async; !errors.Is(err, ErrClosed) {
		t.Fatalf("async in-flight call: got %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failing in-flight calls took %v", d)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending after server went away: %d", c.Pending())
	}
	// Nobody listens now: the call fails fast rather than hanging.
	if _, err := c.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, nil, nil)); err == nil {
		t.Fatal("call with no server succeeded")
	}

	// Same address again.
	s2 := NewServer(ServerOptions{Addr: addr, Logger: testLogger(t)})
	s2.Handle(100, echoHandler)
	if err := s2.Start(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer s2.Close()
	resp, err := c.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, map[string]string{"k": "back"}, nil))
	if err != nil || resp.ExtFields["k"] != "back" {
		t.Fatalf("call after the server came back: %v %+v", err, resp)
	}
}

func TestClientDialFailureRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := newClient(t)
	_, err = c.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, nil, nil))
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("dial refused: got %v, want ErrClosed", err)
	}
	if err := c.InvokeOneway(addr, NewRequest(100, nil, nil)); err == nil {
		t.Fatal("oneway to nowhere succeeded")
	}
	if err := c.InvokeAsync(ctxTimeout(t, time.Second), addr, NewRequest(100, nil, nil), func(*Command, error) {}); err == nil {
		t.Fatal("async to nowhere succeeded")
	}
	s := NewServer(ServerOptions{Addr: addr, Logger: testLogger(t)})
	s.Handle(100, echoHandler)
	if err := s.Start(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer s.Close()
	if _, err := c.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, nil, nil)); err != nil {
		t.Fatalf("call once the server is up: %v", err)
	}
}

func TestClientLargeFramesAndLimit(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, over the read buffer
	s := startServer(t, func(s *Server) {
		s.Handle(100, echoHandler)
		s.Handle(101, func(_ *Conn, req *Command) *Command {
			resp := req.NewResponse(0, "")
			resp.Body = big
			return resp
		})
	})
	addr := s.Addr().String()
	c := newClient(t)
	resp, err := c.Invoke(ctxTimeout(t, 10*time.Second), addr, NewRequest(100, nil, big))
	if err != nil || !bytes.Equal(resp.Body, big) {
		t.Fatalf("1 MiB echo: %v, %d bytes", err, len(resp.Body))
	}
	// A client with a small limit refuses to send, and drops a server that sends more.
	small := NewClient(ClientOptions{MaxFrameBytes: 64 << 10, Logger: testLogger(t)})
	defer small.Close()
	if _, err := small.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, nil, big)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("send over limit: got %v, want ErrFrameTooLarge", err)
	}
	if small.Pending() != 0 {
		t.Fatalf("pending after refused send: %d", small.Pending())
	}
	if _, err := small.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(101, nil, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("receive over limit: got %v, want ErrClosed", err)
	}
	if _, err := small.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(100, nil, []byte("ok"))); err != nil {
		t.Fatalf("call after reconnect: %v", err)
	}
}

func TestClientCloseStopsGoroutines(t *testing.T) {
	s1 := startServer(t, func(s *Server) {
		s.Handle(100, echoHandler)
		s.Handle(60, func(*Conn, *Command) *Command { return nil })
	})
	var tr *connTracker
	s2 := startServer(t, func(s *Server) {
		tr = trackConns(s)
		s.Handle(100, echoHandler)
	})
	runtime.GC()
	before := runtime.NumGoroutine()

	c := NewClient(ClientOptions{Logger: testLogger(t)})
	c.Handle(code.CheckTransactionState, func(string, *Command) *Command { return nil })
	for _, a := range []string{s1.Addr().String(), s2.Addr().String()} {
		if _, err := c.Invoke(ctxTimeout(t, 5*time.Second), a, NewRequest(100, nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	sc := tr.next(t)
	if err := sc.InvokeOneway(NewRequest(code.CheckTransactionState, nil, nil)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Invoke(context.Background(), s1.Addr().String(), NewRequest(60, nil, nil))
		errc <- err
	}()
	waitFor(t, 5*time.Second, "pending call", func() bool { return c.Pending() == 1 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("call in flight at Close: got %v, want ErrClosed", err)
	}
	if _, err := c.Invoke(ctxTimeout(t, time.Second), s1.Addr().String(), NewRequest(100, nil, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: got %v, want ErrClosed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(2 * time.Millisecond)
	}
}
