package grpcapi

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/internal/atomicfile"
)

// tlsRecordHandshake is the first byte of a TLS ClientHello record. An HTTP/2 client
// speaking plaintext starts with the connection preface "PRI * HTTP/2.0", so one byte
// tells the two apart.
const tlsRecordHandshake = 0x16

// sniffTimeout bounds how long an accepted connection may stay silent before its first
// byte; a peer that connects and sends nothing is closed then.
const sniffTimeout = 10 * time.Second

// dualListener serves TLS and plaintext HTTP/2 on one port, as Apache's Proxy does: the
// 5.x SDKs dial TLS by default (the Go SDK v5.1.2 cannot turn it off) while tools and
// tests may speak plaintext. Accept hands the gRPC server either a *tls.Conn, already
// terminated here, or the plain connection, with the peeked byte put back.
//
// The first byte is read off the accepting goroutine, so one silent peer never holds
// up the others.
type dualListener struct {
	net.Listener
	tls *tls.Config

	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	err   error
}

func newDualListener(l net.Listener, cfg *tls.Config) *dualListener {
	d := &dualListener{Listener: l, tls: cfg, conns: make(chan net.Conn), done: make(chan struct{})}
	go d.acceptLoop()
	return d
}

func (d *dualListener) acceptLoop() {
	for {
		c, err := d.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			d.closeWith(err)
			return
		}
		go d.sniff(c)
	}
}

// sniff reads the first byte and hands the connection on, wrapped for what it speaks.
func (d *dualListener) sniff(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 512)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == tlsRecordHandshake {
		out = tls.Server(out, d.tls)
	}
	select {
	case d.conns <- out:
	case <-d.done:
		c.Close()
	}
}

// Accept returns the next sniffed connection.
func (d *dualListener) Accept() (net.Conn, error) {
	select {
	case c := <-d.conns:
		return c, nil
	case <-d.done:
		if d.err != nil {
			return nil, d.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections already handed out are the server's to close.
func (d *dualListener) Close() error { return d.closeWith(nil) }

// closeWith closes once, recording why accepting stopped (nil for Close) before done is
// closed, so Accept reads it only after it was written.
func (d *dualListener) closeWith(cause error) error {
	var err error
	d.once.Do(func() {
		d.err = cause
		close(d.done)
		err = d.Listener.Close()
	})
	return err
}

// peekedConn reads through the buffered reader that holds the sniffed byte.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// loadOrCreateCert returns the endpoint's certificate: the configured pair when both
// paths are set, else a self-signed ECDSA P-256 certificate kept in dir (created at first
// start and reused afterwards, so a client that pins it keeps working across restarts).
func loadOrCreateCert(certPath, keyPath, dir string, now time.Time) (tls.Certificate, error) {
	if certPath != "" || keyPath != "" {
		if certPath == "" || keyPath == "" {
			return tls.Certificate{}, errors.New("grpc tls: set both certPath and keyPath, or neither")
		}
		c, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("grpc tls: %w", err)
		}
		return c, nil
	}
	cp, kp := filepath.Join(dir, "grpc-cert.pem"), filepath.Join(dir, "grpc-key.pem")
	if c, err := tls.LoadX509KeyPair(cp, kp); err == nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "rocketgo grpc endpoint"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := atomicfile.WriteFile(kp, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := atomicfile.WriteFile(cp, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
