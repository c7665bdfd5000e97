package server_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"golang.org/x/sys/unix"
)

// ReplyNow relies on gnet (v2.9.7) calling OnClose before it closes the connection's
// descriptor: OnClose ends direct writes under the write lock, so a descriptor is never
// written after it could be reused (direct.go). This pins that order: in the close hook
// the descriptor is still open and still the socket to this client. A gnet upgrade that
// closes first fails here.
func TestGnetOnCloseRunsBeforeDescriptorCloses(t *testing.T) {
	type seen struct {
		fdErr   error
		peerErr error
		peer    netip.AddrPort
	}
	got, opened := make(chan seen, 1), make(chan struct{}, 1)
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.OnOpen(func(*server.Conn) { opened <- struct{}{} })
		s.OnClose(func(c *server.Conn) {
			fd := server.ConnFd(c)
			var r seen
			_, r.fdErr = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			sa, err := unix.Getpeername(fd)
			r.peerErr = err
			if in, ok := sa.(*unix.SockaddrInet4); ok {
				r.peer = netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(in.Port))
			}
			got <- r
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	local := nc.LocalAddr().(*net.TCPAddr).AddrPort()
	// The server closes after the peer did, once it has seen the end of the stream;
	// Getpeername works on a socket whose peer is gone as long as it is not closed.
	<-opened
	_ = nc.Close()
	select {
	case r := <-got:
		if r.fdErr != nil {
			t.Fatalf("descriptor already closed in OnClose: %v", r.fdErr)
		}
		if r.peerErr != nil || r.peer != netip.AddrPortFrom(local.Addr().Unmap(), local.Port()) {
			t.Fatalf("descriptor in OnClose is not this client's socket: peer %v (%v), want %v", r.peer, r.peerErr, local)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose did not run")
	}
}
