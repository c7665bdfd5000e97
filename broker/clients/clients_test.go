package clients

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// notifyLog records the notifications and closes a client table asks for.
type notifyLog struct {
	mu     sync.Mutex
	sent   []notification
	closed []*server.Conn
}

type notification struct {
	group string
	conns []*server.Conn
}

func (n *notifyLog) take() []notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.sent
	n.sent = nil
	return out
}

type clientFixture struct {
	clock *testutil.Clock
	log   *notifyLog
	tab   *Table
	// disabled groups do not want notifications
	disabled map[string]bool
}

func newClientFixture(t *testing.T) *clientFixture {
	t.Helper()
	f := &clientFixture{clock: testutil.NewClock(), log: &notifyLog{}, disabled: map[string]bool{}}
	f.tab = New(Deps{
		Now:    f.clock.Now,
		Expiry: 120 * time.Second,
		Log:    zerolog.New(zerolog.NewTestWriter(t)),
		Notify: func(group string, conns []*server.Conn) {
			f.log.mu.Lock()
			f.log.sent = append(f.log.sent, notification{group, conns})
			f.log.mu.Unlock()
		},
		NotifyEnabled: func(group string) bool { return !f.disabled[group] },
		CloseConn: func(c *server.Conn) {
			f.log.mu.Lock()
			f.log.closed = append(f.log.closed, c)
			f.log.mu.Unlock()
		},
	})
	return f
}

func consumerData(group string, subs ...body.SubscriptionData) *body.ConsumerData {
	return &body.ConsumerData{
		GroupName: group, ConsumeType: body.ConsumePassively, MessageModel: body.Clustering,
		ConsumeFromWhere: body.ConsumeFromLastOffset, SubscriptionDataSet: subs,
	}
}

func sub(topic string, version int64) body.SubscriptionData {
	return body.SubscriptionData{Topic: topic, SubString: "*", ExpressionType: body.ExpressionTag, SubVersion: version}
}

func chanOf(id string) Channel {
	return Channel{ClientID: id, Language: "GO", Version: 317, Addr: "127.0.0.1:1"}
}

// sameConns reports whether got holds exactly want, in any order.
func sameConns(got, want []*server.Conn) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

func expectNotified(t *testing.T, f *clientFixture, group string, want ...*server.Conn) {
	t.Helper()
	sent := f.log.take()
	if len(sent) != 1 || sent[0].group != group || !sameConns(sent[0].conns, want) {
		t.Fatalf("notifications: got %+v, want one for %s to %d conns", sent, group, len(want))
	}
}

func expectQuiet(t *testing.T, f *clientFixture) {
	t.Helper()
	if sent := f.log.take(); len(sent) != 0 {
		t.Fatalf("notifications: got %+v, want none", sent)
	}
}

func TestClientTableMembershipNotifies(t *testing.T) {
	f := newClientFixture(t)
	c1, c2 := new(server.Conn), new(server.Conn)

	if !f.tab.RegisterConsumer(c1, consumerData("g", sub("T", 1)), chanOf("10.0.0.2@2")) {
		t.Fatal("first member: RegisterConsumer reported no change")
	}
	expectNotified(t, f, "g", c1)

	f.tab.RegisterConsumer(c2, consumerData("g", sub("T", 1)), chanOf("10.0.0.1@1"))
	expectNotified(t, f, "g", c1, c2)

	// A repeated heartbeat changes nothing and stays quiet.
	if f.tab.RegisterConsumer(c1, consumerData("g", sub("T", 1)), chanOf("10.0.0.2@2")) {
		t.Fatal("repeat heartbeat reported a change")
	}
	expectQuiet(t, f)

	if got, want := f.tab.ConsumerIDs("g"), []string{"10.0.0.1@1", "10.0.0.2@2"}; !slices.Equal(got, want) {
		t.Fatalf("ConsumerIDs: got %v, want %v", got, want)
	}
	if got := f.tab.ConsumerIDs("other"); len(got) != 0 {
		t.Fatalf("ConsumerIDs of unknown group: got %v", got)
	}

	f.tab.OnConnClose(c1)
	expectNotified(t, f, "g", c2)
	if got := f.tab.ConsumerIDs("g"); !slices.Equal(got, []string{"10.0.0.1@1"}) {
		t.Fatalf("ConsumerIDs after close: got %v", got)
	}

	f.tab.UnregisterConsumer(c2, "g")
	expectQuiet(t, f) // nobody is left to tell
	if _, ok := f.tab.ConsumeFromWhere("g"); ok {
		t.Fatal("group still present after its last member left")
	}
}

