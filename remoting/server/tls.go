package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// TLS on a gnet server (docs/tls.md §2). gnet reads and writes sockets itself and has no
// TLS, so with tls.mode permissive or enforcing a Go listener owns the port instead of
// gnet, and the gnet event loops take connections handed to them (gnet.Client.Enroll):
//
//	TCP accept ─▶ peek first byte (MSG_PEEK, nothing consumed)
//	   ├─ plain (permissive): the TCP socket itself is enrolled — same event loops, same
//	   │   syscalls per frame as with TLS disabled
//	   ├─ 0x16: crypto/tls handshake, then a socketpair: one end enrolled in gnet, the
//	   │   other pumped to and from the tls.Conn by two goroutines
//	   └─ plain (enforcing): closed before a byte is read; no handler runs
//
// The enrolled end of a socketpair has no network address, so the peer's TCP address
// rides along as the gnet connection's context and OnOpen takes it from there: ACL white
// lists, connection lists and logs see the real remote address.

// handshakeTimeout bounds how long a new connection may take to send its first byte and,
// for TLS, to complete the handshake.
const handshakeTimeout = 10 * time.Second

// maxHandshakes bounds the connections being sniffed or handshaken at once; more are
// closed at once rather than growing goroutines without limit.
const maxHandshakes = 256

// pumpBuffer is the copy buffer of each direction of a TLS connection: four TLS records.
const pumpBuffer = 64 << 10

// peer carries a TLS connection's real remote address into OnOpen.
type peer struct{ addr netip.AddrPort }

// front is the Go listener that owns the port when TLS is on.
type front struct {
	s     *Server
	tls   tlsconf.Server
	ln    net.Listener
	cli   *gnet.Client
	slots chan struct{} // one per connection being sniffed or handshaken
	wg    sync.WaitGroup

	mu struct {
		sync.Mutex
		closed  bool
		pumps   map[*pump]struct{}
		waiting map[net.Conn]struct{} // being sniffed or handshaken
	}
}

// pump joins a tls.Conn to the socketpair end the event loop does not own.
type pump struct {
	tc   *tls.Conn
	side net.Conn
	once sync.Once
}

func (p *pump) close() {
	p.once.Do(func() {
		_ = p.side.Close()
		_ = p.tc.Close()
	})
}

// frontEvents is the server's event handler without the listener lookup of OnBoot:
// the enrolling engine has no listener of its own.
type frontEvents struct{ events }

func (frontEvents) OnBoot(gnet.Engine) gnet.Action { return gnet.None }

// startFront listens with a Go listener, starts gnet event loops that take enrolled
// connections, and accepts until Close.
func (s *Server) startFront(ctx context.Context, opts []gnet.Option) error {
	fail := func(err error) error {
		s.closeOnce.Do(s.stopWorkers)
		return fmt.Errorf("remoting: listen %s: %w", s.o.Addr, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.o.Addr)
	if err != nil {
		return fail(err)
	}
	cli, err := gnet.NewClient(&frontEvents{events{s: s}}, opts...)
	if err == nil {
		err = cli.Start()
	}
	if err != nil {
		_ = ln.Close()
		return fail(err)
	}
	f := &front{s: s, tls: s.o.TLS, ln: ln, cli: cli, slots: make(chan struct{}, maxHandshakes)}
	f.mu.pumps = map[*pump]struct{}{}
	f.mu.waiting = map[net.Conn]struct{}{}
	s.front = f
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		_ = cli.Stop()
		return fail(err)
	}
	s.addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	close(s.booted)
	f.wg.Add(1)
	go f.acceptLoop()
	s.log.Info().Str("addr", s.addr.String()).Str("tls_mode", string(s.o.TLS.Mode)).Msg("listening")
	return nil
}

// close stops accepting, ends every TLS pump, stops the event loops (closing the
// enrolled connections, whose OnClose hooks run) and marks the engine done.
func (f *front) close() {
	f.mu.Lock()
	f.mu.closed = true
	pumps := make([]*pump, 0, len(f.mu.pumps))
	for p := range f.mu.pumps {
		pumps = append(pumps, p)
	}
	for nc := range f.mu.waiting {
		_ = nc.Close() // its admit fails at once
	}
	f.mu.Unlock()
	_ = f.ln.Close()
	for _, p := range pumps {
		p.close()
	}
	f.wg.Wait()
	f.s.runErr = f.cli.Stop()
	close(f.s.runDone)
}

