package client

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// consumerBroker is a scripted broker for consumer tests: one topic's queues held in
// memory as encoded records, committed offsets, group members, queue locks, and hooks
// that let a test answer a pull or a send-back however it likes (codes and bodies a
// real broker would not give).
type consumerBroker struct {
	name string
	srv  *server.Server
	addr string

	mu        sync.Mutex
	records   map[int32][][]byte         // queue id → records, index = queue offset
	committed map[string]int64           // "group/topic/queue" → offset
	members   []string                   // answer of GET_CONSUMER_LIST_BY_GROUP; nil: the heartbeating clients
	heartbeat map[string]map[string]bool // group → client ids
	conns     []*server.Conn             // client connections that heartbeated
	pulls     []header.PullMessageRequest
	sendBacks []header.ConsumerSendMsgBackRequest
	commits   []header.UpdateConsumerOffsetRequest
	locks     int
	unlocks   int
	phys      int64

	onPull     func(h header.PullMessageRequest) *codec.Command // nil result: default answer
	onSendBack func(h header.ConsumerSendMsgBackRequest) int32
	onList     func() *codec.Command
}

// startConsumerBroker starts the fake and registers topic (queues queues) and the
// group's retry topic with ns.
func startConsumerBroker(t *testing.T, ns *fakeNamesrv, topic string, queues int32, group string) *consumerBroker {
	t.Helper()
	b := &consumerBroker{
		name:      "broker-f",
		records:   map[int32][][]byte{},
		committed: map[string]int64{},
		heartbeat: map[string]map[string]bool{},
	}
	b.srv = server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", EventLoops: 1, Workers: 4})
	handlers := map[int32]server.Handler{
		code.HeartBeat:              b.serveHeartbeat,
		code.PullMessage:            b.servePull,
		code.QueryConsumerOffset:    b.serveQuery,
		code.UpdateConsumerOffset:   b.serveCommit,
		code.GetMaxOffset:           b.serveMax,
		code.GetConsumerListByGroup: b.serveList,
		code.ConsumerSendMsgBack:    b.serveSendBack,
		code.LockBatchMQ:            b.serveLock,
		code.UnlockBatchMQ:          b.serveUnlock,
		code.UnregisterClient:       func(_ *server.Conn, r *codec.Command) *codec.Command { return r.NewResponse(code.Success, "") },
	}
	for c, h := range handlers {
		b.srv.HandleAsync(c, h)
	}
	if err := b.srv.Start(context.Background()); err != nil {
		t.Fatalf("start consumer broker: %v", err)
	}
	b.addr = b.srv.Addr().String()
	t.Cleanup(func() { _ = b.srv.Close() })
	for _, tp := range []string{topic, RetryTopic(group)} {
		n := queues
		if tp != topic {
			n = 1
		}
		ns.putRoute(tp, &body.TopicRouteData{
			QueueDatas:        []body.QueueData{{BrokerName: b.name, ReadQueueNums: n, WriteQueueNums: n, Perm: 6}},
			BrokerDatas:       []body.BrokerData{{Cluster: "C", BrokerName: b.name, BrokerAddrs: map[int64]string{0: b.addr}}},
			FilterServerTable: map[string][]string{},
		})
	}
	return b
}

// add stores messages (bodies, with tags) in queue q.
func (b *consumerBroker) add(t *testing.T, topic string, q int32, tags string, bodies ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	host := netip.MustParseAddrPort("127.0.0.1:10911")
	for _, bd := range bodies {
		props := map[string]string{message.PropUniqKey: fmt.Sprintf("U-%s", bd)}
		if tags != "" {
			props[message.PropTags] = tags
		}
		rec, err := message.EncodeRecord(nil, &message.Ext{
			Topic: topic, QueueID: q, QueueOffset: int64(len(b.records[q])), PhysicalOffset: b.phys,
			BornTimestamp: 1, BornHost: host, StoreTimestamp: 2, StoreHost: host,
			Body: []byte(bd), Properties: props,
		})
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		b.phys += int64(len(rec))
		b.records[q] = append(b.records[q], rec)
	}
}

