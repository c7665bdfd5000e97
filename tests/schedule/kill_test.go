package schedule

import (
	"bytes"
	"context"
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

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// buildBroker builds bin/mqbroker into a temporary directory.
func buildBroker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mqbroker")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/rocketgo/rocketgo/bin/mqbroker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build mqbroker: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a port that was free a moment ago on 127.0.0.1.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// child is one run of mqbroker -standalone (NameServer and broker in one process).
type child struct {
	cmd        *exec.Cmd
	ns, broker string
	log        *syncBuffer
	exited     chan struct{}
}

// startChild runs mqbroker on store dir with short delay levels and small files, and
// waits until the broker answers. A port taken between choosing it and the child's
// bind gets a second and third try with new ports.
func startChild(t *testing.T, bin, dir string) *child {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c, inUse := tryStartChild(t, bin, dir)
		if c != nil {
			return c
		}
		if !inUse || attempt == 3 {
			t.Fatalf("mqbroker did not start")
		}
	}
}

// tryStartChild is one attempt of startChild; it returns nil and whether a port was
// in use when the child exited at start.
func tryStartChild(t *testing.T, bin, dir string) (*child, bool) {
	t.Helper()
	c := &child{ns: "127.0.0.1:" + freePort(t), broker: "127.0.0.1:" + freePort(t), log: &syncBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "-standalone", "-c", "", "-store", dir, "-listen", c.broker, "-brokerIP1", "127.0.0.1", "-loglevel", "warn")
	c.cmd.Env = append(os.Environ(),
		"ROCKETGO_NAMESRV_LISTENADDR="+c.ns,
		"ROCKETGO_BROKER_HALISTENPORT=-1", // no slaves here: any free port, never listen port + 1
		"ROCKETGO_BROKER_MESSAGEDELAYLEVEL=1s 2s 3s",
		"ROCKETGO_STORE_MAPPEDFILESIZECOMMITLOG=16777216",
		"ROCKETGO_STORE_CONSUMEQUEUEUNITSPERFILE=10000",
	)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start mqbroker: %v", err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.kill(t)
		if t.Failed() {
			t.Logf("mqbroker output (%s):\n%s", c.broker, c.log.String())
		}
	})
	rc := transport.NewClient(transport.ClientOptions{DialTimeout: time.Second})
	defer rc.Close()
	ok := cluster.Eventually(30*time.Second, func() bool {
		select {
		case <-c.exited:
			return true
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		// Ready means routable: the broker answers and its registration has reached the
		// NameServer, so a producer can resolve a route (auto-created through TBW102).
		resp, err := rc.Invoke(ctx, c.ns, codec.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": "TBW102"}, nil))
		return err == nil && resp.Code == code.Success && strings.Contains(string(resp.Body), c.broker)
	})
	select {
	case <-c.exited:
		out := c.log.String()
		if strings.Contains(out, "address already in use") {
			return nil, true
		}
		t.Logf("mqbroker exited at start:\n%s", out)
		return nil, false
	default:
	}
	if !ok {
		t.Fatalf("mqbroker on %s not answering after 30 s:\n%s", c.broker, c.log.String())
	}
	return c, false
}

// syncBuffer is a bytes.Buffer safe to write from the child's output copier while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *child) kill(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("mqbroker did not exit after SIGKILL")
	}
}

