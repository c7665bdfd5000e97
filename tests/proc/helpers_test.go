package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting"
)

// Bounds of the waits. readyTimeout covers a start on a loaded machine; exitTimeout is
// what an operator may expect a graceful stop or a refused start to take.
const (
	readyTimeout = 20 * time.Second
	exitTimeout  = 10 * time.Second
	pollEvery    = 20 * time.Millisecond
	startTries   = 5
)

// smallStore keeps the stores of tests that do not exercise the defaults small: 16 MiB
// CommitLog segments instead of 1 GiB, and no disk-usage alarms on a full test disk.
// Brokers without slaves also take any free HA port (haListenPort -1) rather than the
// listen port + 1, which may be anyone's.
var smallStore = []string{
	"ROCKETGO_STORE_MAPPEDFILESIZECOMMITLOG=" + strconv.Itoa(16<<20),
	"ROCKETGO_STORE_CONSUMEQUEUEUNITSPERFILE=4096",
	"ROCKETGO_STORE_DISKSPACECLEANFORCIBLYRATIO=1",
	"ROCKETGO_STORE_DISKSPACEWARNINGLEVELRATIO=1",
}

var binDir string // set by TestMain; the binaries are built there on first use

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rocketgo-proc-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// bins are the built programs and the repository root they were built from.
type bins struct {
	root, broker, namesrv string
}

var built struct {
	once sync.Once
	bins bins
	err  error
}

// build skips the test under -short and otherwise builds bin/mqbroker and
// bin/mqnamesrv of the working tree, once per test process.
func build(t *testing.T) bins {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs bin/mqbroker and bin/mqnamesrv")
	}
	built.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			built.err = err
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("no go tool: %w", err)
			return
		}
		cmd := exec.Command(goTool, "build", "-o", binDir+string(filepath.Separator), "./bin/mqbroker", "./bin/mqnamesrv")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bins = bins{root: root, broker: filepath.Join(binDir, "mqbroker"), namesrv: filepath.Join(binDir, "mqnamesrv")}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bins
}

// repoRoot finds the directory of rocketgo's go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/rocketgo/rocketgo\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no rocketgo go.mod above the working directory")
		}
		dir = parent
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln := hold(t)
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// hold listens on a fresh loopback port until the test ends.
func hold(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// childEnv is this process's environment without any ROCKETGO_ setting (which would
// change what the child reads), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROCKETGO_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// output collects a child's stderr (and stdout) line by line and wakes waiters.
type output struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.lines = append(o.lines, string(o.partial[:i]))
		o.partial = o.partial[i+1:]
	}
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// find returns the first line containing every one of subs, and a channel closed at
// the next write.
func (o *output) find(subs ...string) (string, bool, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range o.lines {
		if containsAll(l, subs...) {
			return l, true, o.changed
		}
	}
	return "", false, o.changed
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.lines, "\n") + string(o.partial)
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// proc is one child process.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	out   *output
	done  chan struct{} // closed after cmd.Wait returned and the output is complete
	state *os.ProcessState
}

// startProc starts bin in dir with env and args. When the test ends the process is
// killed if still running, and its output is logged if the test failed.
func startProc(t *testing.T, name, bin, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, out: newOutput(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// A test binary that dies without its cleanups (a panic, a timeout) takes its
	// children with it instead of leaving brokers running.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s %s output:\n%s", name, strings.Join(args, " "), p.out)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the running process.
func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v to %s: %v", sig, p.name, err)
	}
}

// waitExit waits up to d for the process to exit and returns its exit code (-1 when
// killed by a signal) and how long the wait took.
func (p *proc) waitExit(d time.Duration) (int, time.Duration) {
	p.t.Helper()
	began := time.Now()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("%s still running %v later", p.name, d)
	}
	return p.state.ExitCode(), time.Since(began)
}

