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

// TestLargeAnswerLeftToTheReader: a caller whose answer is larger than the read buffer
// leaves it to the reader goroutine, which reads such a frame in parts; the caller's
// context ending while half of it has come costs the call, not the connection.
func TestLargeAnswerLeftToTheReader(t *testing.T) {
	srv := startScripted(t)
	// The baton stays down between the calls however slowly this test runs.
	defer transport.SetReaderIdle(transport.SetReaderIdle(time.Minute))
	c := remotingtest.NewClient(t)
	freeBaton(t, c, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	if _, err := c.Invoke(ctx, srv.addr, codec.NewRequest(codeHalfLarge, nil, nil)); !errors.Is(err, codec.ErrTimeout) {
		t.Fatalf("half-sent large answer: got %v, want codec.ErrTimeout", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("the call gave up after %v", d)
	}
	close(srv.release) // the rest of the frame, a late answer the reader drops
	for i := range 5 {
		if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), srv.addr, codec.NewRequest(100, nil, nil)); err != nil {
			t.Fatalf("call %d after the large answer: %v", i, err)
		}
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Fatalf("connections: %d, want 1", n)
	}
}

// TestTimeoutBesideAnotherCallsLargeAnswer: a caller reading its own answer times out
// while half of another call's large answer has come; the other call must still get
// its answer.
func TestTimeoutBesideAnotherCallsLargeAnswer(t *testing.T) {
	srv := startScripted(t)
	defer transport.SetReaderIdle(transport.SetReaderIdle(time.Minute))
	c := remotingtest.NewClient(t)
	freeBaton(t, c, srv.addr)
	asyncErr := make(chan error, 1)
	err := c.InvokeAsync(remotingtest.Timeout(t, 10*time.Second), srv.addr, codec.NewRequest(codeHalfLarge, nil, nil),
		func(resp *codec.Command, err error) {
			if err == nil && len(resp.Body) != largeBody {
				err = fmt.Errorf("answer of %d bytes", len(resp.Body))
			}
			asyncErr <- err
		})
	if err != nil {
		t.Fatal(err)
	}
	<-srv.halfSent
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Invoke(ctx, srv.addr, codec.NewRequest(codeNever, nil, nil)); !errors.Is(err, codec.ErrTimeout) {
		t.Fatalf("unanswered call: got %v, want codec.ErrTimeout", err)
	}
	close(srv.release)
	select {
	case err := <-asyncErr:
		if err != nil {
			t.Fatalf("the large answer's call failed beside an unrelated timeout: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the large answer's call never completed")
	}
}

// TestAsyncCallWakesTheReader: an asynchronous call sent while the baton is down is
// answered at once, not after the baton's idle time.
func TestAsyncCallWakesTheReader(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.HandleAsync(101, remotingtest.Echo)
	})
	defer transport.SetReaderIdle(transport.SetReaderIdle(time.Minute))
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	freeBaton(t, c, addr)
	done := make(chan error, 1)
	if err := c.InvokeAsync(context.Background(), addr, codec.NewRequest(101, nil, nil),
		func(_ *codec.Command, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the asynchronous call's answer was left unread while the baton was down")
	}
}

