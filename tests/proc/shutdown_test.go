package proc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting"
)

// TestGracefulShutdown stops a broker registered with a separate mqnamesrv by SIGTERM
// and by SIGINT. Either signal must: end the process with status 0 within exitTimeout;
// unregister it from the NameServer before it exits (UNREGISTER_BROKER, not merely its
// connection closing), so the NameServer stops routing to it; and remove the store's
// abort marker, so the next start recovers clean — with the message sent before the
// signal still readable. For contrast SIGKILL is shown to leave the marker and make the
// next start recover unclean, which is what makes the marker check meaningful.
func TestGracefulShutdown(t *testing.T) {
	b := build(t)
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

func shutdownBySignal(t *testing.T, b bins, sig os.Signal, thenKill bool) {
	rc := newClient(t)
	nsProc, ns := startNamesrv(t, b)
	store := filepath.Join(t.TempDir(), "store")
	abort := filepath.Join(store, "abort")
	brk, addr := startBroker(t, b, rc, ns, store)

	const topic = "ProcShutdown"
	before := "sent before " + sig.String()
	send(t, rc, addr, topic, "before", []byte(before))
	requireMessages(t, pull(t, rc, addr, topic, 1), topic, before)
	if _, err := os.Stat(abort); err != nil {
		t.Fatalf("abort marker of the running broker: %v", err)
	}

	brk.signal(sig)
	exit, took := brk.waitExit(exitTimeout)
	if exit != 0 {
		t.Fatalf("mqbroker exited with status %d (%v) %v after %v; want 0", exit, brk.state, took, sig)
	}
	t.Logf("%v: exited with status 0 %v after the signal", sig, took.Round(time.Millisecond))
	brk.waitLine(time.Second, "shutting down")
	brk.waitLine(time.Second, "broker closed")
	if _, err := os.Stat(abort); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("abort marker after %v: %v; want it removed", sig, err)
	}

	// The NameServer logs UNREGISTER_BROKER when it serves it, before it answers, and
	// the broker waits for the answer before it exits: the line is there or coming.
	unreg := nsProc.waitLine(readyTimeout, "broker unregistered", "broker="+addr)
	if fields(unreg)["was_registered"] != "true" {
		t.Errorf("the NameServer did not know the broker it unregistered: %s", unreg)
	}
	if l, ok, _ := nsProc.out.find("broker connection closed; broker removed", addr); ok {
		t.Errorf("the broker was removed for its closed connection, not unregistered: %s", l)
	}
	waitNoRoute(t, rc, ns, addr)

	// Restart on the same store: clean recovery, the message is still there.
	brk, addr = startBroker(t, b, rc, ns, store)
	if rec := fields(brk.waitLine(readyTimeout, "store recovered")); rec["clean"] != "true" {
		t.Errorf("after %v the store recovered with clean=%s; want true", sig, rec["clean"])
	}
	requireMessages(t, pull(t, rc, addr, topic, 1), topic, before)
	if !thenKill {
		brk.signal(sig)
		if exit, _ := brk.waitExit(exitTimeout); exit != 0 {
			t.Errorf("restarted mqbroker exited with status %d after %v", exit, sig)
		}
		return
	}

	brk.signal(syscall.SIGKILL)
	brk.waitExit(exitTimeout)
	if _, err := os.Stat(abort); err != nil {
		t.Fatalf("abort marker after SIGKILL: %v; want it left behind", err)
	}
	brk, addr = startBroker(t, b, rc, ns, store)
	if rec := fields(brk.waitLine(readyTimeout, "store recovered")); rec["clean"] != "false" {
		t.Errorf("after SIGKILL the store recovered with clean=%s; want false", rec["clean"])
	}
	requireMessages(t, pull(t, rc, addr, topic, 1), topic, before)
	brk.signal(sig)
	if exit, _ := brk.waitExit(exitTimeout); exit != 0 {
		t.Errorf("mqbroker recovered from SIGKILL exited with status %d after %v", exit, sig)
	}
}

// waitNoRoute polls until the NameServer at ns no longer routes TBW102 to broker:
// TOPIC_NOT_EXIST, or a route without it.
func waitNoRoute(t *testing.T, rc *remoting.Client, ns, broker string) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		ok, c := routedTo(rc, ns, broker)
		if !ok && (c == code.TopicNotExist || c == code.Success) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the NameServer still routes TBW102 to %s (code %d) %v after its exit", broker, c, readyTimeout)
		}
		<-time.After(pollEvery)
	}
}
