package proc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// TestREADMEFirstCommand runs the README's first command — `mqbroker -standalone` from
// the repository root, so that conf/broker.yaml is read by default — changing only
// ports and the data location, through the environment and flags the README and
// conf/broker.yaml document. The single-node deployment must route, take a message
// and serve it back, say on stderr where it listens, where its store is and how long
// opening took, and stop cleanly on SIGTERM.
func TestREADMEFirstCommand(t *testing.T) {
	b := proctest.Build(t)
	t.Parallel()
	store := filepath.Join(t.TempDir(), "data")
	defaultData := filepath.Join(b.Root, "data")
	_, statErr := os.Stat(defaultData)
	hadDefaultData := statErr == nil
	rc := newClient(t)

	var ns, addr string
	p := proctest.Launch(t, func() proctest.Spec {
		ns, addr = proctest.FreeAddr(t), proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: b.Broker, Dir: b.Root, Args: []string{"-standalone", "-listen", addr, "-brokerIP1", "127.0.0.1"},
			Env: []string{
				"ROCKETGO_NAMESRV_LISTENADDR=" + ns,
				"ROCKETGO_STORE_STOREPATHROOTDIR=" + store,
				// The HA port is the listen port + 1 by default, which may be anyone's.
				proctest.AnyHAPort,
			}}
	}, func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(ns, addr); return ok })

	// What the operator reads on stderr.
	nsLine := p.WaitLine(readyTimeout, "namesrv listening")
	if got := fields(nsLine)["addr"]; got != ns {
		t.Errorf("namesrv line names addr=%s, want %s: %s", got, ns, nsLine)
	}
	started := p.WaitLine(readyTimeout, "broker started")
	f := fields(started)
	if f["listen"] != addr || f["addr"] != addr {
		t.Errorf("broker started line names listen=%s addr=%s, want %s: %s", f["listen"], f["addr"], addr, started)
	}
	if f["store"] != store {
		t.Errorf("broker started line names store=%s, want %s: %s", f["store"], store, started)
	}
	if d, ok := duration(f["open_and_recovery"]); !ok || d < 0 || d > readyTimeout {
		t.Errorf("broker started line has no open/recovery time (open_and_recovery=%q): %s", f["open_and_recovery"], started)
	}
	if f["namesrv"] != `["`+ns+`"]` {
		t.Errorf("broker started line names namesrv=%s, want the standalone one %s: %s", f["namesrv"], ns, started)
	}
	if rec := fields(p.WaitLine(readyTimeout, "store recovered")); rec["clean"] != "true" {
		t.Errorf("a fresh store recovered with clean=%s", rec["clean"])
	}
	if _, err := os.Stat(filepath.Join(store, "lock")); err != nil {
		t.Errorf("the store is not where ROCKETGO_STORE_STOREPATHROOTDIR put it: %v", err)
	}

	// A working deployment: the topic is created from TBW102 on first send, and what
	// was sent is read back in order.
	const topic = "ProcReadme"
	bodies := []string{"hello from the README", "second message"}
	for i, s := range bodies {
		r := send(t, rc, addr, topic, "k"+strconv.Itoa(i), []byte(s))
		if r.QueueID != 0 || r.QueueOffset != int64(i) {
			t.Fatalf("send %d stored at queue %d offset %d, want 0/%d", i, r.QueueID, r.QueueOffset, i)
		}
	}
	msgs := pull(t, rc, addr, topic, len(bodies))
	requireMessages(t, msgs, topic, bodies...)
	if k := msgs[0].Keys(); len(k) != 1 || k[0] != "k0" {
		t.Errorf("first message keys %q, want [k0]", k)
	}

	p.Signal(syscall.SIGTERM)
	if code, took := p.WaitExit(exitTimeout); code != 0 {
		t.Errorf("mqbroker -standalone exited with status %d after SIGTERM (%v)", code, took)
	}
	if _, err := os.Stat(filepath.Join(store, "abort")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("abort marker after SIGTERM: %v, want it removed", err)
	}
	if _, err := os.Stat(defaultData); !hadDefaultData && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the default data directory %s was created although the store was moved: %v", defaultData, err)
	}
}