func (b *consumerBroker) serveHeartbeat(conn *server.Conn, req *codec.Command) *codec.Command {
	hb, err := body.DecodeHeartbeat(req.Body)
	if err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	b.mu.Lock()
	for _, cd := range hb.ConsumerDataSet {
		if b.heartbeat[cd.GroupName] == nil {
			b.heartbeat[cd.GroupName] = map[string]bool{}
		}
		b.heartbeat[cd.GroupName][hb.ClientID] = true
	}
	if !slices.Contains(b.conns, conn) {
		b.conns = append(b.conns, conn)
	}
	b.mu.Unlock()
	return req.NewResponse(code.Success, "")
}

// pullResponse builds a pull response header.
func pullResponse(req *codec.Command, c int32, next, maxOff int64) *codec.Command {
	resp := req.NewResponse(c, "")
	h := header.PullMessageResponse{NextBeginOffset: next, MinOffset: 0, MaxOffset: maxOff}
	resp.ExtFields = h.Encode()
	return resp
}

func (b *consumerBroker) servePull(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.PullMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	b.mu.Lock()
	b.pulls = append(b.pulls, h)
	hook := b.onPull
	b.mu.Unlock()
	if hook != nil {
		if resp := hook(h); resp != nil {
			resp.Opaque, resp.Flag = req.Opaque, code.FlagResponse
			return resp
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if h.SysFlag&header.PullCommitOffset != 0 {
		b.committed[h.ConsumerGroup+"/"+h.Topic+"/"+strconv.Itoa(int(h.QueueID))] = h.CommitOffset
	}
	recs := b.records[h.QueueID]
	if isRetryTopic(h.Topic) {
		recs = nil
	}
	maxOff := int64(len(recs))
	if h.QueueOffset >= maxOff {
		return pullResponse(req, code.PullNotFound, h.QueueOffset, maxOff)
	}
	end := min(maxOff, h.QueueOffset+int64(h.MaxMsgNums))
	resp := pullResponse(req, code.Success, end, maxOff)
	for _, r := range recs[h.QueueOffset:end] {
		resp.Body = append(resp.Body, r...)
	}
	return resp
}

func (b *consumerBroker) serveQuery(_ *server.Conn, req *codec.Command) *codec.Command {
	b.mu.Lock()
	defer b.mu.Unlock()
	off, ok := b.committed[req.ExtFields["consumerGroup"]+"/"+req.ExtFields["topic"]+"/"+req.ExtFields["queueId"]]
	if !ok {
		return req.NewResponse(code.QueryNotFound, "")
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.OffsetResponse{Offset: off}).Encode()
	return resp
}

func (b *consumerBroker) serveCommit(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.UpdateConsumerOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	b.mu.Lock()
	b.commits = append(b.commits, h)
	b.committed[h.ConsumerGroup+"/"+h.Topic+"/"+strconv.Itoa(int(h.QueueID))] = h.CommitOffset
	b.mu.Unlock()
	return req.NewResponse(code.Success, "")
}

func (b *consumerBroker) serveMax(_ *server.Conn, req *codec.Command) *codec.Command {
	q, _ := strconv.Atoi(req.ExtFields["queueId"])
	b.mu.Lock()
	n := int64(len(b.records[int32(q)]))
	b.mu.Unlock()
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.OffsetResponse{Offset: n}).Encode()
	return resp
}

func (b *consumerBroker) serveList(_ *server.Conn, req *codec.Command) *codec.Command {
	b.mu.Lock()
	hook := b.onList
	ids := slices.Clone(b.members)
	if ids == nil {
		for id := range b.heartbeat[req.ExtFields["consumerGroup"]] {
			ids = append(ids, id)
		}
	}
	b.mu.Unlock()
	if hook != nil {
		if resp := hook(); resp != nil {
			resp.Opaque, resp.Flag = req.Opaque, code.FlagResponse
			return resp
		}
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = (&body.GetConsumerListByGroupResponseBody{ConsumerIDList: ids}).Encode()
	return resp
}

func (b *consumerBroker) serveSendBack(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ConsumerSendMsgBackRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	b.mu.Lock()
	b.sendBacks = append(b.sendBacks, h)
	hook := b.onSendBack
	b.mu.Unlock()
	c := int32(code.Success)
	if hook != nil {
		c = hook(h)
	}
	return req.NewResponse(c, "scripted")
}

func (b *consumerBroker) serveLock(_ *server.Conn, req *codec.Command) *codec.Command {
	r, err := body.DecodeLockBatchRequest(req.Body)
	if err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	b.mu.Lock()
	b.locks++
	b.mu.Unlock()
	resp := req.NewResponse(code.Success, "")
	resp.Body = (&body.LockBatchResponseBody{LockOKMQSet: r.MQSet}).Encode()
	return resp
}

func (b *consumerBroker) serveUnlock(_ *server.Conn, req *codec.Command) *codec.Command {
	b.mu.Lock()
	b.unlocks++
	b.mu.Unlock()
	return req.NewResponse(code.Success, "")
}

// toClient sends a broker-started request to the (first) consumer connection.
func (b *consumerBroker) toClient(t *testing.T, reqCode int32, ext map[string]string, payload []byte) *codec.Command {
	t.Helper()
	b.mu.Lock()
	var conn *server.Conn
	if len(b.conns) > 0 {
		conn = b.conns[0]
	}
	b.mu.Unlock()
	if conn == nil {
		t.Fatal("no client connection")
	}
	req := codec.NewRequest(reqCode, ext, payload)
	if reqCode == code.ResetConsumerClientOffset {
		if err := conn.InvokeOneway(req); err != nil {
			t.Fatalf("request %d to client: %v", reqCode, err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := conn.Invoke(ctx, req)
	if err != nil {
		t.Fatalf("request %d to client: %v", reqCode, err)
	}
	return resp
}

// setOnPull installs a pull hook.
func (b *consumerBroker) setOnPull(fn func(h header.PullMessageRequest) *codec.Command) {
	b.mu.Lock()
	b.onPull = fn
	b.mu.Unlock()
}

// snapshot helpers for assertions.
func (b *consumerBroker) pullsOf(q int32, topic string) []header.PullMessageRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []header.PullMessageRequest
	for _, p := range b.pulls {
		if p.QueueID == q && p.Topic == topic {
			out = append(out, p)
		}
	}
	return out
}

// commitsOf returns the UPDATE_CONSUMER_OFFSET values group "g" sent for a queue.
func (b *consumerBroker) commitsOf(topic string, q int32) []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int64
	for _, c := range b.commits {
		if c.ConsumerGroup == "g" && c.Topic == topic && c.QueueID == q {
			out = append(out, c.CommitOffset)
		}
	}
	return out
}

// committedOffset returns group "g"'s committed offset of a queue.
func (b *consumerBroker) committedOffset(topic string, q int32) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	off, ok := b.committed["g/"+topic+"/"+strconv.Itoa(int(q))]
	return off, ok
}

func (b *consumerBroker) sendBackRequests() []header.ConsumerSendMsgBackRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sendBacks)
}

