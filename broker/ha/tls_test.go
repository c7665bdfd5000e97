package ha

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// Replication over TLS (tls.mode enforcing on the HA port, tls.enable on the slave)
// leaves the slave's CommitLog byte-identical to the master's, across segment rolls.
func TestStreamOverTLSMakesByteIdenticalLog(t *testing.T) {
	certs := testcert.Write(t)
	dir := t.TempDir()
	mdir, sdir := filepath.Join(dir, "m"), filepath.Join(dir, "s")
	master, slave := openStore(t, mdir), openStore(t, sdir)
	putN(t, master, 0, 200)
	srv := startServer(t, master, ServerOptions{TLS: certs.Server(t, tlsconf.Enforcing, tlsconf.ClientAuthRequire)})

	// A plain slave is refused by the enforcing HA port and appends nothing.
	plainDir := filepath.Join(dir, "plain")
	plain := openStore(t, plainDir)
	pc := startClient(t, plain, srv.Addr().String(), "broker-a")
	testutil.Eventually(t, 5*time.Second, "the plain slave to fail", func() bool { return pc.Status().LastError != "" })
	if plain.MaxPhysicalOffset() != 0 || pc.Status().Connected {
		t.Fatalf("a plain slave replicated from an enforcing master: %+v", pc.Status())
	}
	pc.Close()

	cl := NewClient(slave, ClientOptions{
		BrokerName: "broker-a", BrokerID: 1, Heartbeat: 50 * time.Millisecond, Housekeeping: 5 * time.Second,
		DialTimeout: time.Second, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, DataLimit: 1 << 20,
		TLS:    certs.Client(t, true),
		Logger: testLogger(t).With().Str("node", "slave").Logger(),
	})
	cl.SetMasterAddr(srv.Addr().String())
	cl.Start()
	t.Cleanup(func() { cl.Close() })
	waitCaughtUp(t, master, slave)
	putN(t, master, 200, 300) // while streaming
	waitCaughtUp(t, master, slave)
	if master.MaxPhysicalOffset() < 3*testSegment {
		t.Fatalf("the log is only %d bytes; the test wants segment rolls", master.MaxPhysicalOffset())
	}
	sameLog(t, mdir, sdir, 0, master.MaxPhysicalOffset())
	testutil.Eventually(t, 5*time.Second, "the master to see the acknowledgement", func() bool {
		return srv.AckedOffset() == master.MaxPhysicalOffset()
	})
	if ss := srv.Slaves(); len(ss) != 1 || ss[0].BrokerID != 1 {
		t.Fatalf("master's slaves %+v", ss)
	}
}

// In permissive mode the HA port serves a plain slave as before.
func TestPermissiveHAPortServesPlain(t *testing.T) {
	certs := testcert.Write(t)
	dir := t.TempDir()
	mdir, sdir := filepath.Join(dir, "m"), filepath.Join(dir, "s")
	master, slave := openStore(t, mdir), openStore(t, sdir)
	putN(t, master, 0, 50)
	srv := startServer(t, master, ServerOptions{TLS: certs.Server(t, tlsconf.Permissive, tlsconf.ClientAuthNone)})
	startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	sameLog(t, mdir, sdir, 0, master.MaxPhysicalOffset())

	// Bytes that are neither a HELLO nor TLS close the connection.
	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, _ = nc.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 16)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("garbage on the HA port: read %v, want the connection closed", err)
	}
}
