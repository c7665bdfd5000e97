package client

import (
	"context"
	"fmt"
	"net/netip"
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
	for _, c := range []int32{code.HeartBeat, code.UpdateConsumerOffset, code.UnregisterClient} {
		e.srv.Handle(c, ok)
	}
	e.srv.Handle(code.QueryConsumerOffset, func(_ *server.Conn, r *codec.Command) *codec.Command {
		resp := r.NewResponse(code.Success, "")
		resp.ExtFields = (&header.OffsetResponse{Offset: 0}).Encode()
		return resp
	})
	e.srv.Handle(code.PullMessage, e.servePull)
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
func BenchmarkPullConsumerPoll(b *testing.B) {
	const topic, batch = "PB", 500
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer pc.Shutdown(context.Background())
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
