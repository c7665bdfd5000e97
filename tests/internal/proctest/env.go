package proctest

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// SmallStore keeps the stores of tests that do not exercise the defaults small: 16 MiB
// CommitLog segments instead of 1 GiB, and no disk-usage alarms on a full test disk.
var SmallStore = []string{
	"ROCKETGO_STORE_MAPPEDFILESIZECOMMITLOG=" + strconv.Itoa(16<<20),
	"ROCKETGO_STORE_CONSUMEQUEUEUNITSPERFILE=4096",
	"ROCKETGO_STORE_DISKSPACECLEANFORCIBLYRATIO=1",
	"ROCKETGO_STORE_DISKSPACEWARNINGLEVELRATIO=1",
}

// AnyHAPort makes a broker without slaves take any free HA port (haListenPort -1)
// rather than the listen port + 1, which may be anyone's.
const AnyHAPort = "ROCKETGO_BROKER_HALISTENPORT=-1"

// ephemeralPorts moves the metrics and gRPC endpoints of every child to kernel-chosen
// loopback ports, so tests never bind the fixed defaults (5557, 5558, 8081); extra may
// override them.
var ephemeralPorts = []string{
	"ROCKETGO_BROKER_METRICSPROMEXPORTERHOST=127.0.0.1",
	"ROCKETGO_BROKER_METRICSPROMEXPORTERPORT=0",
	"ROCKETGO_NAMESRV_METRICSPROMEXPORTERHOST=127.0.0.1",
	"ROCKETGO_NAMESRV_NAMESRVMETRICSPROMEXPORTERPORT=0",
	"ROCKETGO_BROKER_GRPCLISTENADDR=127.0.0.1:0",
}

// Env is this process's environment without any ROCKETGO_ setting (which would
// change what a child reads), plus the ephemeral metrics ports and extra.
func Env(extra ...string) []string {
	env := append([]string(nil), ephemeralPorts...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROCKETGO_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// FreeAddr returns "127.0.0.1:port" for a port the kernel just handed out and that was
// released again: free for a child to bind, barring a race with another process doing
// the same (Launch retries a child that lost that race).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Hold listens on a fresh loopback port until the test ends: a port known to be taken.
func Hold(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}
