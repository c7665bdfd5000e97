package broker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/clients"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// regEnv is a broker on 127.0.0.1:0 with a hand-driven clock, and a client to talk to it.
type regEnv struct {
	t     *testing.T
	b     *Broker
	clock *testutil.Clock
	cli   *transport.Client
}

// startRegistryBroker opens and starts a broker in a temp dir; mod adjusts its options.
func startRegistryBroker(t *testing.T, mod func(*Options)) *regEnv {
	t.Helper()
	clock := testutil.NewClock()
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.AdvertiseIP = "127.0.0.1"
	o.NamesrvAddrs = nil
	o.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	o.Now = clock.Now
	if mod != nil {
		mod(&o)
	}
	so := store.DefaultOptions()
	so.Dir = t.TempDir()
	so.CommitLogSegmentBytes = 1 << 20
	so.ConsumeQueueUnits = 1024
	so.DiskWarnRatio, so.DiskMaxRatio = 1, 1 // a full test disk must not refuse appends
	b, err := Open(o, so)
	if err != nil {
		t.Fatalf("open broker: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		b.Close()
		t.Fatalf("start broker: %v", err)
	}
	e := &regEnv{t: t, b: b, clock: clock, cli: newTestClient(t)}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return e
}

func newTestClient(t *testing.T) *transport.Client {
	t.Helper()
	c := transport.NewClient(transport.ClientOptions{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	t.Cleanup(func() { c.Close() })
	return c
}

// call sends one request with cli and returns the answer.
func (e *regEnv) call(cli *transport.Client, reqCode int32, ext map[string]string, payload []byte) *codec.Command {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Invoke(ctx, e.b.Addr(), codec.NewRequest(reqCode, ext, payload))
	if err != nil {
		e.t.Fatalf("request %d: %v", reqCode, err)
	}
	return resp
}

// heartbeat sends a HEART_BEAT for clientID running consumer groups (subscribed to
// topics) and producer groups, and checks it is accepted.
func (e *regEnv) heartbeat(cli *transport.Client, clientID string, consumers []string, topics []string, producers ...string) {
	e.t.Helper()
	hb := &body.HeartbeatData{ClientID: clientID}
	for _, g := range consumers {
		cd := body.ConsumerData{GroupName: g, ConsumeType: body.ConsumePassively, MessageModel: body.Clustering,
			ConsumeFromWhere: body.ConsumeFromFirstOffset}
		for _, tp := range append([]string{"%RETRY%" + g}, topics...) {
			cd.SubscriptionDataSet = append(cd.SubscriptionDataSet, body.SubscriptionData{Topic: tp, SubString: "*", ExpressionType: body.ExpressionTag, SubVersion: 1})
		}
		hb.ConsumerDataSet = append(hb.ConsumerDataSet, cd)
	}
	for _, g := range producers {
		hb.ProducerDataSet = append(hb.ProducerDataSet, body.ProducerData{GroupName: g})
	}
	if resp := e.call(cli, code.HeartBeat, nil, hb.Encode()); resp.Code != code.Success {
		e.t.Fatalf("heartbeat: code %d remark %q", resp.Code, resp.Remark)
	}
}

func (e *regEnv) consumerList(cli *transport.Client, group string) (int32, []string) {
	e.t.Helper()
	resp := e.call(cli, code.GetConsumerListByGroup, map[string]string{"consumerGroup": group}, nil)
	if len(resp.Body) == 0 {
		e.t.Fatalf("consumer list of %s: no body (code %d)", group, resp.Code)
	}
	l, err := body.DecodeConsumerList(resp.Body)
	if err != nil {
		e.t.Fatalf("consumer list body %q: %v", resp.Body, err)
	}
	return resp.Code, l.ConsumerIDList
}

func TestHeartbeatMalformedBody(t *testing.T) {
	e := startRegistryBroker(t, nil)
	for _, bad := range []string{"{not json", "", `{"clientID":""}`, `[1,2]`} {
		resp := e.call(e.cli, code.HeartBeat, nil, []byte(bad))
		if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "heartbeat") {
			t.Fatalf("heartbeat %q: got code %d remark %q, want SYSTEM_ERROR naming the heartbeat", bad, resp.Code, resp.Remark)
		}
	}
	// The same connection keeps being served.
	e.heartbeat(e.cli, "10.0.0.5@1", []string{"cg"}, []string{"T"})
	if c, ids := e.consumerList(e.cli, "cg"); c != code.Success || !slices.Equal(ids, []string{"10.0.0.5@1"}) {
		t.Fatalf("after bad heartbeats: code %d ids %v", c, ids)
	}
}

func TestHeartbeatCreatesRetryTopic(t *testing.T) {
	e := startRegistryBroker(t, nil)
	if _, ok := e.b.topics.Get("%RETRY%cg"); ok {
		t.Fatal("retry topic exists before any heartbeat")
	}
	e.heartbeat(e.cli, "10.0.0.5@1", []string{"cg"}, []string{"T"}, "pg")
	tc, ok := e.b.topics.Get("%RETRY%cg")
	if !ok {
		t.Fatal("heartbeat did not create the retry topic")
	}
	if tc.GetReadQueueNums() != 1 || tc.GetWriteQueueNums() != 1 || tc.GetPerm() != body.PermRead|body.PermWrite {
		t.Fatalf("retry topic: got %v, want 1 queue, perm 6", tc)
	}
	if _, ok := e.b.groups.Get("cg"); !ok {
		t.Fatal("heartbeat did not create the subscription group")
	}
	// It also shows in GET_ALL_TOPIC_CONFIG.
	resp := e.call(e.cli, code.GetAllTopicConfig, nil, nil)
	w, err := body.DecodeTopicConfigSerializeWrapper(resp.Body)
	if err != nil || resp.Code != code.Success {
		t.Fatalf("GET_ALL_TOPIC_CONFIG: code %d, %v", resp.Code, err)
	}
	if _, ok := w.TopicConfigTable["%RETRY%cg"]; !ok {
		t.Fatalf("GET_ALL_TOPIC_CONFIG lacks %%RETRY%%cg: %v", w.TopicConfigTable)
	}
	// The subscription is what pulls of a Go push consumer rely on.
	if s, ok := e.b.clients.Subscription("cg", "T"); !ok || s.SubString != "*" {
		t.Fatalf("Subscription(cg, T): %+v, %v", s, ok)
	}
	if conns := e.b.clients.ProducerConns("pg"); len(conns) != 1 {
		t.Fatalf("ProducerConns(pg): got %d, want 1", len(conns))
	}
}

func TestHeartbeatGroupAutoCreateOff(t *testing.T) {
	e := startRegistryBroker(t, func(o *Options) { o.AutoCreateSubscriptionGroup = false })
	e.heartbeat(e.cli, "10.0.0.5@1", []string{"cg"}, []string{"T"})
	if _, ok := e.b.topics.Get("%RETRY%cg"); ok {
		t.Fatal("retry topic created for a group that does not exist")
	}
	if _, ids := e.consumerList(e.cli, "cg"); !slices.Equal(ids, []string{"10.0.0.5@1"}) {
		t.Fatalf("consumer not registered: %v", ids)
	}
}

func TestConsumerListExactIDs(t *testing.T) {
	e := startRegistryBroker(t, nil)
	other := newTestClient(t)
	e.heartbeat(e.cli, "10.0.0.6@456@unitA", []string{"cg"}, []string{"T"})
	e.heartbeat(other, "10.0.0.5@123", []string{"cg"}, []string{"T"})
	c, ids := e.consumerList(e.cli, "cg")
	if c != code.Success || !slices.Equal(ids, []string{"10.0.0.5@123", "10.0.0.6@456@unitA"}) {
		t.Fatalf("consumer list: code %d ids %q", c, ids)
	}
	resp := e.call(e.cli, code.GetConsumerListByGroup, map[string]string{"consumerGroup": "nobody"}, nil)
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "no consumer for this group") ||
		string(resp.Body) != `{"consumerIdList":[]}` {
		t.Fatalf("empty group: code %d remark %q body %s", resp.Code, resp.Remark, resp.Body)
	}
	// A missing header key is refused with a remark, not a crash.
	if resp := e.call(e.cli, code.GetConsumerListByGroup, nil, nil); resp.Code != code.SystemError || resp.Remark == "" {
		t.Fatalf("missing consumerGroup: code %d remark %q", resp.Code, resp.Remark)
	}
}

// notifications collects the NOTIFY_CONSUMER_IDS_CHANGED requests a client receives.
func notifications(cli *transport.Client) <-chan string {
	ch := make(chan string, 64)
	cli.Handle(code.NotifyConsumerIDsChanged, func(_ string, req *codec.Command) *codec.Command {
		ch <- req.ExtFields["consumerGroup"]
		return nil
	})
	return ch
}

func expectNotify(t *testing.T, ch <-chan string, group, why string) {
	t.Helper()
	select {
	case g := <-ch:
		if g != group {
			t.Fatalf("%s: notified for %q, want %q", why, g, group)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no NOTIFY_CONSUMER_IDS_CHANGED within 5s", why)
	}
}

func drain(ch <-chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestNotifyConsumerIDsChanged(t *testing.T) {
	e := startRegistryBroker(t, nil)
	first := newTestClient(t)
	got := notifications(first)
	e.heartbeat(first, "10.0.0.1@1", []string{"cg"}, []string{"T"})
	expectNotify(t, got, "cg", "own join")

	second := newTestClient(t)
	e.heartbeat(second, "10.0.0.2@2", []string{"cg"}, []string{"T"})
	expectNotify(t, got, "cg", "second member joined")

	// A repeated heartbeat changes nothing; then the second member's connection closes.
	e.heartbeat(second, "10.0.0.2@2", []string{"cg"}, []string{"T"})
	second.Close()
	expectNotify(t, got, "cg", "second member's connection closed")
	drain(got)
	if _, ids := e.consumerList(first, "cg"); !slices.Equal(ids, []string{"10.0.0.1@1"}) {
		t.Fatalf("after close: ids %v", ids)
	}
}

func TestClientExpiryWithInjectedClock(t *testing.T) {
	e := startRegistryBroker(t, nil)
	watcher := newTestClient(t)
	got := notifications(watcher)
	e.heartbeat(watcher, "10.0.0.1@1", []string{"cg"}, []string{"T"})
	silent := newTestClient(t)
	e.heartbeat(silent, "10.0.0.2@2", []string{"cg"}, []string{"T"}, "pg")
	drain(got)

	e.clock.Advance(100 * time.Second)
	e.heartbeat(watcher, "10.0.0.1@1", []string{"cg"}, []string{"T"})
	e.clock.Advance(21 * time.Second) // the silent client: 121 s without a heartbeat
	e.b.clients.Sweep()

	expectNotify(t, got, "cg", "expiry of the silent member")
	if _, ids := e.consumerList(watcher, "cg"); !slices.Equal(ids, []string{"10.0.0.1@1"}) {
		t.Fatalf("after expiry: ids %v", ids)
	}
	if conns := e.b.clients.ProducerConns("pg"); len(conns) != 0 {
		t.Fatalf("expired producer still registered: %d", len(conns))
	}
}

func TestUnregisterClient(t *testing.T) {
	e := startRegistryBroker(t, nil)
	e.heartbeat(e.cli, "10.0.0.1@1", []string{"cg"}, []string{"T"}, "pg")
	resp := e.call(e.cli, code.UnregisterClient, map[string]string{"clientID": "10.0.0.1@1", "consumerGroup": "cg", "producerGroup": "pg"}, nil)
	if resp.Code != code.Success {
		t.Fatalf("unregister: code %d %q", resp.Code, resp.Remark)
	}
	if _, ids := e.consumerList(e.cli, "cg"); len(ids) != 0 {
		t.Fatalf("after unregister: ids %v", ids)
	}
	if conns := e.b.clients.ProducerConns("pg"); len(conns) != 0 {
		t.Fatalf("after unregister: %d producer conns", len(conns))
	}
	if resp := e.call(e.cli, code.UnregisterClient, nil, nil); resp.Code != code.SystemError {
		t.Fatalf("unregister without clientID: code %d", resp.Code)
	}
}

func TestCheckClientConfig(t *testing.T) {
	e := startRegistryBroker(t, nil)
	ok := `{"clientId":"c","group":"g","subscriptionData":{"topic":"T","subString":"*","expressionType":"TAG"}}`
	if resp := e.call(e.cli, code.CheckClientConfig, nil, []byte(ok)); resp.Code != code.Success {
		t.Fatalf("TAG: code %d %q", resp.Code, resp.Remark)
	}
	sql := `{"clientId":"c","group":"g","subscriptionData":{"topic":"T","subString":"a > 1","expressionType":"SQL92"}}`
	if resp := e.call(e.cli, code.CheckClientConfig, nil, []byte(sql)); resp.Code != code.SystemError || !strings.Contains(resp.Remark, "SQL92") {
		t.Fatalf("SQL92: code %d %q", resp.Code, resp.Remark)
	}
	if resp := e.call(e.cli, code.CheckClientConfig, nil, []byte("{")); resp.Code != code.SystemError {
		t.Fatalf("bad body: code %d", resp.Code)
	}
}

func BenchmarkHeartbeatRegister(b *testing.B) {
	tab := clients.New(clients.Deps{Expiry: time.Minute, Log: zerolog.Nop()})
	conn := new(server.Conn)
	hb := readHeartbeatGolden(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(hb)))
	for b.Loop() {
		h, err := body.DecodeHeartbeat(hb)
		if err != nil {
			b.Fatal(err)
		}
		ch := clients.Channel{ClientID: h.ClientID, Language: "GO", Version: 317}
		for i := range h.ConsumerDataSet {
			tab.RegisterConsumer(conn, &h.ConsumerDataSet[i], ch)
		}
		for _, p := range h.ProducerDataSet {
			tab.RegisterProducer(conn, p.GroupName, ch)
		}
	}
}

func readHeartbeatGolden(b *testing.B) []byte {
	b.Helper()
	return []byte(`{"clientID":"10.0.0.5@12345","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"TopicA","subString":"tagA || tagB","tagsSet":["tagA","tagB"],"codeSet":["3552231","3552232"],"subVersion":1795546259088859958,"expressionType":"TAG"},{"classFilterMode":false,"topic":"%RETRY%cg","subString":"*","tagsSet":[],"codeSet":[],"subVersion":1795546259088862702,"expressionType":"TAG"}],"unitMode":false}]}`)
}