func TestClientTableSubscriptions(t *testing.T) {
	f := newClientFixture(t)
	c1, c2 := new(server.Conn), new(server.Conn)
	f.tab.RegisterConsumer(c1, consumerData("g", sub("A", 1)), chanOf("a@1"))
	f.tab.RegisterConsumer(c2, consumerData("g", sub("A", 1)), chanOf("b@2"))
	f.log.take()

	// A new topic is a change: queues of the group change.
	f.tab.RegisterConsumer(c1, consumerData("g", sub("A", 1), sub("B", 1)), chanOf("a@1"))
	expectNotified(t, f, "g", c1, c2)

	// A newer version of a known topic replaces it without a notification.
	newer := sub("A", 5)
	newer.SubString, newer.TagsSet, newer.CodeSet = "x||y", []string{"x", "y"}, body.CodeSet{"120", "121"}
	f.tab.RegisterConsumer(c1, consumerData("g", newer, sub("B", 1)), chanOf("a@1"))
	expectQuiet(t, f)
	got, ok := f.tab.Subscription("g", "A")
	if !ok || got.SubVersion != 5 || got.SubString != "x||y" || !slices.Equal(got.TagsSet, []string{"x", "y"}) {
		t.Fatalf("Subscription(A): got %+v, %v", got, ok)
	}
	// An older version does not roll it back.
	f.tab.RegisterConsumer(c2, consumerData("g", sub("A", 3), sub("B", 1)), chanOf("b@2"))
	if got, _ := f.tab.Subscription("g", "A"); got.SubVersion != 5 {
		t.Fatalf("Subscription(A) after older heartbeat: version %d, want 5", got.SubVersion)
	}
	// Dropping a topic is a change.
	f.tab.RegisterConsumer(c1, consumerData("g", newer), chanOf("a@1"))
	expectNotified(t, f, "g", c1, c2)
	if _, ok := f.tab.Subscription("g", "B"); ok {
		t.Fatal("Subscription(B) still present after it was dropped")
	}
	if cfw, ok := f.tab.ConsumeFromWhere("g"); !ok || cfw != body.ConsumeFromLastOffset {
		t.Fatalf("ConsumeFromWhere: got %q, %v", cfw, ok)
	}
	// The registry keeps its own copy: the caller's slice can change.
	newer.TagsSet[0] = "mutated"
	if got, _ := f.tab.Subscription("g", "A"); got.TagsSet[0] != "x" {
		t.Fatalf("registry shares the caller's tags: %v", got.TagsSet)
	}
}

func TestClientTableNotifyDisabled(t *testing.T) {
	f := newClientFixture(t)
	f.disabled["quiet"] = true
	c1, c2 := new(server.Conn), new(server.Conn)
	f.tab.RegisterConsumer(c1, consumerData("quiet", sub("T", 1)), chanOf("a@1"))
	f.tab.RegisterConsumer(c2, consumerData("quiet", sub("T", 1)), chanOf("b@2"))
	f.tab.OnConnClose(c1)
	expectQuiet(t, f)
	if got := f.tab.ConsumerIDs("quiet"); !slices.Equal(got, []string{"b@2"}) {
		t.Fatalf("ConsumerIDs: got %v", got)
	}
}

