package proctest

import (
	"math/rand/v2"
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

// FreeAddr returns "127.0.0.1:port" for a port that was free a moment ago, barring a
// race with another process doing the same (Launch retries a child that lost that race).
//
// The port is drawn below the kernel's ephemeral range (ip_local_port_range), and port-2
// and port+1 were free too: a broker on it also binds its VIP channel at port-2 and, by
// default, its HA port at port+1. Outside the ephemeral range no outgoing connection can
// be handed one of those ports while a test has the broker down, so Restart on the same
// ports cannot be locked out for good by some client's socket.
func FreeAddr(t testing.TB) string {
	t.Helper()
	lo, hi := fixedPortRange()
	for i := 0; i < 200; i++ {
		port := lo + 2 + rand.IntN(hi-lo-3)
		if portsFree(port-2, port, port+1) {
			return "127.0.0.1:" + strconv.Itoa(port)
		}
	}
	// Nothing free below the ephemeral range: fall back to a kernel-chosen port.
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

// fixedPortRange is [lo, hi): ports from 10000 up to the start of the ephemeral range,
// or 20000–30000 when the range cannot be read or leaves too little room below it.
func fixedPortRange() (lo, hi int) {
	lo, hi = 20000, 30000
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return lo, hi
	}
	if start, err := strconv.Atoi(f[0]); err == nil && start > 12000 {
		return 10000, start
	}
	return lo, hi
}

// portsFree reports whether every port listed can be bound on 127.0.0.1 right now.
func portsFree(ports ...int) bool {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			_ = ln.Close()
		}
	}()
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		held = append(held, ln)
	}
	return true
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
