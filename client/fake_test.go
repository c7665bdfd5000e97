package client

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// This file holds fakes of a NameServer and brokers built on server.Server, so
// producer and admin behaviour (routes, retries, heartbeats) can be tested with
// answers the test chooses, including ones a real broker never gives.

// fakeRequest is a copy of a request a fake received.
type fakeRequest struct {
	Code      int32
	Serialize byte
	Flag      int32
	Ext       map[string]string
	Body      []byte
	Remote    netip.AddrPort
}

// fakeBroker answers sends, heartbeats and whatever else a test adds.
type fakeBroker struct {
	name string
	srv  *server.Server
	addr string

	mu           sync.Mutex
	keepRequests bool // false in benchmarks: do not grow the request log
	reqs         []fakeRequest
	answer       func(req *codec.Command) *codec.Command // nil: the default answers
	queueOff     map[int32]int64
	physOff      int64
}

// startFakeBroker starts a fake broker named name on 127.0.0.1:0.
func startFakeBroker(t testing.TB, name string) *fakeBroker {
	t.Helper()
	b := &fakeBroker{name: name, queueOff: map[int32]int64{}, keepRequests: true}
	b.srv = server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", EventLoops: 1, Workers: 2})
	for _, c := range []int32{code.SendMessage, code.SendBatchMessage, code.HeartBeat, code.SendMessageV2,
		code.UpdateAndCreateTopic, code.DeleteTopicInBroker, code.GetConsumeStats, code.QueryMessage,
		code.ViewMessageByID, code.SearchOffsetByTimestamp, code.UpdateConsumerOffset} {
		b.srv.Handle(c, b.serve)
	}
	if err := b.srv.Start(context.Background()); err != nil {
		t.Fatalf("start fake broker: %v", err)
	}
	b.addr = b.srv.Addr().String()
	t.Cleanup(func() { _ = b.srv.Close() })
	return b
}

// setAnswer replaces the answer to every request; nil restores the defaults.
func (b *fakeBroker) setAnswer(fn func(req *codec.Command) *codec.Command) {
	b.mu.Lock()
	b.answer = fn
	b.mu.Unlock()
}

// serve records the request and answers it.
func (b *fakeBroker) serve(c *server.Conn, req *codec.Command) *codec.Command {
	b.mu.Lock()
	if b.keepRequests {
		fr := fakeRequest{Code: req.Code, Serialize: req.Serialize, Flag: req.Flag, Ext: maps.Clone(req.ExtFields), Body: slices.Clone(req.Body), Remote: c.RemoteAddr()}
		b.reqs = append(b.reqs, fr)
	}
	answer := b.answer
	b.mu.Unlock()
	if answer != nil {
		if resp := answer(req); resp != nil {
			return resp
		}
	}
	switch req.Code {
	case code.SendMessage, code.SendBatchMessage, code.SendMessageV2:
		return b.sendOK(req)
	}
	return req.NewResponse(code.Success, "")
}

// sendOK answers a send with the next offsets of the queue.
func (b *fakeBroker) sendOK(req *codec.Command) *codec.Command {
	h, err := header.DecodeSend(req.Code, req.ExtFields)
	if err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	n := int64(1)
	if h.Batch {
		entries, err := message.DecodeBatch(req.Body, 0)
		if err != nil {
			return req.NewResponse(code.MessageIllegal, err.Error())
		}
		n = int64(len(entries))
	}
	b.mu.Lock()
	qo := b.queueOff[h.QueueID]
	b.queueOff[h.QueueID] += n
	po := b.physOff
	b.physOff += 100 * n
	b.mu.Unlock()
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.SendMessageResponse{
		MsgID:       message.OffsetMsgID(netip.MustParseAddrPort(b.addr), po),
		QueueID:     h.QueueID,
		QueueOffset: qo,
	}).Encode()
	return resp
}

// requests returns the requests received with code c, in order.
func (b *fakeBroker) requests(c int32) []fakeRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []fakeRequest
	for _, r := range b.reqs {
		if r.Code == c {
			out = append(out, r)
		}
	}
	return out
}

// sends returns the single-message send requests received (SEND_MESSAGE or
// SEND_MESSAGE_V2, in arrival order) and then the SEND_BATCH_MESSAGE ones. The short
// header of a SEND_MESSAGE_V2 is given in the long form (header.DecodeSend), so tests
// read the same keys whichever form the producer sent.
func (b *fakeBroker) sends() []fakeRequest {
	b.mu.Lock()
	var out []fakeRequest
	for _, r := range b.reqs {
		switch r.Code {
		case code.SendMessage:
			out = append(out, r)
		case code.SendMessageV2:
			h, err := header.DecodeSend(r.Code, r.Ext)
			if err != nil {
				panic(fmt.Sprintf("fake broker: short send header: %v", err))
			}
			r.Ext = h.SendMessageRequest.Encode()
			out = append(out, r)
		}
	}
	b.mu.Unlock()
	return append(out, b.requests(code.SendBatchMessage)...)
}

