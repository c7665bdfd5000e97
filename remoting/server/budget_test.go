package server_test

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Sizes of the budget tests: frames of 1 MiB at most, a server-wide budget of two of
// them. Every figure the tests compare is exact: a reserved frame counts its whole
// declared size, prefix included.
const (
	testMaxFrame = 1 << 20
	testLimit    = 2 * (codec.LengthPrefixBytes + testMaxFrame)
	echoCode     = 7
	blockCode    = 8
)

// startBudgetServer starts a server with the test sizes; o fills in the rest.
func startBudgetServer(t *testing.T, o server.ServerOptions, setup func(*server.Server)) *server.Server {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	o.Logger = remotingtest.Logger(t)
	o.EventLoops = 2
	o.MaxFrameBytes = testMaxFrame
	if o.MaxBufferedRequestBytes == 0 {
		o.MaxBufferedRequestBytes = testLimit
	}
	if o.MaxBufferedRequestBytesPerConn == 0 {
		o.MaxBufferedRequestBytesPerConn = 1 // raised to one whole frame
	}
	s := server.NewServer(o)
	s.Handle(echoCode, lenEcho)
	if setup != nil {
		setup(s)
	}
	if err := s.Start(remotingtest.Timeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// bigFrame is a request of reqCode whose whole frame, prefix included, is size bytes.
func bigFrame(t *testing.T, reqCode int32, size int) []byte {
	t.Helper()
	empty := rawFrame(t, codec.NewRequest(reqCode, nil, nil))
	f := rawFrame(t, codec.NewRequest(reqCode, nil, make([]byte, size-len(empty))))
	if len(f) != size {
		t.Fatalf("frame of %d bytes, want %d", len(f), size)
	}
	return f
}

func dialRaw(t *testing.T, s *server.Server) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

func write(t *testing.T, nc net.Conn, b []byte) {
	t.Helper()
	_ = nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func waitBuffered(t *testing.T, s *server.Server, want int64, what string) {
	t.Helper()
	var got int64
	if !testutil.Poll(5*time.Second, func() bool { got = s.BufferedBytes(); return got == want }) {
		t.Fatalf("%s: BufferedBytes %d, want %d", what, got, want)
	}
}

func waitPaused(t *testing.T, s *server.Server, want int) {
	t.Helper()
	var got int
	if !testutil.Poll(5*time.Second, func() bool { got = s.PausedConns(); return got == want }) {
		t.Fatalf("PausedConns %d, want %d", got, want)
	}
}

// lenEcho answers with the length of the request's body in ext field "len".
func lenEcho(_ *server.Conn, req *codec.Command) *codec.Command {
	resp := req.NewResponse(0, "")
	resp.ExtFields["len"] = strconv.Itoa(len(req.Body))
	return resp
}

// echoOK reads one response from nc and checks it answers a request with body length n.
func echoOK(t *testing.T, nc net.Conn, n int) {
	t.Helper()
	resp := readRawFrame(t, nc)
	if !resp.IsResponse() || resp.Code != 0 || resp.ExtFields["len"] != strconv.Itoa(n) {
		t.Fatalf("response: code %d flag %d len %q, want an answer to a body of %d", resp.Code, resp.Flag, resp.ExtFields["len"], n)
	}
}

// An admitted frame counts its whole declared size from its first bytes on; a frame
// that does not fit pauses its connection with only what it sent counted; small
// requests are served meanwhile; a finished frame wakes the paused connection.
func TestBudgetPausesFramesThatDoNotFit(t *testing.T) {
	s := startBudgetServer(t, server.ServerOptions{}, nil)
	size := codec.LengthPrefixBytes + testMaxFrame
	fa, fb, fc := bigFrame(t, echoCode, size), bigFrame(t, echoCode, size), bigFrame(t, echoCode, size)
	a, b, c := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)

	write(t, a, fa[:size/2])
	waitBuffered(t, s, int64(size), "a: half a frame")
	write(t, b, fb[:1000])
	waitBuffered(t, s, int64(2*size), "a, b: two frames")

	// The budget is full: c's frame waits, counted at the 104 bytes that came in.
	write(t, c, fc[:104])
	waitPaused(t, s, 1)
	waitBuffered(t, s, int64(2*size+104), "c paused")
	write(t, c, fc[104:size/2]) // stays in the kernel's buffers

	// A small request on another connection is served while the budget is full.
	d := dialRaw(t, s)
	write(t, d, rawFrame(t, codec.NewRequest(echoCode, nil, []byte("small"))))
	echoOK(t, d, 5)
	if got := s.BufferedBytes(); got != int64(2*size+104) {
		t.Fatalf("after the small request: BufferedBytes %d, want %d", got, 2*size+104)
	}

	// a finishes: its reservation goes, c is admitted with its whole size.
	write(t, a, fa[size/2:])
	echoOK(t, a, size-len(rawFrame(t, codec.NewRequest(echoCode, nil, nil))))
	waitPaused(t, s, 0)
	waitBuffered(t, s, int64(2*size), "b and c reserved")
	write(t, c, fc[size/2:])
	echoOK(t, c, size-len(rawFrame(t, codec.NewRequest(echoCode, nil, nil))))
	write(t, b, fb[1000:])
	echoOK(t, b, size-len(rawFrame(t, codec.NewRequest(echoCode, nil, nil))))
	waitBuffered(t, s, 0, "all served")
}

// A frame that stops arriving closes its connection at FrameReadTimeout, and what it
// held is released; a connection with nothing pending is left alone.
func TestBudgetFrameDeadlineClosesConnection(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := startBudgetServer(t, server.ServerOptions{FrameReadTimeout: timeout}, nil)
	idle := dialRaw(t, s)
	nc := dialRaw(t, s)
	f := bigFrame(t, echoCode, 100_000)
	start := time.Now()
	write(t, nc, f[:50_000])
	waitBuffered(t, s, 100_000, "half a frame")
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("read on the stalled connection: %v, want the server to close it", err)
	}
	if el := time.Since(start); el < timeout {
		t.Fatalf("closed after %v, before the %v deadline", el, timeout)
	}
	waitBuffered(t, s, 0, "after the close")
	write(t, idle, rawFrame(t, codec.NewRequest(echoCode, nil, []byte("still here"))))
	echoOK(t, idle, 10)
}

// Requests with the workers count until served; past its own share a connection is
// paused even for small frames, and resumes as its requests are served.
func TestBudgetPerConnectionShareCountsQueuedRequests(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	s := startBudgetServer(t, server.ServerOptions{Workers: 1, MaxBufferedRequestBytesPerConn: 1}, func(s *server.Server) {
		s.HandleAsync(blockCode, func(_ *server.Conn, req *codec.Command) *codec.Command {
			<-release
			return lenEcho(nil, req)
		})
	})
	// Registered after the server's, so it runs first: a failed check must not leave
	// the worker blocked while Close waits for it.
	t.Cleanup(open)
	// The share is raised to one whole frame: 4 + 1 MiB.
	share := codec.LengthPrefixBytes + testMaxFrame
	first := bigFrame(t, blockCode, share-1000)
	second := bigFrame(t, blockCode, 2000)
	nc := dialRaw(t, s)
	write(t, nc, first)
	waitBuffered(t, s, int64(len(first)), "first request with a worker")
	write(t, nc, second)
	waitPaused(t, s, 1)
	// How much of the second frame is read before the pause depends on how the bytes
	// arrive; what is held never exceeds the two frames.
	if got := s.BufferedBytes(); got < int64(len(first)) || got > int64(len(first)+len(second)) {
		t.Fatalf("paused: BufferedBytes %d, want between %d and %d", got, len(first), len(first)+len(second))
	}
	open()
	echoOK(t, nc, len(first)-len(rawFrame(t, codec.NewRequest(blockCode, nil, nil))))
	echoOK(t, nc, len(second)-len(rawFrame(t, codec.NewRequest(blockCode, nil, nil))))
	waitPaused(t, s, 0)
	waitBuffered(t, s, 0, "both served")
}

// A closed connection gives back its reservation and leaves the queue of paused ones.
func TestBudgetCloseReleases(t *testing.T) {
	s := startBudgetServer(t, server.ServerOptions{}, nil)
	size := codec.LengthPrefixBytes + testMaxFrame
	a, b, c := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	write(t, a, bigFrame(t, echoCode, size)[:10])
	write(t, b, bigFrame(t, echoCode, size)[:10])
	waitBuffered(t, s, int64(2*size), "two reservations")
	write(t, c, bigFrame(t, echoCode, size)[:10])
	waitPaused(t, s, 1)
	_ = c.Close()
	waitPaused(t, s, 0)
	waitBuffered(t, s, int64(2*size), "c gone")
	_ = a.Close()
	_ = b.Close()
	waitBuffered(t, s, 0, "all gone")
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
