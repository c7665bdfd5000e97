package transport_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// echoCall makes one synchronous call of code 100 with a key, and checks the echo.
func echoCall(c *transport.Client, addr, k string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := c.Invoke(ctx, addr, codec.NewRequest(100, map[string]string{"k": k}, []byte(k)))
	switch {
	case err != nil:
		return fmt.Errorf("call %s: %w", k, err)
	case resp.ExtFields["k"] != k || string(resp.Body) != k:
		return fmt.Errorf("call %s: got answer %q/%q", k, resp.ExtFields["k"], resp.Body)
	}
	return nil
}

// TestSyncCallerReadsItsOwnAnswer: in a run of synchronous calls on one connection,
// every call after the first is answered to its caller directly (read.go).
func TestSyncCallerReadsItsOwnAnswer(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) { s.Handle(100, remotingtest.Echo) })
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	const n = 200
	for i := range n {
		if err := echoCall(c, addr, strconv.Itoa(i), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// The first answer is the reader goroutine's; a later one may be too, when the
	// machine paused this goroutine for longer than readerIdle between two calls.
	if got := transport.AnsweredByCallers(c, addr); got < n/2 {
		t.Fatalf("answers read by their callers: %d of %d", got, n)
	}
}

// TestAnswerBeforeTheBaton: the reader goroutine reads a caller's answer before the
// caller reaches for the baton, and lays the baton down. The caller must find its
// answer rather than wait in a read for one that already came.
func TestAnswerBeforeTheBaton(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) { s.Handle(100, remotingtest.Echo) })
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	if err := echoCall(c, addr, "warm", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	transport.SetBeforeTake(func() {
		// The answer is taken out of the table once read.
		deadline := time.Now().Add(5 * time.Second)
		for c.Pending() != 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
	})
	defer transport.SetBeforeTake(nil)
	// A pause past readerIdle first, so that the reader goroutine holds the baton.
	for i := range 5 {
		time.Sleep(5 * time.Millisecond)
		began := time.Now()
		if err := echoCall(c, addr, "k"+strconv.Itoa(i), 3*time.Second); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(began); d > time.Second {
			t.Fatalf("call %d took %v", i, d)
		}
	}
}

