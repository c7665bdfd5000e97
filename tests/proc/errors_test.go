package proc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// failure is what a refused start showed the operator.
type failure struct {
	exit   int
	took   time.Duration
	stderr string
	last   string // the error the program ended with: from its last line starting "<name>:" on
}

// runToFailure runs bin to its end and requires a non-zero exit within exitTimeout.
func runToFailure(t *testing.T, name, bin, dir string, env []string, args ...string) failure {
	t.Helper()
	p := proctest.Start(t, proctest.Spec{Name: name, Bin: bin, Dir: dir, Env: env, Args: args})
	exit, took := p.WaitExit(exitTimeout)
	out := strings.TrimRight(p.Output(), "\n")
	f := failure{exit: exit, took: took, stderr: out, last: out}
	if i := strings.LastIndex("\n"+out, "\n"+name+":"); i >= 0 {
		f.last = out[i:]
	}
	if exit == 0 {
		t.Fatalf("%s %s exited with status 0; want a refused start:\n%s", name, strings.Join(args, " "), out)
	}
	return f
}

// requireNames checks that the final error names every one of subs.
func (f failure) requireNames(t *testing.T, subs ...string) {
	t.Helper()
	if !proctest.ContainsAll(f.last, subs...) {
		t.Errorf("the error %q does not name %q", f.last, subs)
	}
}

// brokerFailure runs mqbroker -standalone with built-in defaults, a small store, free
// ports except those the caller set, and any extra env and args; it retries on new
// ports when a port the test did not hold on purpose was taken meanwhile (the error
// then does not name held).
func brokerFailure(t *testing.T, b proctest.Binaries, held string, store string, env []string, args ...string) failure {
	t.Helper()
	for try := 1; ; try++ {
		e := append([]string{"ROCKETGO_NAMESRV_LISTENADDR=" + proctest.FreeAddr(t)}, brokerEnv...)
		a := append([]string{"-standalone", "-c", "", "-store", store, "-brokerIP1", "127.0.0.1",
			"-listen", proctest.FreeAddr(t), "-loglevel", "warn"}, args...)
		f := runToFailure(t, "mqbroker", b.Broker, t.TempDir(), append(e, env...), a...)
		collided := strings.Contains(f.last, "address already in use") && (held == "" || !strings.Contains(f.last, held))
		if !collided || try == proctest.StartTries {
			return f
		}
	}
}

