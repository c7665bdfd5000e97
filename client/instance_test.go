package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// testInstance acquires an instance of its own for a test.
func testInstance(t *testing.T, opts ...Option) *instance {
	t.Helper()
	o := defaultClientOptions()
	o.instanceName = uniqueInstance(t)
	o.logger = testLogger(t)
	for _, fn := range opts {
		fn(&o)
	}
	c, err := acquireInstance(o)
	if err != nil {
		t.Fatalf("acquire instance: %v", err)
	}
	t.Cleanup(c.release)
	return c
}

// settleHeartbeats waits until the background heartbeat rounds asked for so far
// (heartbeatSoon) have been sent: none is queued any more, and the round that took the
// queued request has released hbMu.
func settleHeartbeats(t *testing.T, c *instance) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "the queued heartbeat to start", func() bool { return !c.hbPending.Load() })
	// Taking the lock once is the wait: the round that cleared hbPending holds it
	// until it has sent everything.
	c.hbMu.Lock()
	c.hbMu.Unlock()
}

func TestHeartbeatTargets(t *testing.T) {
	ns := startFakeNamesrv(t)
	master := startFakeBroker(t, "broker-a")
	slave := startFakeBroker(t, "broker-a-slave")
	ns.putRoute("T", &body.TopicRouteData{
		QueueDatas:  []body.QueueData{{BrokerName: "broker-a", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}},
		BrokerDatas: []body.BrokerData{{Cluster: "C", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: master.addr, 1: slave.addr}}},
	})
	c := testInstance(t, WithNameServer(ns.addr))
	ctx := context.Background()
	if err := c.sendHeartbeat(ctx); err != nil {
		t.Fatalf("heartbeat without groups: %v", err)
	}
	if _, err := c.route(ctx, "T"); err != nil {
		t.Fatal(err)
	}
	// The route introduced two brokers, which queued a greeting heartbeat in the
	// background. Let it finish before counting heartbeats: run late, it would announce
	// groups registered below and add to the counts of the explicit rounds.
	settleHeartbeats(t, c)
	if n := len(master.requests(code.HeartBeat)) + len(slave.requests(code.HeartBeat)); n != 0 {
		t.Fatalf("%d heartbeats sent with no group registered", n)
	}
	c.registerProducer("PG")
	c.registerProducer("PG")
	if err := c.sendHeartbeat(ctx); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	hbs := master.requests(code.HeartBeat)
	if len(hbs) == 0 {
		t.Fatal("master got no heartbeat")
	}
	hb, err := body.DecodeHeartbeat(hbs[len(hbs)-1].Body)
	if err != nil {
		t.Fatal(err)
	}
	if hb.ClientID != c.clientID || len(hb.ProducerDataSet) != 1 || hb.ProducerDataSet[0].GroupName != "PG" || len(hb.ConsumerDataSet) != 0 {
		t.Fatalf("heartbeat: %+v", hb)
	}
	if n := len(slave.requests(code.HeartBeat)); n != 0 {
		t.Fatalf("producer-only client sent %d heartbeats to a slave", n)
	}
	// With a consumer group, every member hears from the client.
	if err := c.registerConsumer("CG", func() body.ConsumerData {
		return body.ConsumerData{GroupName: "CG", ConsumeType: body.ConsumePassively, MessageModel: body.Clustering,
			ConsumeFromWhere: body.ConsumeFromLastOffset, SubscriptionDataSet: []body.SubscriptionData{{Topic: "T", SubString: "*"}}}
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.registerConsumer("CG", nil); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("duplicate consumer group: %v", err)
	}
	if err := c.sendHeartbeat(ctx); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	shb := slave.requests(code.HeartBeat)
	if len(shb) != 1 {
		t.Fatalf("slave got %d heartbeats, want 1", len(shb))
	}
	hb, _ = body.DecodeHeartbeat(shb[0].Body)
	if len(hb.ConsumerDataSet) != 1 || hb.ConsumerDataSet[0].GroupName != "CG" || hb.ConsumerDataSet[0].SubscriptionDataSet[0].Topic != "T" {
		t.Fatalf("consumer heartbeat: %+v", hb)
	}
	// One unregister of two producers keeps the group; the second removes it.
	c.unregisterProducer("PG")
	if hb, _ := c.heartbeatData(); len(hb.ProducerDataSet) != 1 {
		t.Fatal("group dropped while a producer remains")
	}
	c.unregisterProducer("PG")
	c.unregisterConsumer("CG")
	if hb, has := c.heartbeatData(); len(hb.ProducerDataSet) != 0 || has {
		t.Fatalf("groups left: %+v", hb)
	}
	// A refusing broker is reported.
	master.setAnswer(func(req *codec.Command) *codec.Command { return req.NewResponse(code.SystemError, "no") })
	c.registerProducer("PG")
	if err := c.sendHeartbeat(ctx); err == nil {
		t.Fatal("refused heartbeat not reported")
	} else if cd, _ := CodeOf(err); cd != code.SystemError {
		t.Fatalf("heartbeat error %v", err)
	}
}