// isSend reports whether c is a code the producer sends single messages with.
func isSend(c int32) bool { return c == code.SendMessage || c == code.SendMessageV2 }

// fakeNamesrv serves routes the test sets.
type fakeNamesrv struct {
	srv  *server.Server
	addr string

	mu      sync.Mutex
	routes  map[string]*body.TopicRouteData
	raw     map[string][]byte // topic → body answered verbatim
	queries map[string]int
	deleted []string
}

// startFakeNamesrv starts a fake NameServer on 127.0.0.1:0.
func startFakeNamesrv(t testing.TB) *fakeNamesrv {
	t.Helper()
	n := &fakeNamesrv{routes: map[string]*body.TopicRouteData{}, raw: map[string][]byte{}, queries: map[string]int{}}
	n.srv = server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", EventLoops: 1, Workers: 2})
	n.srv.Handle(code.GetRouteInfoByTopic, n.serveRoute)
	n.srv.Handle(code.GetAllTopicListFromNameserver, func(_ *server.Conn, req *codec.Command) *codec.Command {
		n.mu.Lock()
		var l body.TopicList
		for t := range n.routes {
			l.TopicList = append(l.TopicList, t)
		}
		n.mu.Unlock()
		resp := req.NewResponse(code.Success, "")
		resp.Body = l.Encode()
		return resp
	})
	n.srv.Handle(code.DeleteTopicInNamesrv, func(_ *server.Conn, req *codec.Command) *codec.Command {
		n.mu.Lock()
		n.deleted = append(n.deleted, req.ExtFields["topic"])
		delete(n.routes, req.ExtFields["topic"])
		n.mu.Unlock()
		return req.NewResponse(code.Success, "")
	})
	if err := n.srv.Start(context.Background()); err != nil {
		t.Fatalf("start fake namesrv: %v", err)
	}
	n.addr = n.srv.Addr().String()
	t.Cleanup(func() { _ = n.srv.Close() })
	return n
}

func (n *fakeNamesrv) serveRoute(_ *server.Conn, req *codec.Command) *codec.Command {
	topic := req.ExtFields["topic"]
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queries[topic]++
	if raw, ok := n.raw[topic]; ok {
		resp := req.NewResponse(code.Success, "")
		resp.Body = raw
		return resp
	}
	r := n.routes[topic]
	if r == nil {
		return req.NewResponse(code.TopicNotExist, "No topic route info in name server for the topic: "+topic)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = r.Encode()
	return resp
}

// setRoute makes topic served by brokers, queues each, perm 6.
func (n *fakeNamesrv) setRoute(topic string, queues int32, brokers ...*fakeBroker) {
	r := &body.TopicRouteData{FilterServerTable: map[string][]string{}}
	for _, b := range brokers {
		r.QueueDatas = append(r.QueueDatas, body.QueueData{BrokerName: b.name, ReadQueueNums: queues, WriteQueueNums: queues, Perm: 6})
		r.BrokerDatas = append(r.BrokerDatas, body.BrokerData{Cluster: "C", BrokerName: b.name, BrokerAddrs: map[int64]string{0: b.addr}})
	}
	n.putRoute(topic, r)
}

// putRoute sets the route of topic; nil removes it.
func (n *fakeNamesrv) putRoute(topic string, r *body.TopicRouteData) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r == nil {
		delete(n.routes, topic)
		return
	}
	n.routes[topic] = r
}

// routeQueries returns how many route requests topic got.
func (n *fakeNamesrv) routeQueries(topic string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.queries[topic]
}

// testLogger routes client logs to t.Log.
func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

// uniqueInstance returns an instance name no other test uses, so tests never share a
// client instance by accident.
func uniqueInstance(t *testing.T) string {
	fakeSeq.Lock()
	defer fakeSeq.Unlock()
	fakeSeq.n++
	return t.Name() + "-" + strconv.Itoa(fakeSeq.n)
}

var fakeSeq struct {
	sync.Mutex
	n int
}

// startProducer starts a producer against the fake NameServer; it is shut down at
// cleanup.
func startProducer(t *testing.T, ns string, opts ...ProducerOption) *Producer {
	t.Helper()
	all := append([]ProducerOption{
		WithNameServer(ns),
		WithInstanceName(uniqueInstance(t)),
		WithLogger(testLogger(t)),
	}, opts...)
	p, err := NewProducer(all...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}
