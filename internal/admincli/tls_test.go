package admincli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// mqadmin reaches an enforcing cluster with Apache's -Dtls.* settings before the sub
// command, directly or from tls.config.file, and not without them.
func TestTLSSystemProperties(t *testing.T) {
	certs := testcert.Write(t)
	c := cluster.Start(t, cluster.WithTLS(certs.Options(tlsconf.Enforcing, tlsconf.ClientAuthRequire)))
	ns := c.NamesrvAddr()
	flags := []string{"-Dtls.enable=true", "-Dtls.client.trustCertPath=" + certs.CA,
		"-Dtls.client.certPath=" + certs.ClientCert, "-Dtls.client.keyPath=" + certs.ClientKey}
	testutil.Eventually(t, 10*time.Second, "the broker to register over TLS", func() bool {
		out, _, code := run(t, append(flags, "clusterList", "-n", ns)...)
		return code == 0 && strings.Contains(out, c.BrokerAddr())
	})
	mustRun(t, append(flags, "updateTopic", "-n", ns, "-c", c.ClusterName(), "-t", "tls_orders", "-r", "2", "-w", "2")...)
	c.WaitRoute(t, "tls_orders", 10*time.Second)

	file := filepath.Join(t.TempDir(), "tls.properties")
	body := "tls.enable=true\ntls.client.trustCertPath=" + certs.CA + "\ntls.client.certPath=" + certs.ClientCert +
		"\ntls.client.keyPath=" + certs.ClientKey + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "-Dtls.config.file="+file, "topicList", "-n", ns); !strings.Contains(out, "tls_orders\n") {
		t.Fatalf("topicList over TLS lacks tls_orders:\n%s", out)
	}
	if _, _, code := run(t, "topicList", "-n", ns); code == 0 {
		t.Fatal("a plain topicList succeeded against an enforcing cluster")
	}
	if _, errs, code := run(t, "-Dtls.client.nope=1", "topicList", "-n", ns); code != 1 || !strings.Contains(errs, "-Dtls.client.nope=1: not one of") {
		t.Fatalf("unknown -D setting: exit %d, stderr %q", code, errs)
	}
}