func TestHeartbeatOnNewBroker(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 1, b)
	p := startProducer(t, ns.addr, WithProducerGroup("PG"))
	if _, err := p.Send(context.Background(), NewMessage("T", []byte("m"))); err != nil {
		t.Fatal(err)
	}
	// The route fetch of the first send introduced broker-a: it is greeted at once, not
	// after the 30 s heartbeat period.
	testutil.Eventually(t, 5*time.Second, "heartbeat to the new broker", func() bool { return len(b.requests(code.HeartBeat)) > 0 })
}

func TestNamesrvFailover(t *testing.T) {
	dead := startFakeNamesrv(t)
	_ = dead.srv.Close()
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 2, b)
	c := testInstance(t, WithNameServer(dead.addr+";"+ns.addr))
	r, err := c.route(context.Background(), "T")
	if err != nil {
		t.Fatalf("route through second namesrv: %v", err)
	}
	if len(r.QueueDatas) != 1 || r.QueueDatas[0].WriteQueueNums != 2 {
		t.Fatalf("route %+v", r)
	}
	if c.nsNext.Load() != 1 {
		t.Fatalf("next namesrv index %d, want 1 (the one that answered)", c.nsNext.Load())
	}
	// Both down: the error names every address.
	_ = ns.srv.Close()
	if _, err := c.fetchRoute(context.Background(), "T"); err == nil {
		t.Fatal("no error with every namesrv down")
	}
}

