package broker

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// startAdminBroker is startRegistryBroker with the store on the same hand-advanced
// clock, so store timestamps are exact.
func startAdminBroker(t *testing.T) *regEnv {
	t.Helper()
	clock := testutil.NewClock()
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.AdvertiseIP = "127.0.0.1"
	o.NamesrvAddrs = nil
	o.BrokerName = "broker-a"
	o.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	o.Now = clock.Now
	so := store.DefaultOptions()
	so.Dir = t.TempDir()
	so.CommitLogSegmentBytes = 1 << 20
	so.ConsumeQueueUnits = 1024
	so.DiskWarnRatio, so.DiskMaxRatio = 1, 1
	so.Now = clock.Now
	b, err := Open(o, so)
	if err != nil {
		t.Fatalf("open broker: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		b.Close()
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return &regEnv{t: t, b: b, clock: clock, cli: newTestClient(t)}
}

// fillTopic creates topic with two queues and puts n messages on each queue, one clock
// second apart, returning each message's store time by queue.
func fillTopic(e *regEnv, topic string, n int) [2][]int64 {
	e.t.Helper()
	if err := e.b.topics.Put(meta.NewTopicConfig(topic, 2, 2, body.PermRead|body.PermWrite)); err != nil {
		e.t.Fatal(err)
	}
	var times [2][]int64
	for i := 0; i < n; i++ {
		for q := int32(0); q < 2; q++ {
			e.clock.Advance(time.Second)
			e.putMessage(topic, q, nil, "m")
			times[q] = append(times[q], e.clock.Now().UnixMilli())
		}
	}
	waitMaxOffset(e.t, e, topic, 0, int64(n))
	waitMaxOffset(e.t, e, topic, 1, int64(n))
	return times
}

// mq is a queue of broker-a.
func mq(topic string, q int32) body.MessageQueue {
	return body.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: q}
}

// TestInvokeResetOffsetNotOnline: without a live consumer 222 answers CONSUMER_NOT_ONLINE
// with Apache's remark and changes nothing; an unknown topic or group is SYSTEM_ERROR.
func TestInvokeResetOffsetNotOnline(t *testing.T) {
	e := startAdminBroker(t)
	fillTopic(e, "RT", 3)
	for q := int32(0); q < 2; q++ {
		if err := e.b.offsets.Commit("g", "RT", q, 3); err != nil {
			t.Fatal(err)
		}
	}
	h := header.ResetOffsetRequest{Topic: "RT", Group: "g", Timestamp: 0, IsForce: true}
	resp := e.call(e.cli, code.InvokeBrokerToResetOffset, h.Encode(), nil)
	if resp.Code != code.ConsumerNotOnline || resp.Remark != "Consumer not online, so can not reset offset, Group: g Topic: RT Timestamp: 0" {
		t.Fatalf("not online: code %d %q", resp.Code, resp.Remark)
	}
	if off, _ := e.b.offsets.Get("g", "RT", 0); off != 3 {
		t.Fatalf("offset changed to %d without a live consumer", off)
	}
	// A live group without a committed offset on the topic is refused, as in Apache.
	newFakeConsumer(e, "10.0.0.9@1", "fresh", "RT", "")
	h.Group = "fresh"
	wantCode(t, "group without offsets", e.call(e.cli, code.InvokeBrokerToResetOffset, h.Encode(), nil), code.SystemError, "THe consumer group <fresh> not exist")
	h.Topic = "NOPE"
	wantCode(t, "unknown topic", e.call(e.cli, code.InvokeBrokerToResetOffset, h.Encode(), nil), code.SystemError, "no topic in this broker. topic=NOPE")
}

// fakeConsumer is a client connection registered as a consumer of group that records
// the broker's RESET_CONSUMER_CLIENT_OFFSET pushes and answers
// GET_CONSUMER_STATUS_FROM_CLIENT with a fixed body.
type fakeConsumer struct {
	cli    *transport.Client
	mu     sync.Mutex
	resets []*codec.Command
}

func newFakeConsumer(e *regEnv, clientID, group, topic string, status string) *fakeConsumer {
	f := &fakeConsumer{cli: newTestClient(e.t)}
	f.cli.Handle(code.ResetConsumerClientOffset, func(_ string, req *codec.Command) *codec.Command {
		f.mu.Lock()
		f.resets = append(f.resets, req)
		f.mu.Unlock()
		return nil
	})
	f.cli.Handle(code.GetConsumerStatusFromClient, func(_ string, req *codec.Command) *codec.Command {
		resp := req.NewResponse(code.Success, "")
		resp.Body = []byte(status)
		return resp
	})
	e.heartbeat(f.cli, clientID, []string{group}, []string{topic})
	return f
}

func (f *fakeConsumer) pushes() []*codec.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*codec.Command(nil), f.resets...)
}

