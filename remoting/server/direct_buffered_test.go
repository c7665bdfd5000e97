package server_test

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"golang.org/x/sys/unix"
)

// An inline answer larger than the socket takes leaves its rest in gnet's outbound
// buffer. While it is there, a late reply must not be written to the socket directly,
// even when the socket has room again (the client read part of it while the event loop
// was busy and could not refill it): its bytes would land in the middle of the inline
// answer. Every frame arrives whole and in a valid framing.
func TestServerReplyNowWaitsForGnetBuffer(t *testing.T) {
	const bigSize = 8 << 20
	held := make(chan *codec.Command, 1)
	var conn atomic.Pointer[server.Conn]
	release, entered := make(chan struct{}), make(chan struct{})
	big := bytes.Repeat([]byte("inline-answer-"), bigSize/14+1)[:bigSize]
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(20, parkLate(held, &conn))
		s.Handle(22, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "big")
			resp.Body = big
			return resp
		})
		s.Handle(21, func(_ *server.Conn, req *codec.Command) *codec.Command {
			close(entered)
			<-release // keeps the event loop from refilling the socket
			return req.NewResponse(0, "after")
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(64 << 10)
	send := func(code int16, opaque int32) {
		t.Helper()
		req := codec.NewRequest(int32(code), nil, nil)
		req.Opaque = opaque
		if _, err := nc.Write(rawFrame(t, req)); err != nil {
			t.Fatal(err)
		}
	}
	send(20, 1)
	parked := <-held
	c := conn.Load()
	send(22, 2)
	testutil.Eventually(t, 10*time.Second, "the inline answer to be cut short into gnet's buffer", func() bool {
		return server.OutboundBuffered(c)
	})
	send(21, 3)
	<-entered
	// Make room in the socket while the loop cannot use it: read part of the inline
	// answer and wait until the server's send queue shrank.
	fd := server.ConnFd(c)
	outq := func() int {
		n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
		if err != nil {
			t.Fatalf("SIOCOUTQ: %v", err)
		}
		return n
	}
	before := outq()
	head := make([]byte, 2<<20)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(nc, head); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the server's socket to have room", func() bool {
		return outq() < before-(1<<20)
	})
	late := parked.NewResponse(0, "late")
	late.Body = []byte("late body")
	if err := c.ReplyNow(late); err != nil {
		t.Fatal(err)
	}
	close(release)
	r := io.MultiReader(bytes.NewReader(head), nc)
	got := map[int32]*codec.Command{}
	for range 3 {
		f := readFrameFrom(t, nc, r)
		got[f.Opaque] = f
	}
	if f := got[2]; f == nil || f.Remark != "big" || !bytes.Equal(f.Body, big) {
		t.Fatalf("inline answer damaged or missing: %+v", f != nil)
	}
	if f := got[1]; f == nil || f.Remark != "late" || string(f.Body) != "late body" {
		t.Fatalf("late reply damaged or missing")
	}
	if f := got[3]; f == nil || f.Remark != "after" {
		t.Fatalf("loop answer after the late reply missing")
	}
}

// readFrameFrom reads one frame from r (nc's deadline bounds it).
func readFrameFrom(t *testing.T, nc net.Conn, r io.Reader) *codec.Command {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var prefix [4]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		t.Fatalf("read prefix: %v", err)
	}
	n, err := codec.FrameLength(prefix[:], 16<<20)
	if err != nil {
		t.Fatalf("framing broken: %v", err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	f, err := codec.DecodeFrame(buf)
	if err != nil {
		t.Fatalf("framing broken: %v", err)
	}
	return f
}
