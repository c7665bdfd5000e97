package ha

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting"
)

// Binaries are the built mqnamesrv and mqbroker programs.
type Binaries struct {
	Namesrv string
	Broker  string
}

var build struct {
	once sync.Once
	bin  Binaries
	err  error
}

// Build compiles bin/mqnamesrv and bin/mqbroker of the working tree once per test
// process, into a directory of the user's temporary directory that later runs reuse
// (the build cache makes the rebuild cheap). The binaries are written under temporary
// names and renamed into place, so a process still running an older build is not
// disturbed.
func Build(t testing.TB) Binaries {
	t.Helper()
	build.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			build.err = err
			return
		}
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("rocketgo-ha-bin-%d", os.Getuid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			build.err = err
			return
		}
		for _, p := range []struct {
			pkg, name string
			dst       *string
		}{
			{"./bin/mqnamesrv", "mqnamesrv", &build.bin.Namesrv},
			{"./bin/mqbroker", "mqbroker", &build.bin.Broker},
		} {
			final := filepath.Join(dir, p.name)
			tmp := fmt.Sprintf("%s.%d.tmp", final, os.Getpid())
			cmd := exec.Command("go", "build", "-o", tmp, p.pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				build.err = fmt.Errorf("go build %s: %v\n%s", p.pkg, err, out)
				return
			}
			if err := os.Rename(tmp, final); err != nil {
				build.err = err
				return
			}
			*p.dst = final
		}
	})
	if build.err != nil {
		t.Fatalf("build binaries: %v", build.err)
	}
	return build.bin
}

// moduleRoot is the directory of the main module's go.mod: two levels above this file.
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the harness source")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("module root %s: %w", root, err)
	}
	return root, nil
}

// FreeAddr returns "127.0.0.1:port" for a port the kernel just handed out and that was
// released again: free for a child process to bind, barring a race with another
// process doing the same.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// FreeAddrPair returns an address whose port and port+1 are both free: a broker's
// listen address, with its HA port next to it as RocketMQ's default puts it.
func FreeAddrPair(t testing.TB) string {
	t.Helper()
	for i := 0; i < 50; i++ {
		a := FreeAddr(t)
		ap := strings.Split(a, ":")
		port, _ := strconv.Atoi(ap[1])
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		if err != nil {
			continue
		}
		ln.Close()
		return a
	}
	t.Fatalf("no two adjacent free ports found")
	return ""
}

// Proc is a child process: a NameServer or a broker.
type Proc struct {
	t    testing.TB
	Name string
	bin  string
	args []string
	out  string // log file

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// start launches the process and registers its kill at cleanup.
func startProc(t testing.TB, name, bin string, dir string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, Name: name, bin: bin, args: args, out: filepath.Join(dir, name+".log")}
	p.Start()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.dumpLog()
		}
	})
	return p
}

// Start (re)starts the process with its arguments; its output is appended to its log.
func (p *Proc) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatalf("%s: already running", p.Name)
	}
	f, err := os.OpenFile(p.out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("%s: log: %v", p.Name, err)
	}
	fmt.Fprintf(f, "==== start %s %s\n", time.Now().Format("15:04:05.000"), strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("%s: start: %v", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
}

// Running reports whether the process has been started and not reaped.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL — a crash: nothing is flushed, closed or unregistered — and reaps
// the process.
func (p *Proc) Kill() { p.signal(syscall.SIGKILL, 0) }

// Stop sends SIGTERM and waits up to 20 s for a clean exit, then kills.
func (p *Proc) Stop() { p.signal(syscall.SIGTERM, 20*time.Second) }

func (p *Proc) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			p.t.Errorf("%s did not exit within %v of %v; killing it", p.Name, grace, sig)
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

// dumpLog prints the last lines of the process's log to the test log.
func (p *Proc) dumpLog() {
	b, err := os.ReadFile(p.out)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 150 {
		lines = lines[len(lines)-150:]
	}
	p.t.Logf("---- last lines of %s ----\n%s", p.Name, strings.Join(lines, "\n"))
}

// LogContains reports whether the process's log holds s.
func (p *Proc) LogContains(s string) bool {
	b, err := os.ReadFile(p.out)
	return err == nil && bytes.Contains(b, []byte(s))
}

// Namesrv is a NameServer process.
type Namesrv struct {
	*Proc
	Addr string
}

// StartNamesrv starts mqnamesrv on addr ("" picks a free port) and waits until it
// answers.
func StartNamesrv(t testing.TB, bin Binaries, dir, name, addr string) *Namesrv {
	t.Helper()
	if addr == "" {
		addr = FreeAddr(t)
	}
	n := &Namesrv{Proc: startProc(t, name, bin.Namesrv, dir, "-listen", addr, "-loglevel", "info"), Addr: addr}
	WaitFor(t, 20*time.Second, name+" to listen", func() bool { return dialable(addr) })
	return n
}

// BrokerConfig describes a broker process.
type BrokerConfig struct {
	Name     string   // brokerName
	ID       int64    // brokerId
	Role     string   // brokerRole
	Listen   string   // listen address; "" picks one with a free port after it
	HAPort   int      // haListenPort; 0 for the listen port + 1
	Namesrv  []string // NameServer addresses
	StoreDir string   // "" is a directory of its own in dir
	Flush    string   // flushDiskType; "" for ASYNC_FLUSH
	// Broker and Store hold more options of those sections, by their YAML key.
	Broker map[string]any
	Store  map[string]any
}

// Broker is a broker process.
type Broker struct {
	*Proc
	Cfg  BrokerConfig
	Addr string // the remoting address clients dial
}

// StartBroker writes the broker's YAML configuration into dir, starts mqbroker with it
// and waits until it answers GET_BROKER_RUNTIME_INFO.
func StartBroker(t testing.TB, bin Binaries, dir string, cfg BrokerConfig) *Broker {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = FreeAddrPair(t)
	}
	if cfg.StoreDir == "" {
		cfg.StoreDir = filepath.Join(dir, fmt.Sprintf("%s-%d-store", cfg.Name, cfg.ID))
	}
	if cfg.Flush == "" {
		cfg.Flush = "ASYNC_FLUSH"
	}
	name := fmt.Sprintf("%s-%d", cfg.Name, cfg.ID)
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(brokerYAML(cfg)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Broker{Proc: startProc(t, name, bin.Broker, dir, "-c", path, "-loglevel", "info"), Cfg: cfg, Addr: cfg.Listen}
	b.WaitUp(t)
	return b
}

// WaitUp waits until the broker answers GET_BROKER_RUNTIME_INFO.
func (b *Broker) WaitUp(t testing.TB) {
	t.Helper()
	WaitFor(t, 30*time.Second, b.Name+" to serve", func() bool {
		if !b.Running() {
			t.Fatalf("%s exited during start", b.Name)
		}
		_, err := RuntimeInfo(b.Addr)
		return err == nil
	})
}

// Restart starts the broker again after Kill or Stop, with the same configuration and
// store, and waits until it serves.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Start()
	b.WaitUp(t)
}

