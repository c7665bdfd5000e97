package pop

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

const (
	topic  = "PopCrashT"
	group  = "PopCrashG"
	queues = 4
)

// child is one run of mqbroker -standalone.
type child struct {
	*proctest.Proc
	ns, broker string
}

func startChild(t *testing.T, bin proctest.Binaries, dir string) *child {
	t.Helper()
	c := &child{}
	c.Proc = proctest.Launch(t, func() proctest.Spec {
		c.ns, c.broker = proctest.FreeAddr(t), proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: bin.Broker,
			Args: []string{"-standalone", "-c", "", "-store", dir, "-listen", c.broker, "-brokerIP1", "127.0.0.1", "-loglevel", "warn"},
			Env:  append([]string{"ROCKETGO_NAMESRV_LISTENADDR=" + c.ns, proctest.AnyHAPort}, proctest.SmallStore...)}
	}, func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(c.ns, c.broker); return ok })
	return c
}

func call(t *testing.T, addr string, c int32, ext map[string]string, b []byte) *codec.Command {
	t.Helper()
	resp, err := proctest.Invoke(addr, codec.NewRequest(c, ext, b))
	if err != nil {
		t.Fatalf("request %d to %s: %v", c, addr, err)
	}
	return resp
}

// delivery is one popped message.
type delivery struct {
	body    string
	queueID int32
	offset  int64
	reTimes int32
}

// popOnce pops up to 32 messages from any queue, waiting up to poll for one.
func popOnce(t *testing.T, addr string, invisible, poll time.Duration) (header.PopMessageResponse, []delivery) {
	t.Helper()
	h := header.PopMessageRequest{ConsumerGroup: group, Topic: topic, QueueID: -1, MaxMsgNums: 32,
		InvisibleTime: invisible.Milliseconds(), PollTime: poll.Milliseconds(), BornTime: time.Now().UnixMilli(), InitMode: 1}
	resp := call(t, addr, code.PopMessage, h.Encode(), nil)
	var ph header.PopMessageResponse
	if resp.Code == code.PollingTimeout {
		return ph, nil
	}
	if resp.Code != code.Success {
		t.Fatalf("pop: code %d %q", resp.Code, resp.Remark)
	}
	if err := ph.Decode(resp.ExtFields); err != nil {
		t.Fatalf("pop header: %v", err)
	}
	var out []delivery
	for b := resp.Body; len(b) > 0; {
		m, n, err := message.DecodeRecord(b)
		if err != nil {
			t.Fatalf("pop body: %v", err)
		}
		out = append(out, delivery{body: string(m.Body), queueID: m.QueueID, offset: m.QueueOffset, reTimes: m.ReconsumeTimes})
		b = b[n:]
	}
	return ph, out
}

// batchAck acknowledges ds, all from the pop answered with ph.
func batchAck(t *testing.T, addr string, ph header.PopMessageResponse, ds []delivery) {
	t.Helper()
	if len(ds) == 0 {
		return
	}
	byQueue := map[int32][]int64{}
	for _, d := range ds {
		byQueue[d.queueID] = append(byQueue[d.queueID], d.offset)
	}
	rb := body.BatchAckMessageRequestBody{BrokerName: "broker-a"}
	for q, offs := range byQueue {
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		a := body.BatchAck{ConsumerGroup: group, Topic: topic, Retry: "0", QueueID: q, PopTime: ph.PopTime, InvisibleTime: ph.InvisibleTime}
		a.SetOffsets(offs[0], offs)
		rb.Acks = append(rb.Acks, a)
	}
	if resp := call(t, addr, code.BatchAckMessage, nil, rb.Encode()); resp.Code != code.Success {
		t.Fatalf("batch ack: code %d %q", resp.Code, resp.Remark)
	}
}