// TestInvokeResetOffsetOnline: 222 with live consumers computes each write queue's
// offset for the timestamp (isForce false never moves a queue forward), commits it and
// pushes the table oneway as 220 to every connection, and answers the table.
func TestInvokeResetOffsetOnline(t *testing.T) {
	e := startAdminBroker(t)
	times := fillTopic(e, "RT", 4)
	if err := e.b.offsets.Commit("g", "RT", 0, 4); err != nil {
		t.Fatal(err)
	}
	if err := e.b.offsets.Commit("g", "RT", 1, 1); err != nil {
		t.Fatal(err)
	}
	c1 := newFakeConsumer(e, "10.0.0.1@1", "g", "RT", "")
	c2 := newFakeConsumer(e, "10.0.0.2@1", "g", "RT", "")

	// The third message of each queue: queue 0 goes back to 2; queue 1 (committed 1)
	// would move forward to 2 and, without isForce, stays at 1.
	h := header.ResetOffsetRequest{Topic: "RT", Group: "g", Timestamp: times[0][2], IsForce: false}
	resp := e.call(e.cli, code.InvokeBrokerToResetOffset, h.Encode(), nil)
	if resp.Code != code.Success {
		t.Fatalf("reset: code %d %q", resp.Code, resp.Remark)
	}
	want := `{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"RT"}:2,{"brokerName":"broker-a","queueId":1,"topic":"RT"}:1}}`
	if string(resp.Body) != want {
		t.Fatalf("reset answer:\n got %s\nwant %s", resp.Body, want)
	}
	for q, wantOff := range []int64{2, 1} {
		if off, _ := e.b.offsets.Get("g", "RT", int32(q)); off != wantOff {
			t.Errorf("queue %d committed %d, want %d", q, off, wantOff)
		}
	}
	for i, c := range []*fakeConsumer{c1, c2} {
		testutil.Eventually(t, 5*time.Second, "reset push", func() bool { return len(c.pushes()) == 1 })
		p := c.pushes()[0]
		var ph header.ResetOffsetRequest
		if err := ph.Decode(p.ExtFields); err != nil || ph.Topic != "RT" || ph.Group != "g" || ph.Timestamp != times[0][2] {
			t.Errorf("consumer %d push header %v: %v", i, p.ExtFields, err)
		}
		if p.Flag&code.FlagOneway == 0 || string(p.Body) != want {
			t.Errorf("consumer %d push: flag %d body %s", i, p.Flag, p.Body)
		}
	}

	// isForce moves queue 1 forward; timestamp -1 is every queue's max.
	h.IsForce = true
	resp = e.call(e.cli, code.InvokeBrokerToResetOffset, h.Encode(), nil)
	rb, err := body.DecodeResetOffsetBody(resp.Body)
	if err != nil || rb.OffsetTable[mq("RT", 0)] != 2 || rb.OffsetTable[mq("RT", 1)] != 2 {
		t.Fatalf("forced reset: %s (%v)", resp.Body, err)
	}
	h.Timestamp = -1
	resp = e.call(e.cli, code.InvokeBrokerToResetOffset, h.Encode(), nil)
	if rb, err = body.DecodeResetOffsetBody(resp.Body); err != nil || rb.OffsetTable[mq("RT", 0)] != 4 || rb.OffsetTable[mq("RT", 1)] != 4 {
		t.Fatalf("reset to max: %s (%v)", resp.Body, err)
	}
	if off, _ := e.b.offsets.Get("g", "RT", 1); off != 4 {
		t.Fatalf("after skipping, queue 1 committed %d, want 4", off)
	}
}

