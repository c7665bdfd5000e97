package client

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// endlessBroker serves queues that never run dry: every pull is answered with batch
// 1 KiB records starting at the asked offset, copied from one encoded template whose
// offsets are patched. It is the broker side of figure (c) (docs/performance.md §4)
// at the cost of a memory copy, so a benchmark measures the SDK's consume path.
type endlessBroker struct {
	srv      *server.Server
	addr     string
	template []byte
	sizes    []int
}

// startEndlessBroker starts the fake with records of the shape mqbench's producer
// sends (a 1 KiB body, UNIQ_KEY, and the CLUSTER property a broker adds).
func startEndlessBroker(b testing.TB, topic string, batch int) *endlessBroker {
	b.Helper()
	e := &endlessBroker{}
	host := netip.MustParseAddrPort("127.0.0.1:10911")
	for i := 0; i < batch; i++ {
		n := len(e.template)
		var err error
		e.template, err = message.EncodeRecord(e.template, &message.Ext{
			Topic: topic, QueueID: 0, BornTimestamp: 1, BornHost: host, StoreTimestamp: 2, StoreHost: host,
			Body: make([]byte, 1024),
			Properties: map[string]string{
				message.PropUniqKey: fmt.Sprintf("7F0000010001000000000000%08X", i),
				"CLUSTER":           "DefaultCluster",
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		e.sizes = append(e.sizes, len(e.template)-n)
	}
	e.srv = server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", EventLoops: 1, Workers: 2})
	ok := func(_ *server.Conn, r *codec.Command) *codec.Command { return r.NewResponse(code.Success, "") }
	for _, c := range []int32{code.UpdateConsumerOffset, code.UnregisterClient} {
		e.srv.Handle(c, ok)
	}
	e.srv.Handle(code.QueryConsumerOffset, func(_ *server.Conn, r *codec.Command) *codec.Command {
		resp := r.NewResponse(code.Success, "")
		resp.ExtFields = (&header.OffsetResponse{Offset: 0}).Encode()
		return resp
	})
	e.srv.Handle(code.PullMessage, e.servePull)
	// A push consumer's rebalance: the group is the one client that heartbeats.
	var member sync.Map // group → client id
	e.srv.Handle(code.HeartBeat, func(_ *server.Conn, r *codec.Command) *codec.Command {
		if hb, err := body.DecodeHeartbeat(r.Body); err == nil {
			for _, cd := range hb.ConsumerDataSet {
				member.Store(cd.GroupName, hb.ClientID)
			}
		}
		return r.NewResponse(code.Success, "")
	})
	e.srv.Handle(code.GetConsumerListByGroup, func(_ *server.Conn, r *codec.Command) *codec.Command {
		resp := r.NewResponse(code.Success, "")
		var ids []string
		if id, ok := member.Load(r.ExtFields["consumerGroup"]); ok {
			ids = append(ids, id.(string))
		}
		resp.Body = (&body.GetConsumerListByGroupResponseBody{ConsumerIDList: ids}).Encode()
		return resp
	})
	if err := e.srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	e.addr = e.srv.Addr().String()
	b.Cleanup(func() { _ = e.srv.Close() })
	return e
}

func (e *endlessBroker) servePull(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.PullMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	n := min(int(h.MaxMsgNums), len(e.sizes))
	size := 0
	for _, s := range e.sizes[:n] {
		size += s
	}
	bd := make([]byte, size)
	copy(bd, e.template)
	for i, off := 0, 0; i < n; i++ {
		message.SetRecordQueueID(bd[off:], h.QueueID)
		message.PatchRecord(bd[off:], h.QueueOffset+int64(i), h.QueueOffset+int64(i), 2)
		off += e.sizes[i]
	}
	resp := req.NewResponse(code.Success, "")
	next := h.QueueOffset + int64(n)
	resp.ExtFields = (&header.PullMessageResponse{NextBeginOffset: next, MinOffset: 0, MaxOffset: next}).Encode()
	resp.Body = bd
	return resp
}

// BenchmarkPullConsumerPoll is figure (c) against a fake broker: a pull consumer reads
// 4 endless queues 500 records at a time and Poll drains them 500 at a time. One op is
// one consumed 1 KiB message: pull answer read, decoded, cached, polled and committed,
// with the garbage collection all of it causes.
func BenchmarkPullConsumerPoll(b *testing.B) { benchPullConsumerPoll(b, 500) }

// BenchmarkPullConsumerPollBatch1 is the same with one record per pull: the cost of a
// pull request and its answer per message, as in figure (d), where each long poll
// returns the one message just sent.
func BenchmarkPullConsumerPollBatch1(b *testing.B) { benchPullConsumerPoll(b, 1) }

func benchPullConsumerPoll(b *testing.B, batch int) {
	const topic = "PB"
	ns := startFakeNamesrv(b)
	br := startEndlessBroker(b, topic, batch)
	ns.putRoute(topic, &body.TopicRouteData{
		QueueDatas:        []body.QueueData{{BrokerName: "broker-e", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}},
		BrokerDatas:       []body.BrokerData{{Cluster: "C", BrokerName: "broker-e", BrokerAddrs: map[int64]string{0: br.addr}}},
		FilterServerTable: map[string][]string{},
	})
	pc, err := NewPullConsumer(WithNameServer(ns.addr), WithInstanceName("bench-"+b.Name()), WithConsumerGroup("GB"),
		WithConsumeFrom(ConsumeFromFirstOffset), WithPullBatchSize(batch), WithPollBatchSize(batch))
	if err != nil {
		b.Fatal(err)
	}
	var qs []MessageQueue
	for q := int32(0); q < 4; q++ {
		qs = append(qs, MessageQueue{Topic: topic, BrokerName: "broker-e", QueueID: q})
	}
	if err := pc.Assign(qs...); err != nil {
		b.Fatal(err)
	}
	ctx := startBenchConsumer(b, pc.Start, pc.Shutdown)
	if _, err := pc.Poll(ctx); err != nil { // connections and pull loops warm
		b.Fatal(err)
	}
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	bytes := 0
	for got := 0; got < b.N; {
		msgs, err := pc.Poll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got += len(msgs)
		for _, m := range msgs {
			bytes += len(m.Body)
		}
	}
	b.StopTimer()
	if bytes == 0 {
		b.Fatal("no body consumed")
	}
}

// BenchmarkPushConsumerBatch1 is the push consumer's side of figure (d): every pull
// (sent asynchronously, its answer handled on the connection's reader) returns one
// 1 KiB record, handed to the listener. One op is one message through the listener.
func BenchmarkPushConsumerBatch1(b *testing.B) {
	const topic = "PB1"
	ns := startFakeNamesrv(b)
	br := startEndlessBroker(b, topic, 1)
	ns.putRoute(topic, &body.TopicRouteData{
		QueueDatas:        []body.QueueData{{BrokerName: "broker-e", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}},
		BrokerDatas:       []body.BrokerData{{Cluster: "C", BrokerName: "broker-e", BrokerAddrs: map[int64]string{0: br.addr}}},
		FilterServerTable: map[string][]string{},
	})
	var got atomic.Int64
	target := atomic.Int64{}
	target.Store(1 << 62)
	done := make(chan struct{}, 1)
	pc, err := NewPushConsumer(WithNameServer(ns.addr), WithInstanceName("bench-"+b.Name()), WithConsumerGroup("GP1"),
		WithConsumeFrom(ConsumeFromFirstOffset), WithPullBatchSize(1))
	if err != nil {
		b.Fatal(err)
	}
	err = pc.Subscribe(topic, SelectAll, func(_ context.Context, msgs []*MessageExt) (ConsumeResult, error) {
		if got.Add(int64(len(msgs))) >= target.Load() {
			select {
			case done <- struct{}{}:
			default:
			}
		}
		return ConsumeSuccess, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := startBenchConsumer(b, pc.Start, pc.Shutdown)
	for got.Load() == 0 { // assigned, pulling
		select {
		case <-ctx.Done():
			b.Fatal("no message consumed")
		case <-time.After(time.Millisecond):
		}
	}
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	target.Store(got.Load() + int64(b.N))
	if got.Load() < target.Load() {
		select {
		case <-done:
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
	}
	b.StopTimer()
}

// startBenchConsumer starts a benchmark's consumer and returns the context that bounds
// the benchmark; the consumer is shut down when the benchmark ends.
func startBenchConsumer(b *testing.B, start, shutdown func(context.Context) error) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	if err := start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = shutdown(context.Background()) })
	return ctx
}
