package schedule

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// child is one run of mqbroker -standalone (NameServer and broker in one process).
type child struct {
	*proctest.Proc
	ns, broker string
}

// startChild runs mqbroker on store dir with short delay levels and small files, on
// fresh ports, and waits until the NameServer routes to the broker: a producer can
// then resolve a route (auto-created through TBW102).
func startChild(t *testing.T, bin proctest.Binaries, dir string) *child {
	t.Helper()
	c := &child{}
	c.Proc = proctest.Launch(t, func() proctest.Spec {
		c.ns, c.broker = proctest.FreeAddr(t), proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: bin.Broker,
			Args: []string{"-standalone", "-c", "", "-store", dir, "-listen", c.broker, "-brokerIP1", "127.0.0.1", "-loglevel", "warn"},
			Env: []string{
				"ROCKETGO_NAMESRV_LISTENADDR=" + c.ns,
				proctest.AnyHAPort, // no slaves here: any free port, never listen port + 1
				"ROCKETGO_BROKER_MESSAGEDELAYLEVEL=1s 2s 3s",
				"ROCKETGO_STORE_MAPPEDFILESIZECOMMITLOG=16777216",
				"ROCKETGO_STORE_CONSUMEQUEUEUNITSPERFILE=10000",
			}}
	}, func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(c.ns, c.broker); return ok })
	return c
}

// TestScheduledExactlyOnceAcrossKill9 sends delay-level and timer messages to a real
// mqbroker process, kills it with SIGKILL twice while they are being delivered,
// restarts it on the same store each time, and checks that every scheduled message
// reaches its topic exactly once, none before its time.
func TestScheduledExactlyOnceAcrossKill9(t *testing.T) {
	bin := proctest.Build(t)
	t.Parallel()
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
		if !testutil.Poll(30*time.Second, func() bool { return len(delivered(addr)) >= n }) {
			t.Fatalf("%d of %d messages delivered on %s", len(delivered(addr)), n, addr)
		}
	}

	// First kill: some delivered, most not.
	waitDelivered(b.broker, 4)
	b.Kill()
	b = startChild(t, bin, dir)
	// Second kill, mid-way through the rest.
	waitDelivered(b.broker, 13)
	b.Kill()
	b = startChild(t, bin, dir)
	waitDelivered(b.broker, len(want))
	// A sentinel due after everything: once it is here, any duplicate would be too.
	sendRaw(t, pl, b.broker, topic, "sentinel", map[string]string{message.PropTimerDelayMS: "1500"})
	if !testutil.Poll(30*time.Second, func() bool {
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
