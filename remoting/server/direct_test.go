package server_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// lateReplyWhileLoopBusy parks request 1, keeps the connection's event loop busy in the
// handler of request 2, replies to request 1 from another goroutine with a body of size
// bytes, then lets the handler answer request 2. readFirst says whether the client reads
// the late reply before the handler is released.
func lateReplyWhileLoopBusy(t *testing.T, size int, readFirst bool) {
	t.Helper()
	held := make(chan *codec.Command, 1)
	var conn atomic.Pointer[server.Conn]
	release, entered := make(chan struct{}), make(chan struct{})
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(20, parkLate(held, &conn))
		s.Handle(21, func(_ *server.Conn, req *codec.Command) *codec.Command {
			close(entered)
			<-release // keeps the event loop busy
			resp := req.NewResponse(0, "after")
			resp.Body = []byte("loop answer")
			return resp
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(16 << 10)
	park := codec.NewRequest(20, nil, nil)
	park.Opaque = 1
	if _, err := nc.Write(rawFrame(t, park)); err != nil {
		t.Fatal(err)
	}
	req := <-held
	block := codec.NewRequest(21, nil, nil)
	block.Opaque = 2
	if _, err := nc.Write(rawFrame(t, block)); err != nil {
		t.Fatal(err)
	}
	<-entered
	want := bytes.Repeat([]byte("late-reply-"), size/11+1)[:size]
	resp := req.NewResponse(0, "late")
	resp.BodyParts = [][]byte{want[:size/2], want[size/2:]}
	if err := conn.Load().ReplyNow(resp); err != nil {
		t.Fatal(err)
	}
	if !readFirst {
		close(release)
	}
	got := readRawFrame(t, nc)
	if got.Opaque != 1 || got.Remark != "late" || !bytes.Equal(got.Body, want) || !got.IsResponse() {
		t.Fatalf("late reply: opaque %d remark %q body of %d bytes (want %d)", got.Opaque, got.Remark, len(got.Body), len(want))
	}
	if readFirst {
		close(release)
	}
	if got := readRawFrame(t, nc); got.Opaque != 2 || got.Remark != "after" || string(got.Body) != "loop answer" {
		t.Fatalf("answer after the late reply: opaque %d remark %q body %q", got.Opaque, got.Remark, got.Body)
	}
}

// A late reply is written by its caller: it reaches the client while the connection's
// event loop is still busy in a handler (a parked pull answered from another
// connection's event loop does not wait for this one to wake up).
func TestServerLateReplyWrittenByCaller(t *testing.T) {
	lateReplyWhileLoopBusy(t, 64, true)
}

// A late reply too large for the socket buffers is cut short; its rest waits in the
// event loop's queue, and the loop's next answer, written in the same turn before that
// queue runs, must go behind it rather than into the middle of the frame.
func TestServerLoopAnswerQueuesBehindCutReply(t *testing.T) {
	lateReplyWhileLoopBusy(t, 8<<20, false)
}

// Late replies larger than the socket buffers, written by their callers while the event
// loop answers pipelined requests on the same connection, arrive whole: every frame
// decodes, carries its own body, and each request is answered exactly once. The client
// reads only after all replies and requests are sent, so direct writes are cut short by
// a full socket buffer, their rests go through the event loop, and the loop's answers
// queue behind them.
func TestServerLateRepliesStayWholeUnderBackpressure(t *testing.T) {
	const late, inline = 24, 400
	held := make(chan *codec.Command, late)
	var conn atomic.Pointer[server.Conn]
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(20, parkLate(held, &conn))
		s.Handle(100, remotingtest.Echo)
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(16 << 10)
	var burst []byte
	for i := range late {
		req := codec.NewRequest(20, nil, nil)
		req.Opaque = int32(1000 + i)
		burst = append(burst, rawFrame(t, req)...)
	}
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	body := func(op int32) []byte { // 256 KiB, different for each request
		b := bytes.Repeat([]byte{byte(op)}, 256<<10)
		binary.BigEndian.PutUint32(b, uint32(op))
		return b
	}
	var wg sync.WaitGroup
	for range late {
		req := <-held
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := body(req.Opaque)
			resp := req.NewResponse(0, "")
			resp.BodyParts = [][]byte{b[:1000], b[1000:]}
			if err := conn.Load().ReplyNow(resp); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The socket buffers are full and the rests of cut replies wait in the event loop's
	// queue: the loop's own answers must queue behind them.
	var echo []byte
	for i := range inline {
		req := codec.NewRequest(100, nil, bytes.Repeat([]byte{byte(i)}, 1+i%300))
		req.Opaque = int32(i + 1)
		echo = append(echo, rawFrame(t, req)...)
	}
	if _, err := nc.Write(echo); err != nil {
		t.Fatal(err)
	}
	seen := map[int32]bool{}
	for range late + inline {
		got := readRawFrame(t, nc)
		if seen[got.Opaque] {
			t.Fatalf("opaque %d answered twice", got.Opaque)
		}
		seen[got.Opaque] = true
		switch {
		case got.Opaque >= 1000:
			if !bytes.Equal(got.Body, body(got.Opaque)) {
				t.Fatalf("late reply %d: body of %d bytes differs", got.Opaque, len(got.Body))
			}
		default:
			i := int(got.Opaque - 1)
			if !bytes.Equal(got.Body, bytes.Repeat([]byte{byte(i)}, 1+i%300)) {
				t.Fatalf("echo %d: body of %d bytes differs", got.Opaque, len(got.Body))
			}
		}
	}
}

// An answer the event loop fails to write (the peer reset the connection while its
// handler ran) closes the connection right inside that write; OnClose, on the same
// goroutine, must not wait for the lock the write holds. The connection is reported
// closed and the server keeps answering others.
func TestServerFailedLoopWriteClosesConnection(t *testing.T) {
	var tr *remotingtest.ConnTracker
	s := failLoopWrite(t, func(s *server.Server) { tr = remotingtest.TrackConns(s) })
	// A deadlock here stops the event loop, and Close waits for it: fail quickly
	// instead of at the go test timeout.
	defer closeWithin(t, s, 10*time.Second, "the event loop is stuck (OnClose waiting for the write lock its own write holds?)")
	bad := tr.Next(t)
	testutil.Eventually(t, 10*time.Second, "the failed connection to be reported closed (OnClose deadlocked?)", func() bool { return tr.IsClosed(bad.ID()) })
	c := remotingtest.NewClient(t)
	if resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), s.Addr().String(), codec.NewRequest(100, map[string]string{"k": "v"}, nil)); err != nil || resp.ExtFields["k"] != "v" {
		t.Fatalf("another connection after the failed write: %v %+v", err, resp)
	}
}

// failLoopWrite starts a one-loop server (setup runs before Start) that echoes code 100
// and answers code 21 with 4 MiB, more than one write takes; it sends code 21, resets
// the connection while the handler waits, then lets the handler answer, so that the
// loop's own write of the answer fails. It returns the started server.
func failLoopWrite(t *testing.T, setup func(*server.Server)) *server.Server {
	t.Helper()
	release, entered := make(chan struct{}), make(chan struct{})
	s := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", EventLoops: 1, Logger: remotingtest.Logger(t)})
	setup(s)
	s.Handle(21, func(_ *server.Conn, req *codec.Command) *codec.Command {
		close(entered)
		<-release
		resp := req.NewResponse(0, "")
		resp.Body = bytes.Repeat([]byte("x"), 4<<20) // more than one write takes
		return resp
	})
	s.Handle(100, remotingtest.Echo)
	if err := s.Start(remotingtest.Timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(rawFrame(t, codec.NewRequest(21, nil, nil))); err != nil {
		t.Fatal(err)
	}
	<-entered
	_ = nc.(*net.TCPConn).SetLinger(0) // close with a reset
	_ = nc.Close()                     // on loopback the reset has arrived when Close returns
	close(release)
	return s
}

// parkLate is a handler that answers nothing at once: it keeps each request on held and
// its connection in conn, for the test to answer later from another goroutine.
func parkLate(held chan<- *codec.Command, conn *atomic.Pointer[server.Conn]) server.Handler {
	return func(c *server.Conn, req *codec.Command) *codec.Command {
		conn.Store(c)
		held <- req
		return nil // answered later
	}
}

// closeWithin closes s and fails the test with why when that takes longer than d (the
// closing goroutine is left behind).
func closeWithin(t *testing.T, s *server.Server, d time.Duration, why string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Close()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("server.Close did not return within %v: %s", d, why)
	}
}
