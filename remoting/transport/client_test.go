package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

func TestClientConcurrentCallsOneConnection(t *testing.T) {
	var tr *remotingtest.ConnTracker
	s := remotingtest.StartServer(t, func(s *server.Server) {
		tr = remotingtest.TrackConns(s)
		s.Handle(100, remotingtest.Echo)
		s.HandleAsync(101, remotingtest.Echo)
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := strconv.Itoa(i)
			rc := int32(100 + i%2)
			resp, err := c.Invoke(remotingtest.Timeout(t, 20*time.Second), addr, codec.NewRequest(rc, map[string]string{"k": k}, []byte(k)))
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
	conns := tr.Count()
	if conns != 1 {
		t.Fatalf("connections opened: got %d, want 1", conns)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending after all answers: %d", c.Pending())
	}
}

func TestClientTimeoutLeavesNothingPending(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(60, func(*server.Conn, *codec.Command) *codec.Command { return nil }) // never answers
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	start := time.Now()
	_, err := c.Invoke(remotingtest.Timeout(t, 100*time.Millisecond), addr, codec.NewRequest(60, nil, nil))
	if !errors.Is(err, codec.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: got %v, want codec.ErrTimeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timeout after %v, want about 100ms", d)
	}
	if n := c.Pending(); n != 0 {
		t.Fatalf("pending after timeout: %d", n)
	}

	// Async: the callback gets the timeout, once, and the entry is gone.
	got := make(chan error, 2)
	err = c.InvokeAsync(remotingtest.Timeout(t, 100*time.Millisecond), addr, codec.NewRequest(60, nil, nil), func(r *codec.Command, err error) {
		got <- err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, codec.ErrTimeout) {
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
		testutil.Eventually(t, 5*time.Second, "pending call", func() bool { return c.Pending() == 1 })
		cancel()
	}()
	_, err = c.Invoke(ctx, addr, codec.NewRequest(60, nil, nil))
	if !errors.Is(err, context.Canceled) || errors.Is(err, codec.ErrTimeout) {
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
	oneway := make(chan *codec.Command, 1)
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.Handle(code.UpdateConsumerOffset, func(_ *server.Conn, req *codec.Command) *codec.Command {
			oneway <- req
			return req.NewResponse(0, "") // must not be sent: the request is oneway
		})
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	const n = 200
	results := make(chan string, n)
	for i := range n {
		k := strconv.Itoa(i)
		err := c.InvokeAsync(remotingtest.Timeout(t, 10*time.Second), addr, codec.NewRequest(100, map[string]string{"k": k}, nil), func(r *codec.Command, err error) {
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

	if err := c.InvokeOneway(addr, codec.NewRequest(code.UpdateConsumerOffset, map[string]string{"offset": "9"}, nil)); err != nil {
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
	resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, map[string]string{"k": "after"}, nil))
	if err != nil || resp.ExtFields["k"] != "after" {
		t.Fatalf("call after oneway: %v %+v", err, resp)
	}
}

func TestClientServerGoesAwayAndComesBack(t *testing.T) {
	never := func(*server.Conn, *codec.Command) *codec.Command { return nil }
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.Handle(60, never)
	})
	addr := s.Addr().String()
	c := remotingtest.NewClient(t)
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
		t.Fatal(err)
	}
	const inflight = 20
	errc := make(chan error, inflight+1)
	for range inflight {
		go func() {
			_, err := c.Invoke(remotingtest.Timeout(t, 30*time.Second), addr, codec.NewRequest(60, nil, nil))
			errc <- err
		}()
	}
	async := make(chan error, 1)
	if err := c.InvokeAsync(remotingtest.Timeout(t, 30*time.Second), addr, codec.NewRequest(60, nil, nil), func(_ *codec.Command, err error) { async <- err }); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "in-flight calls", func() bool { return c.Pending() == inflight+1 })
	start := time.Now()
	_ = s.Close()
	for i := range inflight {
		select {
		case err := <-errc:
			if !errors.Is(err, codec.ErrClosed) {
				t.Fatalf("in-flight call %d: got %v, want codec.ErrClosed", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("in-flight call %d not failed promptly", i)
		}
	}
	if err := <-async; !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("async in-flight call: got %v, want codec.ErrClosed", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failing in-flight calls took %v", d)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending after server went away: %d", c.Pending())
	}
	// Nobody listens now: the call fails fast rather than hanging.
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err == nil {
		t.Fatal("call with no server succeeded")
	}

	// Same address again.
	s2 := server.NewServer(server.ServerOptions{Addr: addr, Logger: remotingtest.Logger(t)})
	s2.Handle(100, remotingtest.Echo)
	if err := s2.Start(remotingtest.Timeout(t, 5*time.Second)); err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer s2.Close()
	resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, map[string]string{"k": "back"}, nil))
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
	c := remotingtest.NewClient(t)
	_, err = c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil))
	if !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("dial refused: got %v, want codec.ErrClosed", err)
	}
	if err := c.InvokeOneway(addr, codec.NewRequest(100, nil, nil)); err == nil {
		t.Fatal("oneway to nowhere succeeded")
	}
	if err := c.InvokeAsync(remotingtest.Timeout(t, time.Second), addr, codec.NewRequest(100, nil, nil), func(*codec.Command, error) {}); err == nil {
		t.Fatal("async to nowhere succeeded")
	}
	s := server.NewServer(server.ServerOptions{Addr: addr, Logger: remotingtest.Logger(t)})
	s.Handle(100, remotingtest.Echo)
	if err := s.Start(remotingtest.Timeout(t, 5*time.Second)); err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer s.Close()
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
		t.Fatalf("call once the server is up: %v", err)
	}
}

