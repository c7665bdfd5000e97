package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const apacheSample = "../../conf/testdata/apache/2m-2s-sync/broker-a.properties"

// props runs mqbroker with args and returns its -p output as a map.
func props(t *testing.T, args ...string) map[string]string {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(append(args, "-p"), &out, &errs); err != nil {
		t.Fatalf("mqbroker %q: %v (stderr %s)", args, err, errs.String())
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("-p line %q is not key=value", line)
		}
		m[k] = v
	}
	return m
}

func TestPrintApacheSample(t *testing.T) {
	m := props(t, "-c", apacheSample)
	for k, want := range map[string]string{
		"brokerClusterName": "DefaultCluster", "brokerName": "broker-a", "brokerId": "0",
		"brokerRole": "SYNC_MASTER", "flushDiskType": "ASYNC_FLUSH", "deleteWhen": "4",
		"fileReservedTime": "48", "namesrvAddr": "127.0.0.1:9876",
	} {
		if m[k] != want {
			t.Errorf("-p %s=%q, want %q", k, m[k], want)
		}
	}
	if _, ok := m["listenAddr"]; !ok || len(m) < 40 {
		t.Errorf("-p printed %d settings, want every broker and store option", len(m))
	}
	if _, ok := m["namesrv.listenAddr"]; ok {
		t.Error("-p without -standalone printed the NameServer's options")
	}
	if m := props(t, "-c", apacheSample, "-standalone"); m["namesrv.listenAddr"] != "0.0.0.0:9876" {
		t.Errorf("-standalone -p: namesrv.listenAddr=%q", m["namesrv.listenAddr"])
	}
}

// -n overrides the file's namesrvAddr, as in Apache's mqbroker.
func TestNamesrvFlagOverridesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broker.conf")
	if err := os.WriteFile(p, []byte("namesrvAddr=10.0.0.9:9876\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := props(t, "-c", p)["namesrvAddr"]; got != "10.0.0.9:9876" {
		t.Fatalf("from the file: %q", got)
	}
	if got := props(t, "-c", p, "-n", "10.0.0.1:9876;10.0.0.2:9876")["namesrvAddr"]; got != "10.0.0.1:9876;10.0.0.2:9876" {
		t.Fatalf("with -n: %q", got)
	}
}

func TestVersionFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-version"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.HasPrefix(s, "mqbroker github.com/rocketgo/rocketgo ") || strings.Count(s, "\n") != 1 {
		t.Fatalf("-version printed %q", s)
	}
}

func TestBadConfigRefusesToStart(t *testing.T) {
	cases := []struct{ body, want string }{
		{"brokerId=zero\n", "line 1: brokerId=zero: not an integer"},
		{"brokerName=a\nbogusKey=1\n", "line 2: unknown key bogusKey"},
		{"regionId=\\u12\n", "line 1: malformed"},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "broker.conf")
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errs bytes.Buffer
		err := run([]string{"-c", p, "-store", t.TempDir(), "-listen", "127.0.0.1:0"}, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want one line naming %q", c.body, err, c.want)
		}
	}
}

func TestWarningsAndChangedSettingsAreLogged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broker.conf")
	if err := os.WriteFile(p, []byte("fileReservedTime=48\nbrokerPermission=6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A port held here makes the start fail after the configuration is logged.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var out, errs bytes.Buffer
	err = run([]string{"-c", p, "-store", t.TempDir(), "-n", "", "-listen", held.Addr().String()}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), held.Addr().String()) {
		t.Fatalf("got %v, want the start refused on the held port", err)
	}
	log := errs.String()
	for _, want := range []string{"ignored: brokerPermission", "key=fileReservedTime", "value=48", "default=72",
		"key=listenAddr value=" + held.Addr().String()} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
