package proc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestREADMEFirstCommand runs the README's first command — `mqbroker -standalone` from
// the repository root, so that conf/broker.yaml is read by default — changing only
// ports and the data location, through the environment and flags the README and
// conf/broker.yaml document. The single-node deployment must route, take a message
// and serve it back, say on stderr where it listens, where its store is and how long
// opening took, and stop cleanly on SIGTERM.
func TestREADMEFirstCommand(t *testing.T) {
	b := build(t)
	t.Parallel()
	store := filepath.Join(t.TempDir(), "data")
	defaultData := filepath.Join(b.root, "data")
	_, statErr := os.Stat(defaultData)
	hadDefaultData := statErr == nil
	rc := newClient(t)

	var p *proc
	var ns, addr string
	for try := 1; ; try++ {
		ns, addr = freeAddr(t), freeAddr(t)
		env := childEnv(
			"ROCKETGO_NAMESRV_LISTENADDR="+ns,
			"ROCKETGO_STORE_STOREPATHROOTDIR="+store,
			// The HA port is the listen port + 1 by default, which may be anyone's.
			"ROCKETGO_BROKER_HALISTENPORT="+portOf(freeAddr(t)),
		)
		p = startProc(t, "mqbroker", b.broker, b.root, env, "-standalone", "-listen", addr, "-brokerIP1", "127.0.0.1")
		if awaitRoute(t, rc, ns, addr, p) {
			break
		}
		if !p.portTaken() || try == startTries {
			t.Fatalf("mqbroker -standalone exited: %v", p.state)
		}
	}

	// What the operator reads on stderr.
	nsLine := p.waitLine(readyTimeout, "namesrv listening")
	if got := fields(nsLine)["addr"]; got != ns {
		t.Errorf("namesrv line names addr=%s, want %s: %s", got, ns, nsLine)
	}
	started := p.waitLine(readyTimeout, "broker started")
	f := fields(started)
	if f["listen"] != addr || f["addr"] != addr {
		t.Errorf("broker started line names listen=%s addr=%s, want %s: %s", f["listen"], f["addr"], addr, started)
	}
	if f["store"] != store {
		t.Errorf("broker started line names store=%s, want %s: %s", f["store"], store, started)
	}
	if d, err := strconv.ParseFloat(f["open_and_recovery"], 64); err != nil || d < 0 {
		t.Errorf("broker started line has no open/recovery time (open_and_recovery=%q): %s", f["open_and_recovery"], started)
	}
	if f["namesrv"] != `["`+ns+`"]` {
		t.Errorf("broker started line names namesrv=%s, want the standalone one %s: %s", f["namesrv"], ns, started)
	}
	if rec := fields(p.waitLine(readyTimeout, "store recovered")); rec["clean"] != "true" {
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

	p.signal(syscall.SIGTERM)
	if code, took := p.waitExit(exitTimeout); code != 0 {
		t.Errorf("mqbroker -standalone exited with status %d after SIGTERM (%v)", code, took)
	}
	if _, err := os.Stat(filepath.Join(store, "abort")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("abort marker after SIGTERM: %v, want it removed", err)
	}
	if _, err := os.Stat(defaultData); !hadDefaultData && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the default data directory %s was created although the store was moved: %v", defaultData, err)
	}
}