// TestInvokeGetConsumerStatus: 223 asks each live client 221 and collects the answers by
// client id (the official Go client's form decodes); clientAddr picks one client.
func TestInvokeGetConsumerStatus(t *testing.T) {
	e := startAdminBroker(t)
	fillTopic(e, "ST", 1)
	newFakeConsumer(e, "10.0.0.1@1", "g", "ST", `{"messageQueueTable":{{"topic":"ST","brokerName":"broker-a","queueId":0}:7}}`)
	newFakeConsumer(e, "10.0.0.2@1", "g", "ST", `{"messageQueueTable":{{"topic":"ST","brokerName":"broker-a","queueId":1}:9}}`)
	h := header.GetConsumerStatusRequest{Topic: "ST", Group: "g"}
	resp := e.call(e.cli, code.InvokeBrokerToGetConsumerStatus, h.Encode(), nil)
	want := `{"consumerTable":{"10.0.0.1@1":{{"brokerName":"broker-a","queueId":0,"topic":"ST"}:7},"10.0.0.2@1":{{"brokerName":"broker-a","queueId":1,"topic":"ST"}:9}},"messageQueueTable":{}}`
	if resp.Code != code.Success || string(resp.Body) != want {
		t.Fatalf("status: code %d %q\n got %s\nwant %s", resp.Code, resp.Remark, resp.Body, want)
	}
	h.ClientAddr = "10.0.0.2@1"
	st, err := body.DecodeGetConsumerStatusBody(e.call(e.cli, code.InvokeBrokerToGetConsumerStatus, h.Encode(), nil).Body)
	if err != nil || len(st.ConsumerTable) != 1 || st.ConsumerTable["10.0.0.2@1"][mq("ST", 1)] != 9 {
		t.Fatalf("one client's status: %+v (%v)", st, err)
	}
	h = header.GetConsumerStatusRequest{Topic: "ST", Group: "idle"}
	wantCode(t, "no consumer", e.call(e.cli, code.InvokeBrokerToGetConsumerStatus, h.Encode(), nil), code.SystemError,
		"No Any Consumer online in the consumer group: [idle]")
}