// TestScheduledExactlyOnceAcrossKill9 sends delay-level and timer messages to a real
// mqbroker process, kills it with SIGKILL twice while they are being delivered,
// restarts it on the same store each time, and checks that every scheduled message
// reaches its topic exactly once, none before its time.
func TestScheduledExactlyOnceAcrossKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a broker process")
	}
	t.Parallel()
	bin := buildBroker(t)
	dir := filepath.Join(t.TempDir(), "store")
	const topic, queues = "KillT", 2
	b := startChild(t, bin, dir)
	pl := newPuller(t)
	createTopic(t, pl, b.broker, topic, queues)

	p := startProducer(t, b.ns)
	want := map[string]time.Time{} // body → earliest allowed arrival
	for i := 1; i <= 12; i++ {
		body := fmt.Sprintf("timer-%02d", i)
		d := time.Duration(i) * 350 * time.Millisecond
		want[body] = time.Now().Add(d)
		send(t, p, client.NewMessage(topic, []byte(body)).WithDeliverDelay(d))
	}
	for i := 0; i < 9; i++ {
		level := i%3 + 1
		body := fmt.Sprintf("level%d-%d", level, i)
		want[body] = time.Now().Add(time.Duration(level) * time.Second)
		send(t, p, client.NewMessage(topic, []byte(body)).WithDelayLevel(level))
	}
	delivered := func(addr string) []*message.Ext { return pl.all(addr, topic, queues, "*", "TAG") }
	waitDelivered := func(addr string, n int) {
		t.Helper()
		if !cluster.Eventually(30*time.Second, func() bool { return len(delivered(addr)) >= n }) {
			t.Fatalf("%d of %d messages delivered on %s", len(delivered(addr)), n, addr)
		}
	}

	// First kill: some delivered, most not.
	waitDelivered(b.broker, 4)
	b.kill(t)
	b = startChild(t, bin, dir)
	// Second kill, mid-way through the rest.
	waitDelivered(b.broker, 13)
	b.kill(t)
	b = startChild(t, bin, dir)
	waitDelivered(b.broker, len(want))
	// A sentinel due after everything: once it is here, any duplicate would be too.
	sendRaw(t, pl, b.broker, topic, "sentinel", map[string]string{message.PropTimerDelayMS: "1500"})
	if !cluster.Eventually(30*time.Second, func() bool {
		for _, m := range delivered(b.broker) {
			if string(m.Body) == "sentinel" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("sentinel not delivered")
	}

	seen := map[string]int{}
	for _, m := range delivered(b.broker) {
		seen[string(m.Body)]++
		if earliest, ok := want[string(m.Body)]; ok && time.UnixMilli(m.StoreTimestamp).Before(earliest.Add(-time.Millisecond)) {
			t.Errorf("%s stored at %v, before its due time %v", m.Body, time.UnixMilli(m.StoreTimestamp), earliest)
		}
	}
	var bad []string
	for body := range want {
		if seen[body] != 1 {
			bad = append(bad, fmt.Sprintf("%s×%d", body, seen[body]))
		}
	}
	if len(bad) > 0 || len(seen) != len(want)+1 {
		t.Fatalf("not exactly once: %s (%d distinct bodies, want %d)", strings.Join(bad, " "), len(seen), len(want)+1)
	}
}

// createTopic creates topic on the broker at addr (UPDATE_AND_CREATE_TOPIC).
func createTopic(t *testing.T, pl *puller, addr, topic string, queues int32) {
	t.Helper()
	h := header.CreateTopicRequest{Topic: topic, DefaultTopic: "TBW102", ReadQueueNums: queues, WriteQueueNums: queues,
		Perm: 6, TopicFilterType: "SINGLE_TAG"}
	resp, err := pl.call(addr, code.UpdateAndCreateTopic, h.Encode())
	if err != nil || resp.Code != code.Success {
		t.Fatalf("create topic %s: %v %+v", topic, err, resp)
	}
}

// sendRaw sends one message with SEND_MESSAGE straight to the broker at addr.
func sendRaw(t *testing.T, pl *puller, addr, topic, body string, props map[string]string) {
	t.Helper()
	h := header.SendMessageRequest{ProducerGroup: "raw", Topic: topic, DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
		QueueID: 0, BornTimestamp: time.Now().UnixMilli(), Properties: message.EncodeProperties(props)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := pl.rc.Invoke(ctx, addr, codec.NewRequest(code.SendMessage, h.Encode(), []byte(body)))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("send %s: %v %+v", body, err, resp)
	}
}
