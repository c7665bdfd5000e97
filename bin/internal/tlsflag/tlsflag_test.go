package tlsflag

import (
	"flag"
	"io"
	"testing"

	"github.com/rocketgo/rocketgo/internal/testcert"
)

func TestRegister(t *testing.T) {
	certs := testcert.Write(t)
	parse := func(args ...string) (func() error, func() bool) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		build := Register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		cfg, err := build()
		return func() error { return err }, func() bool { return cfg != nil }
	}
	if errf, on := parse("-tls-ca", certs.CA); errf() != nil || on() {
		t.Fatal("without -tls a configuration was built")
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	build := Register(fs)
	_ = fs.Parse([]string{"-tls", "-tls-ca", certs.CA, "-tls-cert", certs.ClientCert, "-tls-key", certs.ClientKey, "-tls-server-name", "broker.example"})
	cfg, err := build()
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "broker.example" || cfg.InsecureSkipVerify {
		t.Fatalf("-tls with files: %+v, %v", cfg, err)
	}
	if errf, _ := parse("-tls", "-tls-ca", "/nonexistent.pem"); errf() == nil {
		t.Fatal("a missing -tls-ca file was accepted")
	}
}
