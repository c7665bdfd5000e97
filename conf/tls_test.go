package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// Apache's flat tls.* keys in a broker.conf land in the tls section, which reaches the
// broker and the NameServer.
func TestApacheTLSKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broker.conf")
	raw := `brokerName=broker-a
tls.server.mode=enforcing
tls.server.certPath=/etc/rocketmq/server.pem
tls.server.keyPath=/etc/rocketmq/server.key
tls.server.trustCertPath=/etc/rocketmq/ca.pem
tls.server.need.client.auth=require
tls.server.authClient=true
tls.enable=true
tls.client.certPath=/etc/rocketmq/client.pem
tls.client.keyPath=/etc/rocketmq/client.key
tls.client.trustCertPath=/etc/rocketmq/ca.pem
tls.client.authServer=false
`
	if err := os.WriteFile(p, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, prog := range []Program{Broker, Namesrv} {
		cfg, warnings, err := LoadFile(p, prog)
		if err != nil {
			t.Fatal(err)
		}
		want := tlsconf.Options{
			Mode: tlsconf.Enforcing, CertPath: "/etc/rocketmq/server.pem", KeyPath: "/etc/rocketmq/server.key",
			TrustCertPath: "/etc/rocketmq/ca.pem", NeedClientAuth: "require", Enable: true,
			ClientCertPath: "/etc/rocketmq/client.pem", ClientKeyPath: "/etc/rocketmq/client.key",
			ClientTrustCertPath: "/etc/rocketmq/ca.pem", ClientAuthServer: false,
		}
		if cfg.TLS != want || cfg.Broker.TLS != want || cfg.Namesrv.TLS != want {
			t.Fatalf("prog %d: tls section %+v, broker %+v; want %+v", prog, cfg.TLS, cfg.Broker.TLS, want)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "tls.server.authClient") {
			t.Fatalf("warnings %q, want one naming tls.server.authClient", warnings)
		}
	}
	if err := os.WriteFile(p, []byte("tls.server.mode=strict\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadFile(p, Namesrv); err == nil || !strings.Contains(err.Error(), `tls.mode "strict"`) {
		t.Fatalf("tls.server.mode=strict: %v", err)
	}
}

func TestTLSSectionInYAML(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broker.yaml")
	if err := os.WriteFile(p, []byte("tls:\n  mode: permissive\n  certPath: /c.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := LoadFile(p, Broker)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker.TLS.Mode != tlsconf.Permissive || cfg.Broker.TLS.CertPath != "/c.pem" || !cfg.Broker.TLS.ClientAuthServer ||
		cfg.Broker.TLS.NeedClientAuth != "none" {
		t.Fatalf("broker tls %+v", cfg.Broker.TLS)
	}
	t.Setenv("ROCKETGO_TLS_MODE", "enforcing")
	if cfg, _, err = LoadFile(p, Broker); err != nil || cfg.Namesrv.TLS.Mode != tlsconf.Enforcing {
		t.Fatalf("ROCKETGO_TLS_MODE=enforcing: %+v, %v", cfg.Namesrv.TLS, err)
	}
}