func TestClientLargeFramesAndLimit(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, over the read buffer
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.Handle(101, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "")
			resp.Body = big
			return resp
		})
	})
	addr := s.Addr().String()
	c := remotingtest.NewClient(t)
	resp, err := c.Invoke(remotingtest.Timeout(t, 10*time.Second), addr, codec.NewRequest(100, nil, big))
	if err != nil || !bytes.Equal(resp.Body, big) {
		t.Fatalf("1 MiB echo: %v, %d bytes", err, len(resp.Body))
	}
	// A client with a small limit refuses to send, and drops a server that sends more.
	small := transport.NewClient(transport.ClientOptions{MaxFrameBytes: 64 << 10, Logger: remotingtest.Logger(t)})
	defer small.Close()
	if _, err := small.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, big)); !errors.Is(err, codec.ErrFrameTooLarge) {
		t.Fatalf("send over limit: got %v, want codec.ErrFrameTooLarge", err)
	}
	if small.Pending() != 0 {
		t.Fatalf("pending after refused send: %d", small.Pending())
	}
	if _, err := small.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(101, nil, nil)); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("receive over limit: got %v, want codec.ErrClosed", err)
	}
	if _, err := small.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, []byte("ok"))); err != nil {
		t.Fatalf("call after reconnect: %v", err)
	}
}

func TestClientCloseStopsGoroutines(t *testing.T) {
	s1 := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.Handle(60, func(*server.Conn, *codec.Command) *codec.Command { return nil })
	})
	var tr *remotingtest.ConnTracker
	s2 := remotingtest.StartServer(t, func(s *server.Server) {
		tr = remotingtest.TrackConns(s)
		s.Handle(100, remotingtest.Echo)
	})
	// gnet starts its event-loop goroutines just after Start returns; a first call to
	// each server makes sure they all run before counting.
	warm := transport.NewClient(transport.ClientOptions{Logger: remotingtest.Logger(t)})
	for _, a := range []string{s1.Addr().String(), s2.Addr().String()} {
		if _, err := warm.Invoke(remotingtest.Timeout(t, 5*time.Second), a, codec.NewRequest(100, nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	_ = warm.Close()
	<-tr.Opened // the warm-up connection
	before := runtime.NumGoroutine()

	c := transport.NewClient(transport.ClientOptions{Logger: remotingtest.Logger(t)})
	c.Handle(code.CheckTransactionState, func(string, *codec.Command) *codec.Command { return nil })
	for _, a := range []string{s1.Addr().String(), s2.Addr().String()} {
		if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), a, codec.NewRequest(100, nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	sc := tr.Next(t)
	if err := sc.InvokeOneway(codec.NewRequest(code.CheckTransactionState, nil, nil)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Invoke(context.Background(), s1.Addr().String(), codec.NewRequest(60, nil, nil))
		errc <- err
	}()
	testutil.Eventually(t, 5*time.Second, "pending call", func() bool { return c.Pending() == 1 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("call in flight at Close: got %v, want codec.ErrClosed", err)
	}
	if _, err := c.Invoke(remotingtest.Timeout(t, time.Second), s1.Addr().String(), codec.NewRequest(100, nil, nil)); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("call after Close: got %v, want codec.ErrClosed", err)
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

// BenchmarkEchoCall measures a whole call over loopback: client encode and write, server
// decode, inline handler, response encode, client decode and wake-up. The request is
// SEND-sized (1 KiB body, the Go client's send extFields); the answer echoes one field.
func BenchmarkEchoCall(b *testing.B) {
	for _, inflight := range []int{1, 64} {
		b.Run("inflight="+itoa(inflight), func(b *testing.B) {
			s := remotingtest.StartServer(b, func(s *server.Server) {
				s.Handle(10, func(_ *server.Conn, req *codec.Command) *codec.Command {
					resp := req.NewResponse(0, "")
					resp.ExtFields["queueId"] = req.ExtFields["queueId"]
					return resp
				})
			})
			c := remotingtest.NewClient(b)
			addr := s.Addr().String()
			proto := remotingtest.SendRequest(1024)
			if _, err := c.Invoke(context.Background(), addr, proto); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(proto.BodyLen()))
			b.ReportAllocs()
			var left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			var failed atomic.Value
			b.ResetTimer()
			start := time.Now()
			for range inflight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := *proto
					for left.Add(-1) >= 0 {
						r := req
						if _, err := c.Invoke(context.Background(), addr, &r); err != nil {
							failed.Store(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
		})
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestClientDropsServerSendingGarbage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	replies := [][]byte{
		remotingtest.RawFrame(7, []byte(`{}`), nil),                          // unknown serialize type
		remotingtest.RawFrame(codec.SerializeJSON, []byte(`{"code":`), nil),  // invalid JSON
		remotingtest.RawFrame(codec.SerializeRocketMQ, []byte{0, 1, 2}, nil), // truncated binary header
		{0x7F, 0xFF, 0xFF, 0xFF},                                             // 2 GiB length prefix
	}
	go func() {
		for _, r := range replies {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			// Answer the first request with garbage, then keep the socket open: the
			// client must give up on its own.
			buf := make([]byte, 4096)
			_, _ = nc.Read(buf)
			_, _ = nc.Write(r)
			defer nc.Close()
		}
	}()
	c := remotingtest.NewClient(t)
	for i := range replies {
		start := time.Now()
		_, err := c.Invoke(remotingtest.Timeout(t, 30*time.Second), ln.Addr().String(), codec.NewRequest(100, nil, nil))
		if !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("reply %d: got %v, want codec.ErrClosed", i, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("reply %d: failing took %v", i, d)
		}
	}
}