// TestPopAcrossKill9 pops every message, acknowledges a random part, kills the broker
// with SIGKILL and restarts it: once the invisible time has passed, exactly the
// unacknowledged messages come back (each once, as a second attempt), and no
// acknowledged one does.
func TestPopAcrossKill9(t *testing.T) {
	bin := proctest.Build(t)
	n := 2000
	if os.Getenv("ROCKETGO_SOAK") == "1" {
		n = 10000
	}
	// Long enough to pop everything once on a loaded machine before the first expiry.
	invisible := 6*time.Second + time.Duration(n)*3*time.Millisecond
	dir := filepath.Join(t.TempDir(), "store")
	start := time.Now()
	b := startChild(t, bin, dir)
	ct := header.CreateTopicRequest{Topic: topic, DefaultTopic: "TBW102", ReadQueueNums: queues, WriteQueueNums: queues, Perm: 6, TopicFilterType: "SINGLE_TAG"}
	if resp := call(t, b.broker, code.UpdateAndCreateTopic, ct.Encode(), nil); resp.Code != code.Success {
		t.Fatalf("create topic: %d %q", resp.Code, resp.Remark)
	}
	for i := 0; i < n; i++ {
		h := header.SendMessageRequest{ProducerGroup: "pg", Topic: topic, DefaultTopic: "TBW102", DefaultTopicQueueNums: queues,
			QueueID: int32(i % queues), BornTimestamp: time.Now().UnixMilli()}
		if resp := call(t, b.broker, code.SendMessage, h.Encode(), []byte("m"+strconv.Itoa(i))); resp.Code != code.Success {
			t.Fatalf("send %d: %d %q", i, resp.Code, resp.Remark)
		}
	}

	// Pop everything once; acknowledge about half, chosen at random.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	got := map[string]int64{} // body → popTime of its first delivery
	acked := map[string]bool{}
	var firstPop time.Time
	testutil.Eventually(t, invisible, "every message popped once", func() bool {
		ph, ds := popOnce(t, b.broker, invisible, 0)
		if len(ds) > 0 && firstPop.IsZero() {
			firstPop = time.UnixMilli(ph.PopTime)
		}
		var ack []delivery
		for _, d := range ds {
			if first, ok := got[d.body]; ok {
				t.Fatalf("%s delivered again at %d (queue %d offset %d), popped first at %d: within its invisible time %v, or the test was too slow for it",
					d.body, ph.PopTime, d.queueID, d.offset, first, invisible)
			}
			got[d.body] = ph.PopTime
			if rng.IntN(2) == 0 {
				ack = append(ack, d)
				acked[d.body] = true
			}
		}
		batchAck(t, b.broker, ph, ack)
		return len(got) == n
	})
	lastVisible := time.Now().Add(invisible)
	popped := time.Since(start)
	t.Logf("%d popped, %d acknowledged, %d left in flight", n, len(acked), n-len(acked))

	b.Kill()
	b = startChild(t, bin, dir)

	// Before the invisible time nothing comes back (checked only while there is time
	// left before the first pop's expiry).
	if time.Until(firstPop.Add(invisible)) > time.Second {
		if _, ds := popOnce(t, b.broker, invisible, 0); len(ds) != 0 {
			t.Fatalf("%d messages visible again right after the restart, before their invisible time: first %+v", len(ds), ds[0])
		}
	}

	// After it, exactly the unacknowledged ones, each once, as their second attempt.
	back := map[string]int{}
	want := n - len(acked)
	deadline := lastVisible.Add(60 * time.Second)
	// Each POP long-polls: the broker answers when a delivery expires.
	collect := func(until time.Time) {
		for time.Now().Before(until) {
			ph, ds := popOnce(t, b.broker, time.Hour, min(time.Until(until), 5*time.Second))
			for _, d := range ds {
				back[d.body]++
				if d.reTimes != 1 {
					t.Errorf("%s came back with reconsume times %d, want 1", d.body, d.reTimes)
				}
			}
			batchAck(t, b.broker, ph, ds)
			if len(back) == want && until.Equal(deadline) {
				return
			}
		}
	}
	collect(deadline)
	restarted := time.Since(start)
	// Then keep popping until every original invisible time has passed: nothing acked
	// may appear, nor anything twice.
	collect(lastVisible.Add(2 * time.Second))
	t.Logf("sent and popped in %v, all back %v after the start, done at %v", popped, restarted, time.Since(start))
	var lost, resurrected, twice []string
	for body := range got {
		switch {
		case !acked[body] && back[body] == 0:
			lost = append(lost, body)
		case acked[body] && back[body] > 0:
			resurrected = append(resurrected, body)
		case back[body] > 1:
			twice = append(twice, body)
		}
	}
	if len(lost)+len(resurrected)+len(twice) > 0 {
		t.Fatalf("after SIGKILL: %d unacked lost %v, %d acked came back %v, %d came back twice %v",
			len(lost), head(lost), len(resurrected), head(resurrected), len(twice), head(twice))
	}
	if len(back) != want {
		t.Fatalf("%d came back, want %d", len(back), want)
	}
}

func head(s []string) string {
	sort.Strings(s)
	if len(s) > 10 {
		s = s[:10]
	}
	return fmt.Sprint(s)
}