// newFakePush builds a push consumer against ns with test timings.
func newFakePush(t *testing.T, ns *fakeNamesrv, group string, opts ...PushConsumerOption) *PushConsumer {
	t.Helper()
	all := append([]PushConsumerOption{
		WithNameServer(ns.addr),
		WithInstanceName(uniqueInstance(t)),
		WithLogger(testLogger(t)),
		WithConsumerGroup(group),
		WithConsumeFrom(ConsumeFromFirstOffset),
		WithRebalanceInterval(200 * time.Millisecond),
		WithCommitInterval(100 * time.Millisecond),
		WithPullBackoff(100 * time.Millisecond),
		WithOffsetDir(t.TempDir()),
	}, opts...)
	pc, err := NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	return pc
}

// startFake subscribes l to topic and starts pc; shut down at cleanup.
func startFake(t *testing.T, pc *PushConsumer, topic string, sel MessageSelector, l Listener) {
	t.Helper()
	if err := pc.Subscribe(topic, sel, l); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown(context.Background()) })
}

// recorder is a listener that records bodies in arrival order.
type recorder struct {
	mu     sync.Mutex
	bodies []string
	msgs   []*MessageExt
	result func(m *MessageExt) ConsumeResult
}

func (r *recorder) listen(_ context.Context, msgs []*MessageExt) (ConsumeResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := ConsumeSuccess
	for _, m := range msgs {
		r.bodies = append(r.bodies, string(m.Body))
		r.msgs = append(r.msgs, m)
		if r.result != nil && r.result(m) != ConsumeSuccess {
			res = ConsumeRetryLater
		}
	}
	return res, nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bodies)
}
