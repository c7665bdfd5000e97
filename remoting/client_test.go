package remoting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
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
		testutil.Eventually(t, 5*time.Second, "pending call", func() bool { return c.Pending() == 1 })
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
	testutil.Eventually(t, 5*time.Second, "in-flight calls", func() bool { return c.Pending() == inflight+1 })
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
	// gnet starts its event-loop goroutines just after Start returns; a first call to
	// each server makes sure they all run before counting.
	warm := NewClient(ClientOptions{Logger: testLogger(t)})
	for _, a := range []string{s1.Addr().String(), s2.Addr().String()} {
		if _, err := warm.Invoke(ctxTimeout(t, 5*time.Second), a, NewRequest(100, nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	_ = warm.Close()
	<-tr.opened // the warm-up connection
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
	testutil.Eventually(t, 5*time.Second, "pending call", func() bool { return c.Pending() == 1 })
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

func BenchmarkEncodeFrame(b *testing.B) {
	for _, typ := range []struct {
		name string
		t    byte
	}{{"json", SerializeJSON}, {"rocketmq", SerializeRocketMQ}} {
		b.Run(typ.name, func(b *testing.B) {
			c := sendRequest(1024)
			c.Serialize = typ.t
			buf, _ := AppendFrame(nil, c, 0)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, err = AppendFrame(buf[:0], c, 0)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, typ := range []struct {
		name string
		t    byte
	}{{"json", SerializeJSON}, {"rocketmq", SerializeRocketMQ}} {
		b.Run(typ.name, func(b *testing.B) {
			c := sendRequest(1024)
			c.Serialize = typ.t
			f, _ := AppendFrame(nil, c, 0)
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				n, err := FrameLength(f, 0)
				if err != nil {
					b.Fatal(err)
				}
				d, err := DecodeFrame(f[4 : 4+n])
				if err != nil || len(d.ExtFields) != len(c.ExtFields) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoCall measures a whole call over loopback: client encode and write, server
// decode, inline handler, response encode, client decode and wake-up. The request is
// SEND-sized (1 KiB body, the Go client's send extFields); the answer echoes one field.
func BenchmarkEchoCall(b *testing.B) {
	for _, inflight := range []int{1, 64} {
		b.Run("inflight="+itoa(inflight), func(b *testing.B) {
			s := startServer(b, func(s *Server) {
				s.Handle(10, func(_ *Conn, req *Command) *Command {
					resp := req.NewResponse(0, "")
					resp.ExtFields["queueId"] = req.ExtFields["queueId"]
					return resp
				})
			})
			c := newClient(b)
			addr := s.Addr().String()
			proto := sendRequest(1024)
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

// BenchmarkDecodeJSONHeaderStdlib is the reference the hand-written JSON decoder is
// measured against: encoding/json into the Go client's header shape.
func BenchmarkDecodeJSONHeaderStdlib(b *testing.B) {
	c := sendRequest(0)
	h := appendJSONHeader(nil, c)
	b.SetBytes(int64(len(h)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Code      int16             `json:"code"`
			Language  string            `json:"language"`
			Version   int32             `json:"version"`
			Opaque    int32             `json:"opaque"`
			Flag      int32             `json:"flag"`
			Remark    string            `json:"remark"`
			ExtFields map[string]string `json:"extFields"`
		}
		if err := json.Unmarshal(h, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSONHeader(b *testing.B) {
	c := sendRequest(0)
	h := appendJSONHeader(nil, c)
	b.SetBytes(int64(len(h)))
	b.ReportAllocs()
	for b.Loop() {
		var d Command
		if err := decodeJSONHeader(h, &d); err != nil {
			b.Fatal(err)
		}
	}
}

func TestClientDropsServerSendingGarbage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	replies := [][]byte{
		frameOf(7, []byte(`{}`), nil),                    // unknown serialize type
		frameOf(SerializeJSON, []byte(`{"code":`), nil),  // invalid JSON
		frameOf(SerializeRocketMQ, []byte{0, 1, 2}, nil), // truncated binary header
		{0x7F, 0xFF, 0xFF, 0xFF},                         // 2 GiB length prefix
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
	c := newClient(t)
	for i := range replies {
		start := time.Now()
		_, err := c.Invoke(ctxTimeout(t, 30*time.Second), ln.Addr().String(), NewRequest(100, nil, nil))
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("reply %d: got %v, want ErrClosed", i, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("reply %d: failing took %v", i, d)
		}
	}
}