func TestClientTableExpiry(t *testing.T) {
	f := newClientFixture(t)
	c1, c2, p := new(server.Conn), new(server.Conn), new(server.Conn)
	f.tab.RegisterConsumer(c1, consumerData("g", sub("T", 1)), chanOf("a@1"))
	f.tab.RegisterConsumer(c2, consumerData("g", sub("T", 1)), chanOf("b@2"))
	f.tab.RegisterProducer(p, "pg", chanOf("p@3"))
	f.log.take()

	f.clock.Advance(100 * time.Second)
	f.tab.RegisterConsumer(c2, consumerData("g", sub("T", 1)), chanOf("b@2")) // c2 stays alive
	f.clock.Advance(20 * time.Second)                                         // c1 silent for exactly 120 s
	f.tab.Sweep()
	expectQuiet(t, f)
	if got := f.tab.ConsumerIDs("g"); len(got) != 2 {
		t.Fatalf("after 120 s: got %v, want both members", got)
	}

	f.clock.Advance(time.Second) // 121 s
	f.tab.Sweep()
	expectNotified(t, f, "g", c2)
	if got := f.tab.ConsumerIDs("g"); !slices.Equal(got, []string{"b@2"}) {
		t.Fatalf("after expiry: got %v, want [b@2]", got)
	}
	if got := f.tab.ProducerConns("pg"); len(got) != 0 {
		t.Fatalf("producer still registered after expiry: %v", got)
	}
	f.log.mu.Lock()
	closed := f.log.closed
	f.log.mu.Unlock()
	if !sameConns(closed, []*server.Conn{c1, p}) {
		t.Fatalf("closed: got %v, want c1 and the producer", closed)
	}
}

func TestClientTableExpiryKeepsConnWithFreshRegistration(t *testing.T) {
	f := newClientFixture(t)
	c := new(server.Conn)
	f.tab.RegisterConsumer(c, consumerData("old", sub("T", 1)), chanOf("a@1"))
	f.clock.Advance(100 * time.Second)
	// The client stopped its consumer but its producer keeps heartbeating.
	f.tab.RegisterProducer(c, "pg", chanOf("a@1"))
	f.clock.Advance(30 * time.Second)
	f.tab.Sweep()
	if got := f.tab.ConsumerIDs("old"); len(got) != 0 {
		t.Fatalf("expired consumer still listed: %v", got)
	}
	if got := f.tab.ProducerConns("pg"); len(got) != 1 || got[0] != c {
		t.Fatalf("ProducerConns: got %v", got)
	}
	if len(f.log.closed) != 0 {
		t.Fatalf("closed a connection that is still registered: %v", f.log.closed)
	}
}

func TestClientTableProducersAndConnectionBodies(t *testing.T) {
	f := newClientFixture(t)
	p1, p2, c := new(server.Conn), new(server.Conn), new(server.Conn)
	f.tab.RegisterProducer(p1, "pg", Channel{ClientID: "p@1", Language: "GO", Version: 317, Addr: "10.0.0.1:5"})
	f.clock.Advance(time.Second)
	f.tab.RegisterProducer(p2, "pg", Channel{ClientID: "p@2", Language: "JAVA", Version: 407, Addr: "10.0.0.2:6"})
	if got := f.tab.ProducerConns("pg"); len(got) != 2 || got[0] != p2 || got[1] != p1 {
		t.Fatalf("ProducerConns: got %v, want newest first", got)
	}
	pc, ok := f.tab.ProducerConnection("pg")
	if !ok || len(pc.ConnectionSet) != 2 || pc.ConnectionSet[0] != (body.Connection{ClientID: "p@1", ClientAddr: "10.0.0.1:5", Language: "GO", Version: 317}) {
		t.Fatalf("ProducerConnection: got %+v, %v", pc, ok)
	}
	f.tab.UnregisterProducer(p1, "pg")
	if got := f.tab.ProducerConns("pg"); len(got) != 1 || got[0] != p2 {
		t.Fatalf("after unregister: got %v", got)
	}
	if _, ok := f.tab.ProducerConnection("nope"); ok {
		t.Fatal("ProducerConnection of unknown group reported ok")
	}

	f.tab.RegisterConsumer(c, consumerData("g", sub("T", 9)), Channel{ClientID: "c@1", Language: "GO", Version: 317, Addr: "10.0.0.3:7"})
	cc, ok := f.tab.ConsumerConnection("g")
	if !ok || cc.ConsumeType != body.ConsumePassively || cc.MessageModel != body.Clustering ||
		cc.ConsumeFromWhere != body.ConsumeFromLastOffset || cc.SubscriptionTable["T"].SubVersion != 9 ||
		len(cc.ConnectionSet) != 1 || cc.ConnectionSet[0].ClientAddr != "10.0.0.3:7" {
		t.Fatalf("ConsumerConnection: got %+v, %v", cc, ok)
	}
	if _, ok := f.tab.ConsumerConnection("nope"); ok {
		t.Fatal("ConsumerConnection of unknown group reported ok")
	}
	if got := f.tab.OnlineSubscriptions(); len(got) != 1 || got[0] != (GroupTopic{"g", "T"}) {
		t.Fatalf("OnlineSubscriptions: got %v", got)
	}
}

