package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// startTLSServer starts a server in mode whose echo handler counts its calls and
// records the remote address the server saw.
func startTLSServer(t *testing.T, ts tlsconf.Server) (*server.Server, *atomic.Int64, *atomic.Pointer[netip.AddrPort]) {
	t.Helper()
	calls := new(atomic.Int64)
	seen := new(atomic.Pointer[netip.AddrPort])
	s := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", Logger: remotingtest.Logger(t), EventLoops: 2, TLS: ts})
	s.Handle(1, func(c *server.Conn, req *codec.Command) *codec.Command {
		calls.Add(1)
		a := c.RemoteAddr()
		seen.Store(&a)
		return remotingtest.Echo(c, req)
	})
	if err := s.Start(remotingtest.Timeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, calls, seen
}

func tlsClient(t *testing.T, cfg *tls.Config) *transport.Client {
	t.Helper()
	c := transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second, Logger: remotingtest.Logger(t), TLS: cfg})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// echo sends body and returns the answer's body.
func echo(t *testing.T, c *transport.Client, addr string, body []byte) ([]byte, error) {
	t.Helper()
	resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(1, map[string]string{"k": "v"}, body))
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func TestTLSEnforcingServesTLSAndSeesThePeerAddress(t *testing.T) {
	certs := testcert.Write(t)
	s, calls, seen := startTLSServer(t, certs.Server(t, tlsconf.Enforcing, tlsconf.ClientAuthNone))
	c := tlsClient(t, certs.Client(t, false))
	// A body over several TLS records and socket buffers, pipelined.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	for i, body := range [][]byte{[]byte("hello"), big, {}} {
		got, err := echo(t, c, s.Addr().String(), body)
		if err != nil {
			t.Fatalf("echo %d over TLS: %v", i, err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("echo %d over TLS: got %d bytes, want %d", i, len(got), len(body))
		}
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times, want 3", n)
	}
	if a := *seen.Load(); a.Addr().String() != "127.0.0.1" || a.Port() == 0 || a.Port() == s.Addr().Port() {
		t.Fatalf("handler saw remote %v, want the client's 127.0.0.1 address", a)
	}
}

func TestTLSEnforcingRefusesPlain(t *testing.T) {
	certs := testcert.Write(t)
	s, calls, _ := startTLSServer(t, certs.Server(t, tlsconf.Enforcing, tlsconf.ClientAuthNone))
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	frame, err := codec.AppendFrame(nil, codec.NewRequest(1, nil, []byte("plain")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := nc.Read(make([]byte, 64))
	if n != 0 || err == nil || errors.Is(err, net.ErrClosed) || isTimeout(err) {
		t.Fatalf("plain connection to an enforcing server: read %d bytes, err %v; want it closed", n, err)
	}
	// The SDK's plain transport gets a closed connection too, and no handler ran.
	if _, err := echo(t, remotingtest.NewClient(t), s.Addr().String(), []byte("x")); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("plain client against enforcing: %v, want ErrClosed", err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times for plain connections", n)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestTLSPermissiveServesBoth(t *testing.T) {
	certs := testcert.Write(t)
	s, calls, seen := startTLSServer(t, certs.Server(t, tlsconf.Permissive, tlsconf.ClientAuthNone))
	plain := remotingtest.NewClient(t)
	secure := tlsClient(t, certs.Client(t, false))
	for i := range 3 {
		for name, c := range map[string]*transport.Client{"plain": plain, "tls": secure} {
			body := []byte(name + string(rune('a'+i)))
			got, err := echo(t, c, s.Addr().String(), body)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s echo %d: %q, %v; want %q", name, i, got, err, body)
			}
			if a := *seen.Load(); a.Addr().String() != "127.0.0.1" || a.Port() == s.Addr().Port() {
				t.Fatalf("%s: handler saw remote %v", name, a)
			}
		}
	}
	if n := calls.Load(); n != 6 {
		t.Fatalf("handler ran %d times, want 6", n)
	}
}

func TestTLSRequireClientCertificate(t *testing.T) {
	certs := testcert.Write(t)
	s, calls, _ := startTLSServer(t, certs.Server(t, tlsconf.Enforcing, tlsconf.ClientAuthRequire))
	if _, err := echo(t, tlsClient(t, certs.Client(t, false)), s.Addr().String(), []byte("anon")); err == nil {
		t.Fatal("a client without a certificate was served under needClientAuth=require")
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times for a client without a certificate", n)
	}
	got, err := echo(t, tlsClient(t, certs.Client(t, true)), s.Addr().String(), []byte("signed"))
	if err != nil || string(got) != "signed" {
		t.Fatalf("client with a certificate: %q, %v", got, err)
	}
}

func TestTLSUntrustedServerRefusedByClient(t *testing.T) {
	certs, other := testcert.Write(t), testcert.Write(t)
	s, calls, _ := startTLSServer(t, certs.Server(t, tlsconf.Enforcing, tlsconf.ClientAuthNone))
	if _, err := echo(t, tlsClient(t, other.Client(t, false)), s.Addr().String(), []byte("x")); err == nil ||
		!strings.Contains(err.Error(), "certificate") {
		t.Fatalf("client trusting another CA: %v, want a certificate error", err)
	}
	if calls.Load() != 0 {
		t.Fatal("handler ran for a client that refused the server")
	}
}

func TestTLSOpenSSLSeesTheCertificate(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl binary not installed; .ci/run installs it")
	}
	certs := testcert.Write(t)
	s, _, _ := startTLSServer(t, certs.Server(t, tlsconf.Enforcing, tlsconf.ClientAuthNone))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", s.Addr().String(), "-CAfile", certs.CA)
	cmd.Stdin = strings.NewReader("") // EOF after the handshake ends the session
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl s_client: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "CN = "+testcert.ServerSubject) && !strings.Contains(string(out), "CN="+testcert.ServerSubject) {
		t.Fatalf("openssl s_client does not show subject CN %s:\n%s", testcert.ServerSubject, out)
	}
	if !strings.Contains(string(out), "Verify return code: 0 (ok)") {
		t.Fatalf("openssl did not verify the chain:\n%s", out)
	}
}

func TestTLSCloseDoesNotWaitForSilentConnections(t *testing.T) {
	certs := testcert.Write(t)
	s := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", Logger: remotingtest.Logger(t), EventLoops: 1,
		TLS: certs.Server(t, tlsconf.Permissive, tlsconf.ClientAuthNone)})
	if err := s.Start(remotingtest.Timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	silent, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A TLS connection that is established and idle.
	tc, err := tls.Dial("tcp", s.Addr().String(), certs.Client(t, false))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	began := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("Close took %v with a silent connection open", d)
	}
	_ = tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(tc); err != nil && isTimeout(err) {
		t.Fatal("the TLS connection stayed open after Close")
	}
}