// TestCloneGroupOffset: 314 copies the source group's committed offsets, for one topic
// or all of them, leaving other topics alone.
func TestCloneGroupOffset(t *testing.T) {
	e := startAdminBroker(t)
	fillTopic(e, "CA", 1)
	fillTopic(e, "CB", 1)
	for topic, offs := range map[string][2]int64{"CA": {1, 0}, "CB": {1, 1}} {
		for q, off := range offs {
			if err := e.b.offsets.Commit("src", topic, int32(q), off); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := header.CloneGroupOffsetRequest{SrcGroup: "src", DestGroup: "one", Topic: "CA"}
	wantCode(t, "clone CA", e.call(e.cli, code.CloneGroupOffset, h.Encode(), nil), code.Success, "")
	h = header.CloneGroupOffsetRequest{SrcGroup: "src", DestGroup: "all"}
	wantCode(t, "clone all", e.call(e.cli, code.CloneGroupOffset, h.Encode(), nil), code.Success, "")
	for _, c := range []struct {
		group, topic string
		q            int32
		want         int64
		ok           bool
	}{
		{"one", "CA", 0, 1, true}, {"one", "CA", 1, 0, true}, {"one", "CB", 0, 0, false},
		{"all", "CA", 0, 1, true}, {"all", "CB", 0, 1, true}, {"all", "CB", 1, 1, true},
	} {
		if off, ok := e.b.offsets.Get(c.group, c.topic, c.q); off != c.want || ok != c.ok {
			t.Errorf("%s on %s/%d: %d %t, want %d %t", c.group, c.topic, c.q, off, ok, c.want, c.ok)
		}
	}
}

// TestBrokerConsumeStats: 317 lists every subscription group with a ConsumeStats per
// topic it has offsets on, and the broker's total lag.
func TestBrokerConsumeStats(t *testing.T) {
	e := startAdminBroker(t)
	times := fillTopic(e, "BT", 3)
	for _, g := range []string{"g1", "g2"} {
		if _, err := e.b.groups.Ensure(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.b.offsets.Commit("g1", "BT", 0, 2); err != nil {
		t.Fatal(err)
	}
	resp := e.call(e.cli, code.GetBrokerConsumeStats, (&header.GetConsumeStatsInBrokerRequest{}).Encode(), nil)
	l, err := body.DecodeConsumeStatsList(resp.Body)
	if resp.Code != code.Success || err != nil {
		t.Fatalf("broker consume stats: code %d %q (%v)", resp.Code, resp.Remark, err)
	}
	if l.BrokerAddr != e.b.Addr() || l.TotalDiff != 4 {
		t.Fatalf("brokerAddr %q totalDiff %d, want %q 4", l.BrokerAddr, l.TotalDiff, e.b.Addr())
	}
	var g1 *body.GroupConsumeStats
	for i := range l.List {
		if l.List[i].Group == "g1" {
			g1 = &l.List[i]
		}
		if l.List[i].Group == "g2" && len(l.List[i].Stats) != 0 {
			t.Errorf("g2 without offsets has stats %+v", l.List[i].Stats)
		}
	}
	if g1 == nil || len(g1.Stats) != 1 {
		t.Fatalf("g1: %+v", g1)
	}
	w0, w1 := g1.Stats[0].OffsetTable[mq("BT", 0)], g1.Stats[0].OffsetTable[mq("BT", 1)]
	if w0 != (body.OffsetWrapper{BrokerOffset: 3, ConsumerOffset: 2, LastTimestamp: times[0][1]}) || w1 != (body.OffsetWrapper{BrokerOffset: 3}) {
		t.Fatalf("g1 rows: %+v %+v", w0, w1)
	}
	if !strings.Contains(string(resp.Body), `"consumeStatsList":[{"g1":[{"consumeTps":`) {
		t.Fatalf("body not in Apache's shape: %s", resp.Body)
	}
	// Only order topics: BT is not one.
	resp = e.call(e.cli, code.GetBrokerConsumeStats, (&header.GetConsumeStatsInBrokerRequest{IsOrder: true}).Encode(), nil)
	if l, err = body.DecodeConsumeStatsList(resp.Body); err != nil || l.TotalDiff != 0 {
		t.Fatalf("order only: %s (%v)", resp.Body, err)
	}
}

// TestQueryConsumeQueue: 321 returns the raw units from the index on, the queue's min
// and max, and a named group's online state.
func TestQueryConsumeQueue(t *testing.T) {
	e := startAdminBroker(t)
	fillTopic(e, "QT", 3)
	h := header.QueryConsumeQueueRequest{Topic: "QT", QueueID: 1, Index: 1, Count: 5, ConsumerGroup: "g"}
	resp := e.call(e.cli, code.QueryConsumeQueue, h.Encode(), nil)
	q, err := body.DecodeQueryConsumeQueueResponseBody(resp.Body)
	if resp.Code != code.Success || err != nil {
		t.Fatalf("query cq: code %d %q (%v)", resp.Code, resp.Remark, err)
	}
	if q.MinQueueIndex != 0 || q.MaxQueueIndex != 3 || len(q.QueueData) != 2 || q.FilterData != "g@QT is not online!" || q.SubscriptionData != nil {
		t.Fatalf("query cq: %+v", q)
	}
	for i, d := range q.QueueData {
		want, ok := e.b.store.ConsumeQueueUnits("QT", 1, int64(1+i), 1)
		if !ok || d.PhysicOffset != want.Units[0].Offset || d.PhysicSize != want.Units[0].Size || d.TagsCode != 0 {
			t.Errorf("unit %d: %+v, store has %+v", 1+i, d, want)
		}
		rec, err := e.b.store.ReadRecord(d.PhysicOffset)
		if err != nil || int32(len(rec)) != d.PhysicSize {
			t.Errorf("unit %d does not point at a record of its size: %v", 1+i, err)
		}
	}
	h.Index = 3
	wantCode(t, "past the end", e.call(e.cli, code.QueryConsumeQueue, h.Encode(), nil), code.Success, "Index 3 of 1@QT is not exist!")
	h.QueueID = 7
	wantCode(t, "no queue", e.call(e.cli, code.QueryConsumeQueue, h.Encode(), nil), code.SystemError, "7@QT is not exist!")
}

// TestViewBrokerStatsData: 315 reports TOPIC_PUT_NUMS per topic and GROUP_GET_NUMS per
// topic@group over the minute window: sum, per-second rate between the samples and
// average per call.
func TestViewBrokerStatsData(t *testing.T) {
	e := startAdminBroker(t)
	// Six messages at one clock instant, dispatched before the clock moves, so the
	// window spans exactly the 10 s advanced below.
	if err := e.b.topics.Put(meta.NewTopicConfig("VT", 1, 1, body.PermRead|body.PermWrite)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		e.putMessage("VT", 0, nil, "m")
	}
	waitMaxOffset(t, e, "VT", 0, 6)
	e.heartbeat(e.cli, "10.0.0.1@1", []string{"vg"}, []string{"VT"})
	resp := e.call(e.cli, code.PullMessage, pullReq("vg", "VT", 0, 0).Encode(), nil)
	if resp.Code != code.Success {
		t.Fatalf("pull: %d %q", resp.Code, resp.Remark)
	}
	e.clock.Advance(10 * time.Second)
	e.b.bstats.Sample()
	for _, c := range []struct {
		name, key string
		want      body.BrokerStatsItem
	}{
		{"TOPIC_PUT_NUMS", "VT", body.BrokerStatsItem{Sum: 6, Tps: 0.6, Avgpt: 1}},
		{"GROUP_GET_NUMS", "VT@vg", body.BrokerStatsItem{Sum: 6, Tps: 0.6, Avgpt: 6}},
	} {
		h := header.ViewBrokerStatsDataRequest{StatsName: c.name, StatsKey: c.key}
		resp := e.call(e.cli, code.ViewBrokerStatsData, h.Encode(), nil)
		d, err := body.DecodeBrokerStatsData(resp.Body)
		if resp.Code != code.Success || err != nil {
			t.Fatalf("%s: code %d %q (%v)", c.name, resp.Code, resp.Remark, err)
		}
		if d.StatsMinute != c.want {
			t.Errorf("%s %s minute: %+v, want %+v", c.name, c.key, d.StatsMinute, c.want)
		}
	}
	h := header.ViewBrokerStatsDataRequest{StatsName: "TOPIC_PUT_NUMS", StatsKey: "NOPE"}
	wantCode(t, "unknown", e.call(e.cli, code.ViewBrokerStatsData, h.Encode(), nil), code.SystemError, "The stats <TOPIC_PUT_NUMS> <NOPE> not exist")
}

// TestCleanUnusedTopicAndExpiredCQ: 316 deletes the queues of a topic without config and
// keeps configured and system ones; 306 keeps queues whose records are still stored.
func TestCleanUnusedTopicAndExpiredCQ(t *testing.T) {
	e := startAdminBroker(t)
	fillTopic(e, "KEEP", 1)
	fillTopic(e, "GONE", 1)
	if err := e.b.topics.Delete("GONE"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "clean unused", e.call(e.cli, code.CleanUnusedTopic, nil, nil), code.Success, "")
	if qs := e.b.store.Queues("GONE"); len(qs) != 0 {
		t.Errorf("GONE still has queues %v", qs)
	}
	if e.b.store.MaxOffset("KEEP", 1) != 1 {
		t.Errorf("KEEP lost its queue")
	}
	wantCode(t, "clean expired", e.call(e.cli, code.CleanExpiredConsumeQueue, nil, nil), code.Success, "")
	if u, ok := e.b.store.ConsumeQueueUnits("KEEP", 0, 0, 1); !ok || len(u.Units) != 1 {
		t.Errorf("KEEP's live unit went: %+v", u)
	}
}

// TestVIPChannel: the broker also serves at a second, reported port (listenPort - 2,
// kernel-chosen here), every route but PULL_MESSAGE, as Apache's fastRemotingServer.
func TestVIPChannel(t *testing.T) {
	e := startAdminBroker(t)
	fillTopic(e, "VIP", 1)
	vip := e.b.VIPAddr()
	if vip == "" || vip == e.b.Addr() {
		t.Fatalf("VIP address %q (main %q)", vip, e.b.Addr())
	}
	call := func(c int32, ext map[string]string) *codec.Command {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := e.cli.Invoke(ctx, vip, codec.NewRequest(c, ext, nil))
		if err != nil {
			t.Fatalf("request %d on the VIP channel: %v", c, err)
		}
		return resp
	}
	resp := call(code.GetMaxOffset, map[string]string{"topic": "VIP", "queueId": "0"})
	var oh header.OffsetResponse
	if resp.Code != code.Success || oh.Decode(resp.ExtFields) != nil || oh.Offset != 1 {
		t.Fatalf("GET_MAX_OFFSET on the VIP channel: code %d %v", resp.Code, resp.ExtFields)
	}
	wantCode(t, "pull on the VIP channel", call(code.PullMessage, pullReq("g", "VIP", 0, 0).Encode()), code.RequestCodeNotSupported, "")
}

// TestVIPListenAddr: listenPort - 2, a kernel-chosen port for port 0, refused below 3;
// an embedding program's VIPAddr instead, when it is an address.
func TestVIPListenAddr(t *testing.T) {
	for _, c := range []struct{ listen, vip, want, err string }{
		{"0.0.0.0:10911", "", "0.0.0.0:10909", ""},
		{"127.0.0.1:0", "", "127.0.0.1:0", ""},
		{"0.0.0.0:2", "", "", "leaves no room"},
		{"127.0.0.1:40000", "127.0.0.1:36079", "127.0.0.1:36079", ""},
		{"127.0.0.1:40000", "36079", "", "VIP channel address \"36079\""},
	} {
		o := DefaultOptions()
		o.ListenAddr, o.VIPAddr = c.listen, c.vip
		got, err := o.VIPListenAddr()
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %q %v, want %q %q", c.listen, got, err, c.want, c.err)
		}
	}
}

// TestVIPPortTaken: a broker whose VIP port (listenPort - 2) is taken refuses to start,
// naming the channel and the address (the process harness retries on "address already
// in use").
func TestVIPPortTaken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	listen := fmt.Sprintf("127.0.0.1:%d", port+2)
	if ln, err := net.Listen("tcp", listen); err != nil {
		t.Skipf("%s is taken by someone else: %v", listen, err)
	} else {
		ln.Close()
	}
	o := DefaultOptions()
	o.ListenAddr = listen
	o.NamesrvAddrs = nil
	o.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	so := store.DefaultOptions()
	so.Dir = t.TempDir()
	so.CommitLogSegmentBytes = 1 << 20
	so.ConsumeQueueUnits = 1024
	so.DiskWarnRatio, so.DiskMaxRatio = 1, 1
	b, err := Open(o, so)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "VIP channel listen on "+held.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start with the VIP port taken: %v", err)
	}
}
