package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A mode that needs a certificate which is missing refuses the start with one line, in
// the standalone NameServer and in the broker alike, before the store is touched.
func TestTLSMissingCertificateRefusesToStart(t *testing.T) {
	for _, standalone := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "broker.conf")
		body := "tls.server.mode=enforcing\ntls.server.certPath=/nonexistent/server.pem\ntls.server.keyPath=/nonexistent/server.key\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		store := filepath.Join(t.TempDir(), "store")
		args := []string{"-c", p, "-store", store, "-listen", "127.0.0.1:0", "-n", ""}
		if standalone {
			t.Setenv("ROCKETGO_NAMESRV_LISTENADDR", "127.0.0.1:0")
			args = append(args, "-standalone", "-dashboard", "")
		}
		var out, errs bytes.Buffer
		err := run(args, &out, &errs)
		want := "tls: tls.certPath: open /nonexistent/server.pem: no such file or directory"
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("standalone=%v: got %v, want one line containing %q", standalone, err, want)
		}
		if _, err := os.Stat(store); !os.IsNotExist(err) {
			t.Fatalf("standalone=%v: the store was created before the refusal (%v)", standalone, err)
		}
	}
}
