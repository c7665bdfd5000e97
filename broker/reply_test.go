package broker

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

const replyTopic = "ClusterT_REPLY_TOPIC"

// replyProps are the properties of a well-formed reply to requester.
func replyProps(requester, corrID string) map[string]string {
	return map[string]string{
		message.PropMsgType:       message.MsgTypeReply,
		message.PropCorrelationID: corrID,
		message.PropReplyToClient: requester,
		message.PropMessageTTL:    "3000",
	}
}

// requesterClient connects a client that answers PUSH_REPLY_MESSAGE_TO_CLIENT with
// answer and hands each push to got. It makes itself known as client id with a request
// (a send carrying REPLY_TO_CLIENT), as the official Go client does before its first
// heartbeat.
func requesterClient(t *testing.T, h *harness, id string, answer int32) <-chan *codec.Command {
	t.Helper()
	cl := transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second})
	t.Cleanup(func() { cl.Close() })
	got := make(chan *codec.Command, 8)
	cl.Handle(code.PushReplyMessageToClient, func(_ string, req *codec.Command) *codec.Command {
		got <- req
		return req.NewResponse(answer, "not today")
	})
	h.createTopic("Req", 1, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := sendReq("Req", 0, map[string]string{message.PropReplyToClient: id, message.PropCorrelationID: "c-0"})
	resp, err := cl.Invoke(ctx, h.b.Addr(), codec.NewRequest(code.SendMessage, req.Encode(), []byte("question")))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("request send: %v %+v", err, resp)
	}
	return got
}

func TestSendReplyBadInput(t *testing.T) {
	h := newHarness(t)
	noCorr := sendReq(replyTopic, 0, map[string]string{message.PropReplyToClient: "r@1"})
	v2 := header.SendMessageRequestV2{SendMessageRequest: *noCorr}
	noTo := sendReq(replyTopic, 0, map[string]string{message.PropCorrelationID: "c-1"})
	delayed := sendReq(replyTopic, 0, replyProps("r@1", "c-2"))
	delayed.Properties = message.SetProperty(delayed.Properties, message.PropDelay, "2")
	cases := []struct {
		name   string
		code   int32
		ext    map[string]string
		answer int32
		remark string
	}{
		{"no properties", code.SendReplyMessage, sendReq(replyTopic, 0, nil).Encode(), code.MessageIllegal, "REPLY_TO_CLIENT"},
		{"no correlation id (v2)", code.SendReplyMessageV2, v2.Encode(), code.MessageIllegal, "CORRELATION_ID"},
		{"no reply-to", code.SendReplyMessage, noTo.Encode(), code.MessageIllegal, "REPLY_TO_CLIENT"},
		{"delayed", code.SendReplyMessage, delayed.Encode(), code.SystemError, "delivered at once"},
		{"no header", code.SendReplyMessage, map[string]string{}, code.SystemError, "producerGroup"},
	}
	for _, c := range cases {
		resp := h.call(c.code, c.ext, []byte("x"))
		if resp.Code != c.answer || !strings.Contains(resp.Remark, c.remark) {
			t.Errorf("%s: got %d %q, want %d mentioning %q", c.name, resp.Code, resp.Remark, c.answer, c.remark)
		}
	}
	if n := h.b.store.MaxOffset(replyTopic, 0); n != 0 {
		t.Errorf("refused replies stored: reply topic max offset %d", n)
	}
}

func TestSendReplyPushesToRequester(t *testing.T) {
	h := newHarness(t)
	pushes := requesterClient(t, h, "req@1", code.Success)
	hdr := sendReq(replyTopic, -1, replyProps("req@1", "c-9"))
	hdr.Flag = 7
	resp := h.call(code.SendReplyMessage, hdr.Encode(), []byte("answer"))
	if resp.Code != code.Success || resp.ExtFields["msgId"] == "0" || resp.ExtFields["queueId"] != "0" {
		t.Fatalf("reply answer: %d %q %v", resp.Code, resp.Remark, resp.ExtFields)
	}
	var push *codec.Command
	select {
	case push = <-pushes:
	case <-time.After(10 * time.Second):
		t.Fatal("no push reached the requester")
	}
	var rh header.ReplyMessageRequest
	if err := rh.Decode(push.ExtFields); err != nil {
		t.Fatal(err)
	}
	props := message.DecodeProperties(rh.Properties)
	if string(push.Body) != "answer" || rh.Topic != replyTopic || rh.Flag != 7 || rh.QueueID != 0 ||
		props[message.PropCorrelationID] != "c-9" || props[message.PropMessageTTL] != "3000" ||
		props[message.PropCluster] != "ClusterT" || props[message.PropPushReplyTime] == "" ||
		props[message.PropMsgType] != "reply" || rh.StoreHost != h.b.storeHost().String() {
		t.Fatalf("push: body %q header %+v props %v", push.Body, rh, props)
	}
	if !testutil.Poll(5*time.Second, func() bool { return h.b.store.MaxOffset(replyTopic, 0) == 1 }) {
		t.Fatalf("reply copy not stored: max offset %d", h.b.store.MaxOffset(replyTopic, 0))
	}
}

