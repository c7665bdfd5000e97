// Package mqbench holds the process tests of the mqbench program against a real
// NameServer and broker, and the harness they share with the tests of
// tests/mqbench-official (the nested module of mqbench's -client official).
package mqbench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/client/bench"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// Bounds of the waits: a start, or a run of a few messages, on a loaded machine.
const (
	readyTimeout = 30 * time.Second
	runTimeout   = 90 * time.Second
)

// Queues is the number of queues of the topics CreateTopic makes.
const Queues = 2

// Cluster is a NameServer and one broker running as child processes, the broker with
// autoCreateTopicEnable=false: a send to a topic nobody created fails.
type Cluster struct {
	NameServer string
	Broker     string
	Bin        proctest.Binaries
}

// StartCluster builds and starts bin/mqnamesrv and bin/mqbroker for the test.
func StartCluster(t *testing.T) Cluster {
	t.Helper()
	b := proctest.Build(t)
	ns := StartNameServer(t, b)
	var addr string
	env := append([]string{proctest.AnyHAPort, "ROCKETGO_BROKER_AUTOCREATETOPICENABLE=false"}, proctest.SmallStore...)
	store := filepath.Join(t.TempDir(), "store")
	proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: b.Broker, Dir: t.TempDir(), Env: env,
			Args: []string{"-c", "", "-namesrv", ns, "-listen", addr, "-store", store, "-brokerIP1", "127.0.0.1"}}
	}, func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(ns, addr); return ok }) // addr is set by the spec
	return Cluster{NameServer: ns, Broker: addr, Bin: b}
}

// StartNameServer starts a NameServer alone and returns its address.
func StartNameServer(t *testing.T, b proctest.Binaries) string {
	t.Helper()
	var addr string
	proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqnamesrv", Bin: b.Namesrv, Dir: t.TempDir(), Args: []string{"-listen", addr}}
	}, proctest.Logged("namesrv listening", "addr="+addr))
	return addr
}

// CreateTopic creates topic with Queues queues on the cluster's broker and waits until
// the NameServer routes it.
func (c Cluster) CreateTopic(t *testing.T, topic string) {
	t.Helper()
	adm, err := client.NewAdmin(client.WithNameServer(c.NameServer))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := adm.CreateTopic(ctx, client.TopicConfig{Topic: topic, ReadQueueNums: Queues, WriteQueueNums: Queues}, client.Target{}); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	if !testutil.Poll(readyTimeout, func() bool {
		r, err := adm.TopicRoute(ctx, topic)
		return err == nil && len(r.QueueDatas) > 0
	}) {
		t.Fatalf("no route for %s", topic)
	}
}

// BuildMQBench builds bin/mqbench into dir and returns its path.
func BuildMQBench(t *testing.T, b proctest.Binaries, dir string) string {
	t.Helper()
	return GoBuild(t, b.Root, "./bin/mqbench", filepath.Join(dir, "mqbench"))
}

// GoBuild runs `go build -o out pkg` in the module directory dir.
func GoBuild(t *testing.T, dir, pkg, out string) string {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s in %s: %v\n%s", pkg, dir, err, b)
	}
	return out
}

// Result is how a run of a program ended.
type Result struct {
	Code           int
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

// Run runs bin with args and env (added to proctest.Env()) until it exits, at most
// runTimeout.
func Run(t *testing.T, bin string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = proctest.Env(env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := Result{Code: cmd.ProcessState.ExitCode(), Stdout: o.String(), Stderr: e.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not exit within %v:\n%s", bin, args, runTimeout, r)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %v", bin, err)
	}
	return r
}

// Pull reads every queue of topic from offset 0 until they hold n messages in all and
// returns them.
func (c Cluster) Pull(t *testing.T, topic string, n int) []*message.Ext {
	t.Helper()
	var all []*message.Ext
	var last string
	ok := testutil.Poll(readyTimeout, func() bool {
		all = all[:0]
		for q := int32(0); q < Queues; q++ {
			h := header.PullMessageRequest{ConsumerGroup: "mqbench-check", Topic: topic, QueueID: q, MaxMsgNums: int32(n + 1),
				SysFlag: header.PullSubscription, Subscription: "*", ExpressionType: "TAG"}
			resp, err := proctest.Invoke(c.Broker, codec.NewRequest(code.PullMessage, h.Encode(), nil))
			switch {
			case err != nil:
				last = err.Error()
				return false
			case resp.Code == code.Success:
				for b := resp.Body; len(b) > 0; {
					m, k, err := message.DecodeRecord(b)
					if err != nil {
						t.Fatalf("pulled record of %s:%d: %v", topic, q, err)
					}
					all = append(all, m)
					b = b[k:]
				}
			default: // nothing yet in this queue
				last = fmt.Sprintf("queue %d: code %d remark %q", q, resp.Code, resp.Remark)
			}
		}
		return len(all) >= n
	})
	if !ok {
		t.Fatalf("pull %s: %d of %d messages within %v; last answer: %s", topic, len(all), n, readyTimeout, last)
	}
	return all
}

// CheckProduced checks that topic holds exactly n messages, each the producer mode's
// payload of size bytes, and that the producer's output said so.
func (c Cluster) CheckProduced(t *testing.T, r Result, topic string, n, size int) {
	t.Helper()
	if r.Code != 0 || !strings.Contains(r.Stdout, "[summary] Send TPS: ") ||
		!strings.Contains(r.Stdout, fmt.Sprintf(" Messages: %d Failed sends: 0 ", n)) || strings.Contains(r.Stderr, "Send Failed") {
		t.Fatalf("producer run:\n%s", r)
	}
	msgs := c.Pull(t, topic, n)
	if len(msgs) != n {
		t.Fatalf("%s holds %d messages, want %d", topic, len(msgs), n)
	}
	want := bench.Payload(size)
	for i, m := range msgs {
		if m.Topic != topic || !bytes.Equal(m.Body, want) {
			t.Fatalf("message %d: topic %s body %q, want %s %q", i, m.Topic, m.Body, topic, want)
		}
	}
}

// CheckConsumed checks that a consumer run ended well having consumed n messages.
func CheckConsumed(t *testing.T, r Result, n int) {
	t.Helper()
	if r.Code != 0 || !strings.Contains(r.Stdout, "[summary] Consume TPS: ") ||
		!strings.Contains(r.Stdout, fmt.Sprintf(" Messages: %d ", n)) {
		t.Fatalf("consumer run, want %d messages:\n%s", n, r)
	}
}

// CheckEverySendFailed checks that a producer run in which no send succeeded exited
// with status 1, said why each send failed (reason, the text expected in it), and
// stored nothing.
func CheckEverySendFailed(t *testing.T, r Result, sends int, reason string) {
	t.Helper()
	if r.Code != 1 || !strings.Contains(r.Stdout, fmt.Sprintf(" Messages: 0 Failed sends: %d ", sends)) ||
		!strings.Contains(r.Stderr, fmt.Sprintf("[summary] Send Failed reason (%d, first at ", sends)) ||
		!strings.Contains(r.Stderr, reason) ||
		!strings.Contains(r.Stderr, fmt.Sprintf("every send failed (%d sends; first reason: ", sends)) {
		t.Fatalf("producer run, want exit 1 and %d failed sends for %q:\n%s", sends, reason, r)
	}
}
