package broker

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// A master and a slave whose tls section is enforcing, client certificates required,
// with tls.enable: replication and the metadata sync run over TLS, and the slave's
// CommitLog is byte-identical to the master's.
func TestMasterSlaveOverTLS(t *testing.T) {
	certs := testcert.Write(t)
	o := certs.Options(tlsconf.Enforcing, tlsconf.ClientAuthRequire)
	master, slave := newPair(t, RoleAsyncMaster, func(bo *Options, _ *store.Options) { bo.TLS = o })
	for _, h := range []*harness{master, slave} {
		h.cl.Close()
		h.cl = transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second, TLS: certs.Client(t, true)})
	}
	master.createTopic("TLS_HA", 2, 6)
	for i := range 500 {
		master.send("TLS_HA", int32(i%2), fmt.Sprintf("tls-ha-%03d-%s", i, bytes.Repeat([]byte("x"), 3000)), nil)
	}
	waitReplicated(t, master, slave)
	end := master.b.store.MaxPhysicalOffset()
	if end < 1<<20 {
		t.Fatalf("the log is only %d bytes; the test wants a segment roll", end)
	}
	segment := func(dir string, start int64) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "commitlog", fmt.Sprintf("%020d", start)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for start := int64(0); start < end; start += 1 << 20 {
		n := min(end-start, 1<<20)
		if m, s := segment(master.so.Dir, start)[:n], segment(slave.so.Dir, start)[:n]; !bytes.Equal(m, s) {
			t.Fatalf("CommitLog segment %d differs between master and slave", start)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the topic on the slave (metadata sync over TLS)", func() bool {
		_, ok := slave.b.topics.Get("TLS_HA")
		return ok
	})
	if info := runtimeInfo(t, master); info["haSlaveCount"] != "1" {
		t.Fatalf("master runtime info: haSlaveCount %q, want 1", info["haSlaveCount"])
	}
}