// duration reads a logged duration: a Go duration ("37.1ms"), or a bare number, which
// zerolog's Dur writes in milliseconds.
func duration(s string) (time.Duration, bool) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// TestGracefulShutdown stops a broker registered with a separate mqnamesrv by SIGTERM
// and by SIGINT. Either signal must: end the process with status 0 within exitTimeout;
// unregister it from the NameServer before it exits (UNREGISTER_BROKER, not merely its
// connection closing), so the NameServer stops routing to it; and remove the store's
// abort marker, so the next start recovers clean — with the message sent before the
// signal still readable. For contrast SIGKILL is shown to leave the marker and make the
// next start recover unclean, which is what makes the marker check meaningful.
func TestGracefulShutdown(t *testing.T) {
	b := proctest.Build(t)
	t.Parallel()
	for _, tc := range []struct {
		name string
		sig  os.Signal
	}{
		{"SIGTERM", syscall.SIGTERM},
		{"SIGINT", syscall.SIGINT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			shutdownBySignal(t, b, tc.sig, tc.sig == syscall.SIGTERM)
		})
	}
}

func shutdownBySignal(t *testing.T, b proctest.Binaries, sig os.Signal, thenKill bool) {
	rc := newClient(t)
	nsProc, ns := startNamesrv(t, b)
	store := filepath.Join(t.TempDir(), "store")
	abort := filepath.Join(store, "abort")
	brk, addr := startBroker(t, b, ns, store)

	const topic = "ProcShutdown"
	before := "sent before " + sig.String()
	send(t, rc, addr, topic, "before", []byte(before))
	requireMessages(t, pull(t, rc, addr, topic, 1), topic, before)
	if _, err := os.Stat(abort); err != nil {
		t.Fatalf("abort marker of the running broker: %v", err)
	}

	brk.Signal(sig)
	exit, took := brk.WaitExit(exitTimeout)
	if exit != 0 {
		t.Fatalf("mqbroker exited with status %d (%v) %v after %v; want 0", exit, brk.State(), took, sig)
	}
	t.Logf("%v: exited with status 0 %v after the signal", sig, took.Round(time.Millisecond))
	if _, err := os.Stat(abort); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("abort marker after %v: %v; want it removed", sig, err)
	}
	for _, l := range []string{"shutting down", "broker closed"} {
		if _, err := brk.AwaitLine(time.Second, l); err != nil {
			t.Error(err)
		}
	}

	// The NameServer logs UNREGISTER_BROKER when it serves it, before it answers, and
	// the broker waits for the answer before it exits: the line is there or coming.
	if unreg, err := nsProc.AwaitLine(exitTimeout, "broker unregistered", "broker="+addr); err != nil {
		t.Errorf("the broker did not unregister: %v", err)
	} else if fields(unreg)["was_registered"] != "true" {
		t.Errorf("the NameServer did not know the broker it unregistered: %s", unreg)
	}
	if l, ok := nsProc.FindLine("broker connection closed; broker removed", addr); ok {
		t.Errorf("the broker was removed for its closed connection, not unregistered: %s", l)
	}
	waitNoRoute(t, ns, addr)

	// Restart on the same store: clean recovery, the message is still there.
	brk, addr = startBroker(t, b, ns, store)
	if rec := fields(brk.WaitLine(readyTimeout, "store recovered")); rec["clean"] != "true" {
		t.Errorf("after %v the store recovered with clean=%s; want true", sig, rec["clean"])
	}
	requireMessages(t, pull(t, rc, addr, topic, 1), topic, before)
	if !thenKill {
		brk.Signal(sig)
		if exit, _ := brk.WaitExit(exitTimeout); exit != 0 {
			t.Errorf("restarted mqbroker exited with status %d after %v", exit, sig)
		}
		return
	}

	brk.Signal(syscall.SIGKILL)
	brk.WaitExit(exitTimeout)
	if _, err := os.Stat(abort); err != nil {
		t.Fatalf("abort marker after SIGKILL: %v; want it left behind", err)
	}
	brk, addr = startBroker(t, b, ns, store)
	if rec := fields(brk.WaitLine(readyTimeout, "store recovered")); rec["clean"] != "false" {
		t.Errorf("after SIGKILL the store recovered with clean=%s; want false", rec["clean"])
	}
	requireMessages(t, pull(t, rc, addr, topic, 1), topic, before)
	brk.Signal(sig)
	if exit, _ := brk.WaitExit(exitTimeout); exit != 0 {
		t.Errorf("mqbroker recovered from SIGKILL exited with status %d after %v", exit, sig)
	}
}

// waitNoRoute polls until the NameServer at ns no longer routes TBW102 to broker:
// TOPIC_NOT_EXIST, or a route without it.
func waitNoRoute(t *testing.T, ns, broker string) {
	t.Helper()
	var c int32
	if !testutil.Poll(readyTimeout, func() bool {
		var ok bool
		ok, c = proctest.RoutedTo(ns, broker)
		return !ok && (c == code.TopicNotExist || c == code.Success)
	}) {
		t.Fatalf("the NameServer still routes TBW102 to %s (code %d) %v after its exit", broker, c, readyTimeout)
	}
}
