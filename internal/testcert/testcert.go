// Package testcert makes the certificates of TLS tests: a CA, a server certificate for
// 127.0.0.1 and localhost, and a client certificate, all signed by the CA, generated
// with crypto/x509 and written as PEM files into the test's temporary directory.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// ServerSubject is the common name of the server certificate.
const ServerSubject = "rocketgo-test-server"

// ClientSubject is the common name of the client certificate.
const ClientSubject = "rocketgo-test-client"

// Files are the paths of the PEM files written.
type Files struct {
	CA                    string // the CA certificate: trust for both sides
	ServerCert, ServerKey string
	ClientCert, ClientKey string
}

// Write generates the certificates into t.TempDir().
func Write(t testing.TB) Files {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rocketgo-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	f := Files{CA: filepath.Join(dir, "ca.pem")}
	writePEM(t, f.CA, "CERTIFICATE", caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, certPath, keyPath string) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn, Organization: []string{"rocketgo"}},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certPath, "CERTIFICATE", der)
		kd, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, keyPath, "PRIVATE KEY", kd)
	}
	f.ServerCert, f.ServerKey = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	f.ClientCert, f.ClientKey = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	leaf(2, ServerSubject, x509.ExtKeyUsageServerAuth, f.ServerCert, f.ServerKey)
	leaf(3, ClientSubject, x509.ExtKeyUsageClientAuth, f.ClientCert, f.ClientKey)
	return f
}

// Options returns the `tls` section for mode, with needClientAuth as given, whose
// client half (tls.enable) trusts the CA and presents the client certificate.
func (f Files) Options(mode tlsconf.Mode, needClientAuth string) tlsconf.Options {
	o := tlsconf.DefaultOptions()
	o.Mode, o.NeedClientAuth = mode, needClientAuth
	o.CertPath, o.KeyPath, o.TrustCertPath = f.ServerCert, f.ServerKey, f.CA
	o.Enable = true
	o.ClientCertPath, o.ClientKeyPath, o.ClientTrustCertPath = f.ClientCert, f.ClientKey, f.CA
	return o
}

// Server returns a listener configuration for mode.
func (f Files) Server(t testing.TB, mode tlsconf.Mode, needClientAuth string) tlsconf.Server {
	t.Helper()
	s, err := f.Options(mode, needClientAuth).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Client returns a client configuration trusting the CA, with the client certificate
// when withCert.
func (f Files) Client(t testing.TB, withCert bool) *tls.Config {
	t.Helper()
	cf := tlsconf.ClientFiles{TrustCertPath: f.CA}
	if withCert {
		cf.CertPath, cf.KeyPath = f.ClientCert, f.ClientKey
	}
	cfg, err := cf.Config()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