// TestAsyncAnswerMetByACaller: a caller reading its own answer meets an asynchronous
// call's answer first. The callback must not run inside that caller's call: here the
// caller holds a lock the callback takes, which on the caller's own goroutine would
// deadlock it for good. The caller gets its answer once the callback could run.
func TestAsyncAnswerMetByACaller(t *testing.T) {
	unblock := make(chan struct{})
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.HandleAsync(101, remotingtest.Echo)
		s.HandleAsync(102, func(conn *server.Conn, req *codec.Command) *codec.Command {
			<-unblock // answered once the callback ran
			return remotingtest.Echo(conn, req)
		})
	})
	defer transport.SetReaderIdle(transport.SetReaderIdle(time.Minute))
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	freeBaton(t, c, addr)
	var mu sync.Mutex
	transport.SetAfterTake(func() {
		transport.SetAfterTake(nil)
		// The caller holds the baton: the answer to this call comes to it first.
		err := c.InvokeAsync(context.Background(), addr, codec.NewRequest(101, nil, nil), func(*codec.Command, error) {
			mu.Lock() // held by the caller until its call returns
			mu.Unlock()
			close(unblock)
		})
		if err != nil {
			t.Error(err)
		}
	})
	defer transport.SetAfterTake(nil)
	done := make(chan error, 1)
	go func() {
		mu.Lock()
		defer mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Invoke(ctx, addr, codec.NewRequest(102, nil, nil))
		done <- err
	}()
	// The call waits for its answer, which waits for the callback, which waits for the
	// caller's lock: the call must end at its deadline, not hang.
	select {
	case err := <-done:
		if !errors.Is(err, codec.ErrTimeout) {
			t.Fatalf("call: got %v, want codec.ErrTimeout (its answer needs the callback)", err)
		}
	case <-time.After(30 * time.Second): // failure detector only
		t.Fatal("the caller is stuck: the callback ran inside its call")
	}
	select {
	case <-unblock:
	case <-time.After(10 * time.Second):
		t.Fatal("the callback never ran")
	}
	if err := echoCall(c, addr, "after", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestConnectionLostUnderACaller: the server closes the connection while a caller reads
// its own answer. The caller fails promptly with codec.ErrClosed (the reader goroutine
// fails the connection), and the next call dials again.
func TestConnectionLostUnderACaller(t *testing.T) {
	srv := startScripted(t)
	defer transport.SetReaderIdle(transport.SetReaderIdle(time.Minute))
	c := remotingtest.NewClient(t)
	freeBaton(t, c, srv.addr)
	took := make(chan struct{}, 1)
	transport.SetAfterTake(func() { took <- struct{}{} })
	defer transport.SetAfterTake(nil)
	began := time.Now()
	_, err := c.Invoke(remotingtest.Timeout(t, 10*time.Second), srv.addr, codec.NewRequest(codeHangUp, nil, nil))
	if !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("call on a connection the server closed: got %v, want codec.ErrClosed", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("the call failed after %v", d)
	}
	select {
	case <-took:
	default:
		t.Fatal("the call did not take the read baton")
	}
	transport.SetAfterTake(nil)
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), srv.addr, codec.NewRequest(100, nil, nil)); err != nil {
		t.Fatalf("call after the connection was lost: %v", err)
	}
	if n := srv.accepted.Load(); n != 2 {
		t.Fatalf("connections: %d, want 2", n)
	}
}

// freeBaton calls until a caller reads its own answer: that caller laid the baton down.
func freeBaton(t *testing.T, c *transport.Client, addr string) {
	t.Helper()
	for range 100 {
		before := transport.AnsweredByCallers(c, addr)
		if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
			t.Fatal(err)
		}
		if before >= 0 && transport.AnsweredByCallers(c, addr) > before {
			return
		}
	}
	t.Fatal("no call read its own answer")
}

// Request codes of the scripted server.
const (
	codeNever     = 102 // never answered
	codeHalfLarge = 103 // answered with a large frame, half of it until release
	codeHangUp    = 104 // the server closes the connection
	largeBody     = 200 << 10
)

// scripted is a server on a plain socket that answers codes 100 (at once), codeNever
// and codeHalfLarge as their names say.
type scripted struct {
	addr     string
	accepted atomic.Int32
	halfSent chan struct{} // closed once half of a large answer went out
	release  chan struct{} // close to send the other half
}

func startScripted(t *testing.T) *scripted {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := &scripted{addr: ln.Addr().String(), halfSent: make(chan struct{}), release: make(chan struct{})}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			srv.accepted.Add(1)
			go srv.serve(nc)
		}
	}()
	return srv
}

func (srv *scripted) serve(nc net.Conn) {
	defer nc.Close()
	buf := make([]byte, 64<<10)
	var wmu sync.Mutex
	for {
		req, err := readRequest(nc, buf)
		if err != nil {
			return
		}
		resp := req.NewResponse(0, "")
		switch req.Code {
		case codeHangUp:
			return
		case codeNever:
		case codeHalfLarge:
			resp.Body = make([]byte, largeBody)
			frame, _ := codec.AppendFrame(nil, resp, codec.DefaultMaxFrameBytes)
			// Every later answer waits for the other half (wmu stays locked).
			wmu.Lock()
			_, _ = nc.Write(frame[:len(frame)/2])
			close(srv.halfSent)
			go func() {
				<-srv.release
				_, _ = nc.Write(frame[len(frame)/2:])
				wmu.Unlock()
			}()
		default:
			frame, _ := codec.AppendFrame(nil, resp, codec.DefaultMaxFrameBytes)
			wmu.Lock()
			_, err := nc.Write(frame)
			wmu.Unlock()
			if err != nil {
				return
			}
		}
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