func (f *front) acceptLoop() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			f.s.warn.Warn().Err(err).Msg("accept failed")
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		select {
		case f.slots <- struct{}{}:
		default:
			f.s.warn.Warn().Str("addr", nc.RemoteAddr().String()).Int("limit", maxHandshakes).
				Msg("closing connection: too many handshakes at once")
			_ = nc.Close()
			continue
		}
		f.mu.Lock()
		if f.mu.closed {
			f.mu.Unlock()
			_ = nc.Close()
			return
		}
		f.mu.waiting[nc] = struct{}{}
		f.mu.Unlock()
		f.wg.Add(1)
		go f.admit(nc)
	}
}

// admit sniffs a new connection and hands it to the event loops, plain or through TLS.
func (f *front) admit(nc net.Conn) {
	defer f.wg.Done()
	remote := tcpAddr(nc.RemoteAddr())
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	isTLS, err := f.tls.Sniff(nc)
	var tc *tls.Conn
	if err == nil && isTLS {
		tc = tls.Server(nc, f.tls.Config)
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err = tc.HandshakeContext(ctx)
		cancel()
	}
	<-f.slots
	f.mu.Lock()
	delete(f.mu.waiting, nc)
	f.mu.Unlock()
	if err != nil {
		f.s.warn.Warn().Err(err).Str("addr", remote.String()).Msg("closing connection before serving it")
		_ = nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	if tc == nil {
		// Enroll duplicates the descriptor and closes nc.
		if _, err := f.cli.Enroll(nc); err != nil {
			f.s.warn.Warn().Err(err).Str("addr", remote.String()).Msg("closing connection: enroll failed")
		}
		return
	}
	f.bridge(tc, remote)
}

// bridge gives the event loops one end of a socketpair and pumps the other to and from
// the TLS connection until either side closes.
func (f *front) bridge(tc *tls.Conn, remote netip.AddrPort) {
	loopEnd, side, err := socketPair()
	if err != nil {
		f.s.warn.Warn().Err(err).Str("addr", remote.String()).Msg("closing connection: socketpair failed")
		_ = tc.Close()
		return
	}
	p := &pump{tc: tc, side: side}
	f.mu.Lock()
	if f.mu.closed {
		f.mu.Unlock()
		_ = loopEnd.Close()
		p.close()
		return
	}
	f.mu.pumps[p] = struct{}{}
	f.mu.Unlock()
	if _, err := f.cli.EnrollContext(loopEnd, peer{remote}); err != nil {
		f.s.warn.Warn().Err(err).Str("addr", remote.String()).Msg("closing connection: enroll failed")
		f.forget(p)
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		copyThenClose(tc, side, p)
	}()
	copyThenClose(side, tc, p)
	f.forget(p)
}

func (f *front) forget(p *pump) {
	p.close()
	f.mu.Lock()
	delete(f.mu.pumps, p)
	f.mu.Unlock()
}

// copyThenClose copies src to dst until either fails, then closes both directions: a
// connection half-closed by one side is of no use to the protocol.
func copyThenClose(dst io.Writer, src io.Reader, p *pump) {
	buf := make([]byte, pumpBuffer)
	_, _ = io.CopyBuffer(dst, src, buf)
	p.close()
}

// socketPair returns the two ends of a connected AF_UNIX stream pair.
func socketPair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	a, err := fileConn(fds[0], "tls-loop")
	if err != nil {
		_ = syscall.Close(fds[1])
		return nil, nil, err
	}
	b, err := fileConn(fds[1], "tls-pump")
	if err != nil {
		_ = a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// fileConn wraps a descriptor as a net.Conn; the descriptor is owned by the result.
func fileConn(fd int, name string) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close() // FileConn duplicated it
	return net.FileConn(f)
}

// tcpAddr returns a TCP address as a netip.AddrPort, IPv4-mapped addresses unmapped.
func tcpAddr(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