func TestRouteBadBodies(t *testing.T) {
	ns := startFakeNamesrv(t)
	c := testInstance(t, WithNameServer(ns.addr))
	for topic, raw := range map[string]string{
		"garbage": "not json",
		"empty":   "",
		"nulls":   `{"queueDatas":null,"brokerDatas":[{"brokerName":"a","brokerAddrs":{"x":"1"}}]}`,
	} {
		ns.mu.Lock()
		ns.raw[topic] = []byte(raw)
		ns.mu.Unlock()
		if _, err := c.route(context.Background(), topic); !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s: got %v, want ErrBadResponse", topic, err)
		}
	}
	if _, err := c.route(context.Background(), "missing"); !errors.Is(err, ErrTopicNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func TestRouteRefresh(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	ns.setRoute("T", 2, a)
	c := testInstance(t, WithNameServer(ns.addr))
	changes := make(chan *body.TopicRouteData, 8)
	remove := c.onRouteChange(func(topic string, r *body.TopicRouteData) {
		if topic == "T" {
			changes <- r
		}
	})
	defer remove()
	ctx := context.Background()
	qs, err := c.subscribeQueues(ctx, "T")
	if err != nil || len(qs) != 2 {
		t.Fatalf("queues %v %v", qs, err)
	}
	<-changes // the first fetch is a change
	c.refreshRoutes(ctx)
	select {
	case r := <-changes:
		t.Fatalf("unchanged route reported: %+v", r)
	default:
	}
	ns.setRoute("T", 2, a, b)
	c.refreshRoutes(ctx)
	if r := <-changes; len(r.BrokerDatas) != 2 {
		t.Fatalf("changed route: %+v", r)
	}
	if qs, _ := c.subscribeQueues(ctx, "T"); len(qs) != 4 || qs[2].BrokerName != "broker-b" {
		t.Fatalf("queues after refresh: %v", qs)
	}
	if c.masterAddr("broker-b") != b.addr {
		t.Fatal("broker-b address not learnt")
	}
	ns.putRoute("T", nil)
	c.refreshRoutes(ctx)
	if r := <-changes; r != nil {
		t.Fatalf("deleted topic reported as %+v", r)
	}
	if c.cachedRoute("T") != nil {
		t.Fatal("deleted topic still cached")
	}
	c.forgetOfflineBrokers()
	if c.masterAddr("broker-a") != "" {
		t.Fatal("broker of no route still known")
	}
}

func TestBrokerAddrFallback(t *testing.T) {
	c := testInstance(t, WithNameServer("127.0.0.1:1"))
	c.addBrokers(&body.TopicRouteData{BrokerDatas: []body.BrokerData{
		{BrokerName: "a", BrokerAddrs: map[int64]string{0: "m:1", 1: "s1:1", 2: "s2:1"}},
		{BrokerName: "b", BrokerAddrs: map[int64]string{2: "b2:1", 3: "b3:1"}},
	}})
	cases := []struct {
		name     string
		id       int64
		onlyThis bool
		addr     string
		gotID    int64
		ok       bool
	}{
		{"a", 1, true, "s1:1", 1, true},
		{"a", 5, true, "", 0, false},
		{"a", 5, false, "m:1", 0, true},
		{"b", 0, false, "b2:1", 2, true},
		{"b", 1, false, "b2:1", 2, true},
		{"b", 2, false, "b2:1", 2, true},
		{"x", 0, false, "", 0, false},
	}
	for _, cs := range cases {
		addr, id, ok := c.brokerAddr(cs.name, cs.id, cs.onlyThis)
		if addr != cs.addr || id != cs.gotID || ok != cs.ok {
			t.Errorf("brokerAddr(%s, %d, %v): got %s %d %v, want %s %d %v", cs.name, cs.id, cs.onlyThis, addr, id, ok, cs.addr, cs.gotID, cs.ok)
		}
	}
	if c.masterAddr("b") != "" || c.masterAddr("a") != "m:1" {
		t.Fatal("masterAddr")
	}
	if got := c.brokerAddrs(true); !slices.Equal(got, []string{"m:1"}) {
		t.Fatalf("masters: %v", got)
	}
	if got := c.brokerAddrs(false); len(got) != 5 {
		t.Fatalf("all: %v", got)
	}
}

func TestInstanceSharedAndReleased(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 1, b)
	name := uniqueInstance(t)
	p1 := startProducer(t, ns.addr, WithInstanceName(name), WithProducerGroup("G1"))
	p2 := startProducer(t, ns.addr, WithInstanceName(name), WithProducerGroup("G2"))
	if p1.inst != p2.inst {
		t.Fatal("producers with one identity do not share the instance")
	}
	other := startProducer(t, ns.addr) // another instance name
	if other.inst == p1.inst {
		t.Fatal("different instance names share an instance")
	}
	ctx := context.Background()
	if err := p1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Send(ctx, NewMessage("T", []byte("m"))); err != nil {
		t.Fatalf("send after the other sharer shut down: %v", err)
	}
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !p2.inst.closed.Load() {
		t.Fatal("instance not closed after its last user")
	}
}