// brokerYAML renders the configuration file of a broker.
func brokerYAML(c BrokerConfig) string {
	var sb strings.Builder
	sb.WriteString("broker:\n")
	kv := map[string]any{
		"listenAddr":               c.Listen,
		"brokerIP1":                "127.0.0.1",
		"brokerName":               c.Name,
		"brokerClusterName":        "HACluster",
		"brokerId":                 c.ID,
		"brokerRole":               c.Role,
		"namesrvAddr":              strings.Join(c.Namesrv, ";"),
		"registerNameServerPeriod": "10s",
		"haSendHeartbeatInterval":  "500ms",
		"haHousekeepingInterval":   "5s",
		"slaveSyncInterval":        "500ms",
	}
	if c.HAPort > 0 {
		kv["haListenPort"] = c.HAPort
	}
	for k, v := range c.Broker {
		kv[k] = v
	}
	writeSection(&sb, kv)
	sb.WriteString("store:\n")
	skv := map[string]any{
		"storePathRootDir":            c.StoreDir,
		"mappedFileSizeCommitLog":     4 << 20,
		"consumeQueueUnitsPerFile":    100000,
		"flushDiskType":               c.Flush,
		"diskSpaceCleanForciblyRatio": 0.99,
		"diskSpaceWarningLevelRatio":  0.99,
	}
	for k, v := range c.Store {
		skv[k] = v
	}
	writeSection(&sb, skv)
	return sb.String()
}

func writeSection(sb *strings.Builder, kv map[string]any) {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := kv[k].(type) {
		case string:
			fmt.Fprintf(sb, "  %s: %q\n", k, v)
		default:
			fmt.Fprintf(sb, "  %s: %v\n", k, v)
		}
	}
}

// dialable reports whether a TCP connection to addr succeeds.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// rc is the harness's remoting client, shared by every helper.
var rc = sync.OnceValue(func() *remoting.Client {
	return remoting.NewClient(remoting.ClientOptions{DialTimeout: 2 * time.Second})
})

// Invoke sends a request to addr and waits up to 10 s for the answer.
func Invoke(addr string, req *remoting.Command) (*remoting.Command, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := rc().Invoke(ctx, addr, req)
	if err != nil {
		rc().CloseAddr(addr)
	}
	return resp, err
}

// RuntimeInfo returns a broker's GET_BROKER_RUNTIME_INFO table.
func RuntimeInfo(addr string) (map[string]string, error) {
	resp, err := Invoke(addr, remoting.NewRequest(code.GetBrokerRuntimeInfo, nil, nil))
	if err != nil {
		return nil, err
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("runtime info: code %d %s", resp.Code, resp.Remark)
	}
	kv, err := body.DecodeKVTable(resp.Body)
	if err != nil {
		return nil, err
	}
	return kv.Table, nil
}

// InfoInt returns one integer of a broker's runtime info, -1 when it cannot be read.
func InfoInt(addr, key string) int64 {
	info, err := RuntimeInfo(addr)
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(info[key], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// WaitFor polls cond every 10 ms until it holds, failing the test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitReplicated waits until the slave's CommitLog ends where the master's does and
// returns that offset.
func WaitReplicated(t testing.TB, master, slave *Broker, timeout time.Duration) int64 {
	t.Helper()
	var m, s int64
	WaitFor(t, timeout, "the slave to catch up", func() bool {
		m, s = InfoInt(master.Addr, "commitLogMaxOffset"), InfoInt(slave.Addr, "commitLogMaxOffset")
		return m > 0 && m == s
	})
	return m
}
