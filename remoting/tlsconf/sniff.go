package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// RecordHandshake is the first byte of a TLS connection: the content type of a
// handshake record (RFC 8446 §5.1).
const RecordHandshake = 0x16

// ErrPlainRefused is a plain connection arriving at an enforcing listener.
var ErrPlainRefused = errors.New("plain connection refused: tls.mode is enforcing")

// PeekFirst returns the connection's first byte without consuming it (MSG_PEEK), waiting
// for it within the connection's read deadline. nc must be backed by a socket.
func PeekFirst(nc net.Conn) (byte, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, fmt.Errorf("tls: cannot peek a %T", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		b    [1]byte
		n    int
		rerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		return !errors.Is(rerr, syscall.EAGAIN) && !errors.Is(rerr, syscall.EINTR)
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 {
		return 0, io.EOF
	}
	return b[0], nil
}

// Sniff decides what a new connection speaks: it reports whether the connection opens
// a TLS handshake, or fails with ErrPlainRefused for a plain one in enforcing mode. It
// reads nothing off the connection.
func (s Server) Sniff(nc net.Conn) (isTLS bool, err error) {
	b, err := PeekFirst(nc)
	if err != nil {
		return false, err
	}
	if b == RecordHandshake {
		return true, nil
	}
	if s.Mode == Enforcing {
		return false, ErrPlainRefused
	}
	return false, nil
}

// Accept turns an accepted connection into what the server reads: the connection itself
// when TLS is disabled or the peer speaks plain in permissive mode, else a TLS
// connection whose handshake has completed. The caller sets a deadline first: a peer
// that says nothing keeps Accept waiting until it. On error the connection is left open
// for the caller to close.
func (s Server) Accept(ctx context.Context, nc net.Conn) (net.Conn, error) {
	if !s.On() {
		return nc, nil
	}
	isTLS, err := s.Sniff(nc)
	if err != nil || !isTLS {
		return nc, err
	}
	tc := tls.Server(nc, s.Config)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// Dial wraps a dialled connection in TLS and completes the handshake within ctx; with
// cfg nil it returns nc as it is. The server name defaults to the host of addr.
func Dial(ctx context.Context, nc net.Conn, cfg *tls.Config, addr string) (net.Conn, error) {
	if cfg == nil {
		return nc, nil
	}
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}