func TestHandlersDispatch(t *testing.T) {
	c := testInstance(t, WithNameServer("127.0.0.1:1"))
	var calls atomic.Int32
	rm1 := c.handle(code.NotifyConsumerIDsChanged, func(string, *codec.Command) *codec.Command {
		calls.Add(1)
		return nil
	})
	c.handle(code.NotifyConsumerIDsChanged, func(_ string, req *codec.Command) *codec.Command {
		calls.Add(10)
		return req.NewResponse(code.Success, "second")
	})
	req := codec.NewRequest(code.NotifyConsumerIDsChanged, nil, nil)
	if resp := c.dispatch(code.NotifyConsumerIDsChanged, "x", req); resp == nil || resp.Remark != "second" || calls.Load() != 11 {
		t.Fatalf("dispatch: %v, calls %d", resp, calls.Load())
	}
	rm1()
	if resp := c.dispatch(code.NotifyConsumerIDsChanged, "x", req); resp == nil || calls.Load() != 21 {
		t.Fatalf("after removal: calls %d", calls.Load())
	}
	if resp := c.dispatch(code.CheckTransactionState, "x", req); resp != nil {
		t.Fatal("no handler answered")
	}
}

func TestSignature(t *testing.T) {
	ext := map[string]string{"topic": "T", "AccessKey": "ak", "queueId": "1", "Signature": "stale"}
	got := acl.Sign(ext, []byte("body"), "sk")
	mac := hmac.New(sha1.New, []byte("sk"))
	mac.Write([]byte("ak" + "1" + "T" + "body")) // values by key: AccessKey, queueId, topic
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("signature: got %s, want %s", got, want)
	}
	c := testInstance(t, WithNameServer("127.0.0.1:1"), WithCredentials(Credentials{AccessKey: "ak", SecretKey: "sk", SecurityToken: "tok"}))
	req := codec.NewRequest(code.SendMessage, map[string]string{"topic": "T"}, []byte("b"))
	c.sign(req)
	if req.ExtFields["AccessKey"] != "ak" || req.ExtFields["SecurityToken"] != "tok" ||
		req.ExtFields["Signature"] != acl.Sign(req.ExtFields, req.Body, "sk") {
		t.Fatalf("signed ext: %v", req.ExtFields)
	}
}

func TestClientID(t *testing.T) {
	o := defaultClientOptions()
	o.clientIP = "10.1.2.3"
	if id := clientIDOf(&o); id != "10.1.2.3@"+strconv.Itoa(os.Getpid()) {
		t.Fatalf("default id %q", id)
	}
	o.instanceName, o.unitName = "inst", "unit"
	if id := clientIDOf(&o); id != "10.1.2.3@inst@unit" {
		t.Fatalf("named id %q", id)
	}
}

func TestShutdownLeavesNoGoroutines(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	ns.setRoute("T", 2, a, b)
	ctx := context.Background()
	// Warm up the fakes so their goroutines exist before the baseline.
	warm := startProducer(t, ns.addr)
	for i := 0; i < 4; i++ {
		if _, err := warm.Send(ctx, NewMessage("T", []byte("w"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := warm.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	base := stableGoroutines(t, -1)

	p, err := NewProducer(WithNameServer(ns.addr), WithInstanceName(uniqueInstance(t)),
		WithHeartbeatInterval(10*time.Millisecond), WithRouteRefreshInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 64)
	for i := 0; i < 32; i++ {
		if _, err := p.Send(ctx, NewMessage("T", []byte("m"))); err != nil {
			t.Fatal(err)
		}
		if err := p.SendAsync(ctx, func(*SendResult, error) { done <- struct{}{} }, NewMessage("T", []byte("a"))); err != nil {
			t.Fatal(err)
		}
		if err := p.SendOneway(ctx, NewMessage("T", []byte("o"))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 32; i++ {
		<-done
	}
	testutil.Eventually(t, 5*time.Second, "periodic heartbeats", func() bool { return len(a.requests(code.HeartBeat))+len(b.requests(code.HeartBeat)) > 4 })
	if runtime.NumGoroutine() <= base {
		t.Fatalf("a running producer adds no goroutines (%d <= %d): the test would prove nothing", runtime.NumGoroutine(), base)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stableGoroutines(t, base)
}

// stableGoroutines waits until the goroutine count is at most want (any stable count
// when want < 0) and returns it; it fails the test if that does not happen in 5 s.
func stableGoroutines(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	prev := -1
	for {
		n := runtime.NumGoroutine()
		if want >= 0 && n <= want {
			return n
		}
		if want < 0 && n == prev {
			return n
		}
		prev = n
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, want <= %d\n%s", n, want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}