// waitLine waits up to d for an output line containing every one of subs. It fails the
// test when the process exits or the deadline passes first.
func (p *proc) waitLine(d time.Duration, subs ...string) string {
	p.t.Helper()
	l, err := p.awaitLine(d, subs...)
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

func (p *proc) awaitLine(d time.Duration, subs ...string) (string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		l, ok, changed := p.out.find(subs...)
		if ok {
			return l, nil
		}
		select {
		case <-changed:
		case <-p.done:
			if l, ok, _ := p.out.find(subs...); ok {
				return l, nil
			}
			return "", fmt.Errorf("%s exited (%v) without a line containing %q", p.name, p.state, subs)
		case <-timer.C:
			return "", fmt.Errorf("%s wrote no line containing %q within %v", p.name, subs, d)
		}
	}
}

// portTaken reports whether the process failed because a port was taken.
func (p *proc) portTaken() bool {
	_, ok, _ := p.out.find("address already in use")
	return p.exited() && ok
}

// fields parses the key=value fields of a console log line.
func fields(line string) map[string]string {
	m := map[string]string{}
	for _, tok := range strings.Fields(line) {
		if k, v, ok := strings.Cut(tok, "="); ok {
			m[k] = v
		}
	}
	return m
}

// newClient returns a remoting client closed when the test ends.
func newClient(t *testing.T) *remoting.Client {
	rc := remoting.NewClient(remoting.ClientOptions{DialTimeout: time.Second})
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

func invoke(rc *remoting.Client, addr string, req *remoting.Command) (*remoting.Command, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return rc.Invoke(ctx, addr, req)
}

// routedTo reports whether the NameServer at ns routes TBW102 to a master at broker.
// The second result is the answer's code (-1 when the call failed).
func routedTo(rc *remoting.Client, ns, broker string) (bool, int16) {
	resp, err := invoke(rc, ns, remoting.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": "TBW102"}, nil))
	if err != nil {
		return false, -1
	}
	if resp.Code != code.Success {
		return false, resp.Code
	}
	r, err := body.DecodeTopicRouteData(resp.Body)
	if err != nil {
		return false, resp.Code
	}
	for _, bd := range r.BrokerDatas {
		if bd.BrokerAddrs[0] == broker {
			return true, resp.Code
		}
	}
	return false, resp.Code
}

// awaitRoute polls until ns routes TBW102 to broker. It returns false as soon as one
// of procs has exited, and fails the test at the deadline.
func awaitRoute(t *testing.T, rc *remoting.Client, ns, broker string, procs ...*proc) bool {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		for _, p := range procs {
			if p.exited() {
				return false
			}
		}
		if ok, _ := routedTo(rc, ns, broker); ok {
			return true
		}
		<-time.After(pollEvery)
	}
	t.Fatalf("the NameServer at %s did not route TBW102 to %s within %v", ns, broker, readyTimeout)
	return false
}

// send sends one message with SEND_MESSAGE to queue 0 of topic (created from TBW102 on
// first use) and returns the broker's answer.
func send(t *testing.T, rc *remoting.Client, broker, topic, key string, payload []byte) header.SendMessageResponse {
	t.Helper()
	h := header.SendMessageRequest{
		ProducerGroup:         "proc-pg",
		Topic:                 topic,
		DefaultTopic:          "TBW102",
		DefaultTopicQueueNums: 4,
		QueueID:               0,
		BornTimestamp:         time.Now().UnixMilli(),
		Properties: message.EncodeProperties(map[string]string{
			message.PropKeys: key, message.PropUniqKey: message.NewUniqID(), message.PropWait: "true",
		}),
	}
	resp, err := invoke(rc, broker, remoting.NewRequest(code.SendMessage, h.Encode(), payload))
	if err != nil {
		t.Fatalf("send to %s: %v", broker, err)
	}
	if resp.Code != code.Success {
		t.Fatalf("send to %s: code %d remark %q", broker, resp.Code, resp.Remark)
	}
	var r header.SendMessageResponse
	if err := r.Decode(resp.ExtFields); err != nil {
		t.Fatalf("send response header %v: %v", resp.ExtFields, err)
	}
	return r
}

// pull reads queue 0 of topic from offset 0 with PULL_MESSAGE until it holds at least
// n messages (dispatch into the ConsumeQueue is asynchronous) and returns them.
func pull(t *testing.T, rc *remoting.Client, broker, topic string, n int) []*message.Ext {
	t.Helper()
	h := header.PullMessageRequest{
		ConsumerGroup: "proc-cg",
		Topic:         topic,
		QueueID:       0,
		QueueOffset:   0,
		MaxMsgNums:    32,
		SysFlag:       header.PullSubscription,
		Subscription:  "*",
		// The broker answers at once: no suspend bit.
		ExpressionType: "TAG",
	}
	deadline := time.Now().Add(readyTimeout)
	var last string
	for time.Now().Before(deadline) {
		resp, err := invoke(rc, broker, remoting.NewRequest(code.PullMessage, h.Encode(), nil))
		switch {
		case err != nil:
			last = err.Error()
		case resp.Code == code.Success:
			msgs := decodeRecords(t, resp.Body)
			if len(msgs) >= n {
				return msgs
			}
			last = fmt.Sprintf("%d of %d messages", len(msgs), n)
		default:
			last = fmt.Sprintf("code %d remark %q", resp.Code, resp.Remark)
		}
		<-time.After(pollEvery)
	}
	t.Fatalf("pull %s:0 from %s: no %d messages within %v; last answer: %s", topic, broker, n, readyTimeout, last)
	return nil
}

func decodeRecords(t *testing.T, b []byte) []*message.Ext {
	t.Helper()
	var out []*message.Ext
	for len(b) > 0 {
		m, n, err := message.DecodeRecord(b)
		if err != nil {
			t.Fatalf("pulled record %d: %v", len(out), err)
		}
		out = append(out, m)
		b = b[n:]
	}
	return out
}

// requireMessages checks that msgs are exactly the bodies want, in order, at queue
// offsets 0, 1, ... of topic.
func requireMessages(t *testing.T, msgs []*message.Ext, topic string, want ...string) {
	t.Helper()
	if len(msgs) != len(want) {
		t.Fatalf("pulled %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if m.Topic != topic || m.QueueID != 0 || m.QueueOffset != int64(i) || string(m.Body) != want[i] {
			t.Fatalf("message %d: %s:%d@%d %q; want %s:0@%d %q", i, m.Topic, m.QueueID, m.QueueOffset, m.Body, topic, i, want[i])
		}
	}
}

// startNamesrv runs bin/mqnamesrv on a free port, logging at info level.
func startNamesrv(t *testing.T, b bins) (*proc, string) {
	t.Helper()
	for try := 1; ; try++ {
		addr := freeAddr(t)
		p := startProc(t, "mqnamesrv", b.namesrv, t.TempDir(), childEnv(), "-listen", addr)
		if _, err := p.awaitLine(readyTimeout, "namesrv listening", "addr="+addr); err == nil {
			return p, addr
		} else if !p.portTaken() || try == startTries {
			t.Fatal(err)
		}
	}
}

// startBroker runs bin/mqbroker with built-in defaults, a small store in dir and
// NameServer ns, and waits until ns routes to it.
func startBroker(t *testing.T, b bins, rc *remoting.Client, ns, dir string) (*proc, string) {
	t.Helper()
	for try := 1; ; try++ {
		addr := freeAddr(t)
		env := childEnv(append([]string{"ROCKETGO_BROKER_HALISTENPORT=-1"}, smallStore...)...)
		p := startProc(t, "mqbroker", b.broker, t.TempDir(), env,
			"-c", "", "-namesrv", ns, "-listen", addr, "-store", dir, "-brokerIP1", "127.0.0.1")
		if awaitRoute(t, rc, ns, addr, p) {
			return p, addr
		}
		if !p.portTaken() || try == startTries {
			t.Fatalf("mqbroker on %s exited: %v", addr, p.state)
		}
	}
}