func TestSendReplyRequesterGoneOrRefusing(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.StoreReplyMessageEnable = false })
	resp := h.call(code.SendReplyMessage, sendReq(replyTopic, 0, replyProps("gone@1", "c-1")).Encode(), []byte("late"))
	if resp.Code != code.SystemError || resp.Remark != "push reply message fail, channel of <gone@1> not found." {
		t.Fatalf("gone requester: got %d %q", resp.Code, resp.Remark)
	}
	pushes := requesterClient(t, h, "req@2", code.SystemBusy)
	resp = h.call(code.SendReplyMessageV2, (&header.SendMessageRequestV2{SendMessageRequest: *sendReq(replyTopic, 0, replyProps("req@2", "c-2"))}).Encode(), []byte("no"))
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "<req@2>") || !strings.Contains(resp.Remark, "not today") {
		t.Fatalf("refusing requester: got %d %q", resp.Code, resp.Remark)
	}
	if len(pushes) != 1 {
		t.Fatalf("pushes: %d, want 1", len(pushes))
	}
	if resp.ExtFields["msgId"] != "0" || h.b.store.MaxOffset(replyTopic, 0) != 0 {
		t.Fatalf("storeReplyMessageEnable=false stored the reply: %v, max offset %d", resp.ExtFields, h.b.store.MaxOffset(replyTopic, 0))
	}
}

// requesterProbe is the store; at every append it notes whether the broker already
// knows the connection of the requester id: once appended, a request is visible to
// consumers, and a responder may answer it at once.
type requesterProbe struct {
	*store.Store
	b     *Broker
	id    string
	mu    sync.Mutex
	known []bool
}

func (p *requesterProbe) check() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.b.clients.RequesterConn(p.id)
	p.known = append(p.known, ok)
}

// expect makes the next appends check requester id.
func (p *requesterProbe) expect(id string) map[string]string {
	p.mu.Lock()
	p.id = id
	p.mu.Unlock()
	return map[string]string{message.PropReplyToClient: id, message.PropCorrelationID: "c-" + id}
}

func (p *requesterProbe) Put(rec []byte) (store.PutResult, error) {
	p.check()
	return p.Store.Put(rec)
}

func (p *requesterProbe) PutBatch(recs []byte) (store.PutResult, error) {
	p.check()
	return p.Store.PutBatch(recs)
}

func (p *requesterProbe) PutMany(items []store.PutItem, res []store.PutResult, errs []error) {
	p.check()
	p.Store.PutMany(items, res, errs)
}

// TestRequesterKnownBeforeAppend: a request's connection is recorded as its requester's
// before the request is appended, on the batched send path (SEND_MESSAGE) and on
// handleSend's (a batch body), so that a reply racing the sender's goroutine finds it.
// (The official Go client may heartbeat a new producer only up to 30 s after its first
// request: docs/request-reply.md.)
func TestRequesterKnownBeforeAppend(t *testing.T) {
	probe := &requesterProbe{}
	h := newHarnessWith(t, func(b *Broker) {
		probe.Store, probe.b = b.store, b
		b.putDst = probe
	})
	h.createTopic("RQ", 1, 6)
	if r := h.send("RQ", 0, "request", probe.expect("192.0.2.9@one")); r.QueueOffset != 0 {
		t.Fatalf("request stored at %d", r.QueueOffset)
	}
	bb, err := message.EncodeBatch(nil, []message.BatchEntry{{Body: []byte("r1")}, {Body: []byte("r2")}})
	if err != nil {
		t.Fatal(err)
	}
	batch := header.SendMessageRequestV2{SendMessageRequest: *sendReq("RQ", 0, probe.expect("192.0.2.9@two"))}
	batch.Batch = true
	if resp := h.call(code.SendBatchMessage, batch.Encode(), bb); resp.Code != code.Success {
		t.Fatalf("batch request: code %d remark %q", resp.Code, resp.Remark)
	}
	probe.mu.Lock()
	known := slices.Clone(probe.known)
	probe.mu.Unlock()
	if len(known) != 2 || !known[0] || !known[1] {
		t.Fatalf("requester known at the appends: %v, want [true true]", known)
	}
}