// TestStartupErrors: every refused start of mqbroker and mqnamesrv exits non-zero
// within exitTimeout with one last stderr line that names what is wrong — the address
// in use, the locked directory, the unknown key, the invalid option and value.
func TestStartupErrors(t *testing.T) {
	b := proctest.Build(t)
	t.Parallel()

	t.Run("broker/listen-port-in-use", func(t *testing.T) {
		t.Parallel()
		held := proctest.Hold(t).Addr().String()
		store := t.TempDir()
		f := brokerFailure(t, b, held, store, nil, "-listen", held)
		f.requireNames(t, "mqbroker:", "start broker on "+held, "address already in use")
		// The store was opened before the listen failed: it must be closed cleanly.
		if _, err := os.Stat(filepath.Join(store, "abort")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("abort marker after the refused start: %v; want it removed", err)
		}
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
	})

	t.Run("broker/ha-port-in-use", func(t *testing.T) {
		t.Parallel()
		held := proctest.Hold(t).Addr().String()
		f := brokerFailure(t, b, held, t.TempDir(), []string{"ROCKETGO_BROKER_HALISTENPORT=" + portOf(held)})
		f.requireNames(t, "mqbroker:", held, "address already in use")
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
	})

	t.Run("broker/namesrv-port-in-use", func(t *testing.T) {
		t.Parallel()
		held := proctest.Hold(t).Addr().String()
		f := brokerFailure(t, b, held, t.TempDir(), []string{"ROCKETGO_NAMESRV_LISTENADDR=" + held})
		f.requireNames(t, "mqbroker:", "start namesrv on "+held, "address already in use")
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
	})

	t.Run("broker/store-locked", func(t *testing.T) {
		t.Parallel()
		rc := newClient(t)
		_, ns := startNamesrv(t, b)
		store := filepath.Join(t.TempDir(), "store")
		first, addr := startBroker(t, b, ns, store)
		f := brokerFailure(t, b, "", store, nil)
		f.requireNames(t, "mqbroker:", store, "locked")
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
		// The refused second process took nothing from the first.
		if first.Exited() {
			t.Fatalf("the first broker exited: %v", first.State())
		}
		if _, err := os.Stat(filepath.Join(store, "abort")); err != nil {
			t.Errorf("the running broker's abort marker after the refused start: %v", err)
		}
		send(t, rc, addr, "ProcLocked", "k", []byte("still serving"))
		requireMessages(t, pull(t, rc, addr, "ProcLocked", 1), "ProcLocked", "still serving")
	})

	t.Run("broker/unknown-key-in-file", func(t *testing.T) {
		t.Parallel()
		cfg := filepath.Join(t.TempDir(), "broker.yaml")
		yaml := "broker:\n  brokerName: broker-a\n  bogusKey: 1\n"
		if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		f := brokerFailure(t, b, "", t.TempDir(), nil, "-c", cfg)
		f.requireNames(t, "mqbroker:", cfg, "unknown key broker.bogusKey")
		// The key is named as the file spells it.
		if !strings.Contains(strings.ToLower(f.stderr), "boguskey") {
			t.Errorf("the error does not name the unknown key bogusKey:\n%s", f.stderr)
		}
		t.Logf("exit %d after %v:\n%s", f.exit, f.took, f.stderr)
	})

	t.Run("broker/invalid-env-value", func(t *testing.T) {
		t.Parallel()
		f := brokerFailure(t, b, "", t.TempDir(), []string{"ROCKETGO_STORE_FLUSHDISKTYPE=SOMETIMES"})
		f.requireNames(t, "mqbroker:", "flushDiskType", "SOMETIMES")
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
	})

	t.Run("broker/env-names-no-option", func(t *testing.T) {
		t.Parallel()
		f := brokerFailure(t, b, "", t.TempDir(), []string{"ROCKETGO_STORE_FLUSHDISKTPYE=SYNC_FLUSH"})
		f.requireNames(t, "mqbroker:", "ROCKETGO_STORE_FLUSHDISKTPYE", "no option")
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
	})

	t.Run("broker/invalid-env-duration", func(t *testing.T) {
		t.Parallel()
		f := brokerFailure(t, b, "", t.TempDir(), []string{"ROCKETGO_BROKER_TRANSACTIONCHECKINTERVAL=soon"})
		f.requireNames(t, "broker.transactionCheckInterval", "invalid duration")
		t.Logf("exit %d after %v:\n%s", f.exit, f.took, f.stderr)
	})

	t.Run("broker/no-default-config-outside-repo", func(t *testing.T) {
		t.Parallel()
		f := runToFailure(t, "mqbroker", b.Broker, t.TempDir(), nil, "-standalone")
		f.requireNames(t, "mqbroker:", "conf/broker.yaml")
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
	})

	t.Run("broker/unexpected-argument", func(t *testing.T) {
		t.Parallel()
		f := runToFailure(t, "mqbroker", b.Broker, t.TempDir(), nil, "-c", "", "standalone")
		f.requireNames(t, "mqbroker:", `unexpected argument "standalone"`)
	})

	t.Run("broker/bad-loglevel", func(t *testing.T) {
		t.Parallel()
		f := runToFailure(t, "mqbroker", b.Broker, t.TempDir(), nil, "-c", "", "-loglevel", "loud")
		f.requireNames(t, "mqbroker:", `"loud"`, "debug, info, warn or error")
	})

	t.Run("namesrv/port-in-use", func(t *testing.T) {
		t.Parallel()
		held := proctest.Hold(t).Addr().String()
		f := runToFailure(t, "mqnamesrv", b.Namesrv, t.TempDir(), nil, "-listen", held)
		f.requireNames(t, "mqnamesrv:", "start namesrv on "+held, "address already in use")
		t.Logf("exit %d after %v: %s", f.exit, f.took, f.last)
	})

	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		file    string // when set, written to a file passed with -c
		want    []string
		wantKey string // an unknown key, named case-insensitively
	}{
		{name: "namesrv/listen-without-port", args: []string{"-listen", "nope"}, want: []string{"listenAddr", `"nope"`, "missing port"}},
		{name: "namesrv/listen-port-out-of-range", args: []string{"-listen", "127.0.0.1:99999"}, want: []string{"listenAddr", `"99999"`}},
		{name: "namesrv/listen-host-not-ip", args: []string{"-listen", "example.invalid:9876"}, want: []string{"listenAddr", `"example.invalid"`}},
		{name: "namesrv/bad-loglevel", args: []string{"-loglevel", "loud"}, want: []string{`"loud"`, "debug, info, warn or error"}},
		{name: "namesrv/invalid-env-duration", env: []string{"ROCKETGO_NAMESRV_BROKEREXPIRY=soon"}, want: []string{"namesrv.brokerExpiry", "invalid duration"}},
		{name: "namesrv/unknown-key-in-file", file: "namesrv:\n  listenAdr: 127.0.0.1:0\n", want: []string{"unknown key namesrv.listenAdr"}, wantKey: "listenAdr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args, want := tc.args, tc.want
			if tc.file != "" {
				cfg := filepath.Join(t.TempDir(), "namesrv.yaml")
				if err := os.WriteFile(cfg, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
				args, want = append(args, "-c", cfg), append(want, cfg)
			}
			f := runToFailure(t, "mqnamesrv", b.Namesrv, t.TempDir(), tc.env, args...)
			if f.exit != 1 {
				t.Errorf("exit status %d, want 1", f.exit)
			}
			if !proctest.ContainsAll(f.stderr, append([]string{"mqnamesrv:"}, want...)...) {
				t.Errorf("the error does not name %q:\n%s", want, f.stderr)
			}
			if tc.wantKey != "" && !strings.Contains(strings.ToLower(f.stderr), strings.ToLower(tc.wantKey)) {
				t.Errorf("the error does not name the unknown key %s:\n%s", tc.wantKey, f.stderr)
			}
		})
	}

	t.Run("namesrv/undefined-flag", func(t *testing.T) {
		t.Parallel()
		f := runToFailure(t, "mqnamesrv", b.Namesrv, t.TempDir(), nil, "-bogus")
		if f.exit != 2 {
			t.Errorf("exit status %d, want 2 (flag usage error)", f.exit)
		}
		if !proctest.ContainsAll(f.stderr, "flag provided but not defined: -bogus", "-listen") {
			t.Errorf("no usage naming the bad flag:\n%s", f.stderr)
		}
	})
}