func TestClientTableSameClientTwoConns(t *testing.T) {
	f := newClientFixture(t)
	c1, c2 := new(server.Conn), new(server.Conn)
	f.tab.RegisterConsumer(c1, consumerData("g", sub("T", 1)), chanOf("same@1"))
	f.tab.RegisterConsumer(c2, consumerData("g", sub("T", 1)), chanOf("same@1"))
	if got := f.tab.ConsumerIDs("g"); !slices.Equal(got, []string{"same@1"}) {
		t.Fatalf("ConsumerIDs: got %v, want one id", got)
	}
}

func TestClientTableRequesterConn(t *testing.T) {
	f := newClientFixture(t)
	old, fresh, other := new(server.Conn), new(server.Conn), new(server.Conn)
	f.tab.RegisterProducer(old, "pg1", chanOf("req@1"))
	f.clock.Advance(time.Second)
	f.tab.RegisterProducer(fresh, "pg2", chanOf("req@1"))
	f.tab.RegisterProducer(other, "pg1", chanOf("req@2"))
	if got, ok := f.tab.RequesterConn("req@1"); !ok || got != fresh {
		t.Fatalf("req@1: got %p %v, want the most recently heartbeated conn %p", got, ok, fresh)
	}
	if got, ok := f.tab.RequesterConn("req@2"); !ok || got != other {
		t.Fatalf("req@2: got %p %v, want %p", got, ok, other)
	}
	f.tab.UnregisterProducer(fresh, "pg2")
	if got, ok := f.tab.RequesterConn("req@1"); !ok || got != old {
		t.Fatalf("after unregister: got %p %v, want %p", got, ok, old)
	}
	if got, ok := f.tab.RequesterConn("gone@9"); ok || got != nil {
		t.Fatalf("unknown client: got %p %v", got, ok)
	}
}

func TestClientTableRequesterWithoutHeartbeat(t *testing.T) {
	f := newClientFixture(t)
	req := new(server.Conn)
	f.tab.NoteRequester(req, "req@7")
	if got, ok := f.tab.RequesterConn("req@7"); !ok || got != req {
		t.Fatalf("noted requester: got %p %v, want %p", got, ok, req)
	}
	hb := new(server.Conn)
	f.tab.RegisterProducer(hb, "pg", chanOf("req@7"))
	if got, _ := f.tab.RequesterConn("req@7"); got != hb {
		t.Fatalf("a heartbeat registration wins: got %p, want %p", got, hb)
	}
	f.tab.UnregisterProducer(hb, "pg")
	f.tab.OnConnClose(req)
	if got, ok := f.tab.RequesterConn("req@7"); ok {
		t.Fatalf("closed requester conn still found: %p", got)
	}
}
