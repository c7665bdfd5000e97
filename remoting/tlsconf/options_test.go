package tlsconf_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

func TestServerConfigRefusals(t *testing.T) {
	certs := testcert.Write(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*tlsconf.Options)
		want string
	}{
		{"bad mode", func(o *tlsconf.Options) { o.Mode = "strict" }, `tls.mode "strict": must be disabled, permissive or enforcing`},
		{"bad auth", func(o *tlsconf.Options) { o.NeedClientAuth = "maybe" }, `tls.needClientAuth "maybe"`},
		{"no cert", func(o *tlsconf.Options) { o.CertPath = "" }, "tls.mode=enforcing needs tls.certPath and tls.keyPath"},
		{"missing cert", func(o *tlsconf.Options) { o.CertPath = "/nonexistent/server.pem" },
			"tls: tls.certPath: open /nonexistent/server.pem: no such file or directory"},
		{"missing key", func(o *tlsconf.Options) { o.KeyPath = "/nonexistent/server.key" },
			"tls: tls.keyPath: open /nonexistent/server.key: no such file or directory"},
		{"garbage cert", func(o *tlsconf.Options) { o.CertPath = garbage }, "tls: tls.certPath " + garbage + " with tls.keyPath"},
		{"key of another cert", func(o *tlsconf.Options) { o.KeyPath = certs.ClientKey }, "private key does not match public key"},
		{"require without trust", func(o *tlsconf.Options) { o.NeedClientAuth, o.TrustCertPath = "require", "" },
			"tls.needClientAuth=require needs tls.trustCertPath"},
		{"garbage trust", func(o *tlsconf.Options) { o.TrustCertPath = garbage }, "no PEM certificate in the file"},
	}
	for _, c := range cases {
		o := certs.Options(tlsconf.Enforcing, tlsconf.ClientAuthNone)
		c.edit(&o)
		_, err := o.ServerConfig()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", c.name, err, c.want)
		}
	}
}

func TestServerConfigModes(t *testing.T) {
	certs := testcert.Write(t)
	o := certs.Options(tlsconf.Disabled, tlsconf.ClientAuthNone)
	o.CertPath = "/nonexistent" // not needed when disabled
	s, err := o.ServerConfig()
	if err != nil || s.On() || s.Config != nil {
		t.Fatalf("disabled: %+v, %v", s, err)
	}
	for auth, want := range map[string]tls.ClientAuthType{
		"none": tls.NoClientCert, "optional": tls.VerifyClientCertIfGiven, "require": tls.RequireAndVerifyClientCert,
	} {
		s, err := certs.Options(tlsconf.Permissive, auth).ServerConfig()
		if err != nil || !s.On() || s.Config.ClientAuth != want || s.Config.ClientCAs == nil || len(s.Config.Certificates) != 1 {
			t.Fatalf("needClientAuth=%s: %+v, %v", auth, s, err)
		}
	}
}

func TestClientConfig(t *testing.T) {
	certs := testcert.Write(t)
	o := certs.Options(tlsconf.Disabled, tlsconf.ClientAuthNone)
	o.Enable = false
	if cfg, err := o.ClientConfig(); cfg != nil || err != nil {
		t.Fatalf("tls.enable=false: %v, %v", cfg, err)
	}
	o.Enable = true
	cfg, err := o.ClientConfig()
	if err != nil || cfg.InsecureSkipVerify || cfg.RootCAs == nil || len(cfg.Certificates) != 1 {
		t.Fatalf("tls.enable=true: %+v, %v", cfg, err)
	}
	o.ClientAuthServer = false
	if cfg, _ := o.ClientConfig(); !cfg.InsecureSkipVerify {
		t.Fatal("clientAuthServer=false does not skip verification")
	}
	if _, err := (tlsconf.ClientFiles{CertPath: certs.ClientCert}).Config(); err == nil {
		t.Fatal("a client certificate without its key was accepted")
	}
}