// TestCallersReadingTheirAnswers mixes the ways a connection is read: one goroutine's
// synchronous calls in a row, with pauses around readerIdle so that the baton goes back
// and forth between it and the reader goroutine, beside another goroutine's synchronous
// calls and a stream of asynchronous ones. Every call must get its own answer, promptly.
func TestCallersReadingTheirAnswers(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.HandleAsync(101, remotingtest.Echo)
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	const slowest = 500 * time.Millisecond
	timed := func(k string) error {
		began := time.Now()
		if err := echoCall(c, addr, k, 10*time.Second); err != nil {
			return err
		}
		if d := time.Since(began); d > slowest {
			return fmt.Errorf("call %s took %v", k, d)
		}
		return nil
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	var asyncs, asyncOK atomic.Int64
	wg.Add(2)
	go func() { // the other synchronous caller
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if err := timed("other" + strconv.Itoa(i)); err != nil {
				errs <- err
				return
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	go func() { // asynchronous calls
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			k := "async" + strconv.Itoa(i)
			asyncs.Add(1)
			err := c.InvokeAsync(context.Background(), addr, codec.NewRequest(101, map[string]string{"k": k}, nil), func(resp *codec.Command, err error) {
				if err == nil && resp.ExtFields["k"] == k {
					asyncOK.Add(1)
				}
			})
			if err != nil {
				errs <- err
				return
			}
			time.Sleep(7 * time.Millisecond)
		}
	}()
	pauses := []time.Duration{0, 0, 0, 300 * time.Microsecond, 0, 1500 * time.Microsecond, 0, 800 * time.Microsecond}
	for i := 0; i < 4000; i++ {
		if err := timed("main" + strconv.Itoa(i)); err != nil {
			t.Error(err)
			break
		}
		if d := pauses[i%len(pauses)]; d > 0 {
			time.Sleep(d)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for asyncOK.Load() != asyncs.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if asyncOK.Load() != asyncs.Load() {
		t.Errorf("asynchronous calls answered: %d of %d", asyncOK.Load(), asyncs.Load())
	}
	if c.Pending() != 0 {
		t.Errorf("pending after all answers: %d", c.Pending())
	}
}

// TestDirectReadTimesOut: a caller reading its own answer is stopped by its context, and
// the connection goes on working: the late answer is dropped, the next call is
// answered, and a request the server starts reaches the client's handler.
func TestDirectReadTimesOut(t *testing.T) {
	var tr *remotingtest.ConnTracker
	release := make(chan struct{})
	s := remotingtest.StartServer(t, func(s *server.Server) {
		tr = remotingtest.TrackConns(s)
		s.Handle(100, remotingtest.Echo)
		s.HandleAsync(102, func(conn *server.Conn, req *codec.Command) *codec.Command {
			<-release // answered late, after the caller gave up
			return remotingtest.Echo(conn, req)
		})
	})
	c := remotingtest.NewClient(t)
	got := make(chan string, 1)
	c.Handle(code.CheckTransactionState, func(_ string, req *codec.Command) *codec.Command {
		got <- string(req.Body)
		return nil
	})
	addr := s.Addr().String()
	if err := echoCall(c, addr, "warm", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	conn := tr.Next(t)
	before := transport.AnsweredByCallers(c, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := c.Invoke(ctx, addr, codec.NewRequest(102, nil, []byte("late")))
	if !errors.Is(err, codec.ErrTimeout) {
		t.Fatalf("slow call: got %v, want codec.ErrTimeout", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("slow call gave up after %v", d)
	}
	close(release)
	for i := range 20 {
		if err := echoCall(c, addr, "after"+strconv.Itoa(i), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := transport.AnsweredByCallers(c, addr) - before; n == 0 {
		t.Fatal("no answer after the timeout was read by its caller")
	}
	if tr.Count() != 1 {
		t.Fatalf("connections opened: %d, want 1 (the timeout must not cost the connection)", tr.Count())
	}
	// Idle past readerIdle: the reader goroutine must be reading again.
	time.Sleep(10 * time.Millisecond)
	if err := conn.InvokeOneway(codec.NewRequest(code.CheckTransactionState, nil, []byte("check"))); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if b != "check" {
			t.Fatalf("server request body %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server's request never reached the client's handler")
	}
}

// TestDirectReadTimeoutInsideLargeFrame: a caller's context ends while it reads a frame
// larger than the read buffer, half of which has come: the stream cannot be read on,
// so the connection is closed and the next call dials again.
func TestDirectReadTimeoutInsideLargeFrame(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := make(chan struct{})
	accepted := make(chan struct{}, 4)
	go func() {
		for first := true; ; first = false {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go serveTorn(nc, first, closed)
		}
	}()
	// The baton stays free between the calls however slowly this test runs, so that
	// the third call reads its own answer.
	defer transport.SetReaderIdle(transport.SetReaderIdle(time.Minute))
	c := remotingtest.NewClient(t)
	addr := ln.Addr().String()
	// The first answer is the reader goroutine's, the second its caller's.
	for i := range 2 {
		if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := transport.AnsweredByCallers(c, addr); n != 1 {
		t.Fatalf("answers read by their callers: %d, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Invoke(ctx, addr, codec.NewRequest(100, nil, nil))
	if !errors.Is(err, codec.ErrTimeout) {
		t.Fatalf("torn answer: got %v, want codec.ErrTimeout", err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("the connection with a torn frame was not closed (call: %v, answered by callers: %d)", err, transport.AnsweredByCallers(c, addr))
	}
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
		t.Fatalf("call on a new connection: %v", err)
	}
	if len(accepted) != 2 {
		t.Fatalf("connections: %d, want 2", len(accepted))
	}
}

// serveTorn answers requests on nc: whole small answers, except that on the first
// connection the third answer is the first half of a 200 KiB frame, after which it
// waits for the client to close (and reports that on closed).
func serveTorn(nc net.Conn, first bool, closed chan<- struct{}) {
	defer nc.Close()
	buf := make([]byte, 64<<10)
	for n := 1; ; n++ {
		req, err := readRequest(nc, buf)
		if err != nil {
			return
		}
		resp := req.NewResponse(0, "")
		if !first || n < 3 {
			frame, _ := codec.AppendFrame(nil, resp, codec.DefaultMaxFrameBytes)
			if _, err := nc.Write(frame); err != nil {
				return
			}
			continue
		}
		resp.Body = make([]byte, 200<<10)
		frame, _ := codec.AppendFrame(nil, resp, codec.DefaultMaxFrameBytes)
		_, _ = nc.Write(frame[:len(frame)/2])
		_, _ = nc.Read(buf) // returns once the client closes
		close(closed)
		return
	}
}

// readRequest reads one frame from nc.
func readRequest(nc net.Conn, buf []byte) (*codec.Command, error) {
	if _, err := ioReadFull(nc, buf[:4]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(buf))
	if n > len(buf) {
		return nil, fmt.Errorf("request of %d bytes", n)
	}
	if _, err := ioReadFull(nc, buf[:n]); err != nil {
		return nil, err
	}
	return codec.DecodeFrame(buf[:n])
}

func ioReadFull(nc net.Conn, b []byte) (int, error) {
	got := 0
	for got < len(b) {
		n, err := nc.Read(b[got:])
		got += n
		if err != nil {
			return got, err
		}
	}
	return got, nil
}
