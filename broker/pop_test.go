package broker

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

const popGroup = "popG"

func popReq(topic string, queueID, maxNum int32, invisibleMS, pollMS int64) *header.PopMessageRequest {
	return &header.PopMessageRequest{ConsumerGroup: popGroup, Topic: topic, QueueID: queueID, MaxMsgNums: maxNum,
		InvisibleTime: invisibleMS, PollTime: pollMS, BornTime: time.Now().UnixMilli(), InitMode: 1}
}

// popCall pops and decodes the answer's header and records.
func (h *harness) popCall(r *header.PopMessageRequest) (*codec.Command, header.PopMessageResponse, []int64) {
	h.t.Helper()
	resp := h.call(code.PopMessage, r.Encode(), nil)
	var ph header.PopMessageResponse
	if resp.Code == code.Success || resp.Code == code.PollingTimeout {
		if err := ph.Decode(resp.ExtFields); err != nil {
			h.t.Fatalf("pop response header: %v %v", err, resp.ExtFields)
		}
	}
	var offs []int64
	for _, m := range records(h.t, resp.Body) {
		offs = append(offs, m.QueueOffset)
	}
	return resp, ph, offs
}

func extraInfo(ph header.PopMessageResponse, start, offset int64, q int32) string {
	return strconv.FormatInt(start, 10) + " " + strconv.FormatInt(ph.PopTime, 10) + " " + strconv.FormatInt(ph.InvisibleTime, 10) + " " +
		strconv.Itoa(int(ph.ReviveQid)) + " 0 broker-t " + strconv.Itoa(int(q)) + " " + strconv.FormatInt(offset, 10)
}

// TestPopRemoting drives POP_MESSAGE, ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME and
// BATCH_ACK_MESSAGE through real TCP.
func TestPopRemoting(t *testing.T) {
	h := newHarness(t)
	h.createTopic("PopT", 2, 6)
	for i := 0; i < 4; i++ {
		h.send("PopT", 0, "m"+strconv.Itoa(i), nil)
	}
	resp, ph, offs := h.popCall(popReq("PopT", 0, 3, 60000, 0))
	if resp.Code != code.Success || len(offs) != 3 || offs[0] != 0 || offs[2] != 2 {
		t.Fatalf("pop: code %d %q offsets %v", resp.Code, resp.Remark, offs)
	}
	if ph.InvisibleTime != 60000 || ph.ReviveQid != 0 || ph.RestNum != 1 || ph.StartOffsetInfo != "0 0 0" || ph.MsgOffsetInfo != "0 0 0,1,2" {
		t.Fatalf("pop header %+v", ph)
	}
	first := ph

	ack := func(offset int64, extra string) *codec.Command {
		return h.call(code.AckMessage, (&header.AckMessageRequest{ConsumerGroup: popGroup, Topic: "PopT", QueueID: 0,
			ExtraInfo: extra, Offset: offset}).Encode(), nil)
	}
	wantCode(t, "ack 1", ack(1, extraInfo(first, 0, 1, 0)), code.Success, "")
	if c, off := h.queryOffset(popGroup, "PopT", 0); c != code.Success || off != 0 {
		t.Fatalf("consume offset after acking 1 of 0..2: %d %d", c, off)
	}

	// Offset 0 becomes visible again after one second.
	ch := h.call(code.ChangeMessageInvisibleTime, (&header.ChangeInvisibleTimeRequest{ConsumerGroup: popGroup, Topic: "PopT", QueueID: 0,
		ExtraInfo: extraInfo(first, 0, 0, 0), Offset: 0, InvisibleTime: 1000}).Encode(), nil)
	wantCode(t, "change invisible time", ch, code.Success, "")
	var cr header.ChangeInvisibleTimeResponse
	if err := cr.Decode(ch.ExtFields); err != nil || cr.InvisibleTime != 1000 || cr.PopTime < first.PopTime {
		t.Fatalf("change answer %+v %v", cr, err)
	}
	// The old handle of offset 0 no longer changes anything.
	stale := h.call(code.ChangeMessageInvisibleTime, (&header.ChangeInvisibleTimeRequest{ConsumerGroup: popGroup, Topic: "PopT", QueueID: 0,
		ExtraInfo: extraInfo(first, 0, 0, 0), Offset: 0, InvisibleTime: 1000}).Encode(), nil)
	wantCode(t, "change with a stale handle", stale, code.NoMessage, "")

	resp, second, offs := h.popCall(popReq("PopT", 0, 3, 60000, 0))
	if resp.Code != code.Success || len(offs) != 1 || offs[0] != 3 {
		t.Fatalf("second pop: %d %v", resp.Code, offs)
	}
	var third header.PopMessageResponse
	testutil.Eventually(t, 10*time.Second, "offset 0 visible again", func() bool {
		r, ph, offs := h.popCall(popReq("PopT", 0, 3, 60000, 0))
		if r.Code == code.Success && len(offs) == 1 && offs[0] == 0 {
			if rt := records(t, r.Body)[0].ReconsumeTimes; rt != 1 {
				t.Fatalf("redelivered with reconsume times %d", rt)
			}
			third = ph
			return true
		}
		return false
	})

	// One batch ack for the three outstanding deliveries, one entry per pop.
	entry := func(ph header.PopMessageResponse, start int64, offs ...int64) body.BatchAck {
		a := body.BatchAck{ConsumerGroup: popGroup, Topic: "PopT", Retry: "0", QueueID: 0, PopTime: ph.PopTime, InvisibleTime: ph.InvisibleTime}
		a.SetOffsets(start, offs)
		return a
	}
	ba := &body.BatchAckMessageRequestBody{BrokerName: "broker-t", Acks: []body.BatchAck{
		entry(first, 0, 2), entry(second, 3, 3), entry(third, 0, 0)}}
	wantCode(t, "batch ack", h.call(code.BatchAckMessage, nil, ba.Encode()), code.Success, "")
	if c, off := h.queryOffset(popGroup, "PopT", 0); c != code.Success || off != 4 {
		t.Fatalf("consume offset after every ack: %d %d", c, off)
	}
	if r, _, offs := h.popCall(popReq("PopT", 0, 3, 60000, 0)); r.Code != code.PollingTimeout || len(offs) != 0 {
		t.Fatalf("pop after every ack: %d %v", r.Code, offs)
	}
}

func TestPopRemotingRefusals(t *testing.T) {
	h := newHarness(t)
	h.createTopic("PopR", 1, 6)
	r := popReq("PopR", 0, 33, 60000, 0)
	wantCode(t, "33 messages", h.call(code.PopMessage, r.Encode(), nil), code.InvalidParameter, "greater than 32")
	r = popReq("NoSuchTopic", 0, 1, 60000, 0)
	wantCode(t, "missing topic", h.call(code.PopMessage, r.Encode(), nil), code.TopicNotExist, "NoSuchTopic")
	r = popReq("PopR", 0, 1, 10, 0)
	wantCode(t, "invisible time too short", h.call(code.PopMessage, r.Encode(), nil), code.InvalidParameter, "invisibleTime")
	r = popReq("PopR", 0, 1, 60000, 0)
	r.BornTime = time.Now().Add(-time.Minute).UnixMilli()
	wantCode(t, "born a minute ago", h.call(code.PopMessage, r.Encode(), nil), code.PollingTimeout, "timeout too much")
	ack := &header.AckMessageRequest{ConsumerGroup: popGroup, Topic: "PopR", QueueID: 0, ExtraInfo: "not a handle", Offset: 0}
	wantCode(t, "bad extraInfo", h.call(code.AckMessage, ack.Encode(), nil), code.InvalidParameter, "fields")
	wantCode(t, "bad batch body", h.call(code.BatchAckMessage, nil, []byte("{")), code.InvalidParameter, "batch ack body")
	wantCode(t, "missing header key", h.call(code.AckMessage, map[string]string{"topic": "PopR"}, nil), code.SystemError, "consumerGroup")
}

// TestUnknownFiveXCode: a code the broker does not serve is answered
// REQUEST_CODE_NOT_SUPPORTED and the connection stays usable.
func TestUnknownFiveXCode(t *testing.T) {
	h := newHarness(t)
	for _, c := range []int32{200099, code.PopMessage + 2} { // 200052 PEEK_MESSAGE is not served either
		resp := h.call(c, map[string]string{"topic": "x"}, nil)
		wantCode(t, "code "+strconv.Itoa(int(c)), resp, code.RequestCodeNotSupported, strconv.Itoa(int(c)))
	}
	h.createTopic("StillServed", 1, 6)
}

// TestPopLongPollWakesOnSend: a POP that finds nothing waits and is answered by the
// message sent meanwhile.
func TestPopLongPollWakesOnSend(t *testing.T) {
	h := newHarness(t)
	h.createTopic("PopL", 2, 6)
	done := make(chan []int64, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := h.cl.Invoke(ctx, h.b.Addr(), codec.NewRequest(code.PopMessage, popReq("PopL", -1, 4, 60000, 15000).Encode(), nil))
		if err != nil || resp.Code != code.Success {
			t.Errorf("long poll: %v %+v", err, resp)
			done <- nil
			return
		}
		var offs []int64
		for _, m := range records(t, resp.Body) {
			offs = append(offs, int64(m.QueueID)*100+m.QueueOffset)
		}
		done <- offs
	}()
	// The POP is parked once the broker has looked at the empty queues; the send then
	// wakes it (sending first would only make the POP find it at once: both pass).
	h.send("PopL", 1, "late", nil)
	select {
	case offs := <-done:
		if len(offs) != 1 || offs[0] != 100 {
			t.Fatalf("long poll got %v", offs)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("answered after %v", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("long-polled POP not answered")
	}
}

// TestPopAfterTopicRecreated: deleting a topic forgets its POP state, so the topic
// created again is popped from its new offset 0.
func TestPopAfterTopicRecreated(t *testing.T) {
	h := newHarness(t)
	h.createTopic("PopD", 1, 6)
	h.send("PopD", 0, "old0", nil)
	h.send("PopD", 0, "old1", nil)
	if r, _, offs := h.popCall(popReq("PopD", 0, 32, 60000, 0)); r.Code != code.Success || len(offs) != 2 {
		t.Fatalf("pop: %d %v", r.Code, offs)
	}
	wantCode(t, "delete topic", h.call(code.DeleteTopicInBroker, (&header.DeleteTopicRequest{Topic: "PopD"}).Encode(), nil), code.Success, "")
	h.createTopic("PopD", 1, 6)
	h.send("PopD", 0, "new", nil)
	r, _, offs := h.popCall(popReq("PopD", 0, 32, 60000, 0))
	if r.Code != code.Success || len(offs) != 1 || offs[0] != 0 || string(records(t, r.Body)[0].Body) != "new" {
		t.Fatalf("pop of the recreated topic: %d %v", r.Code, offs)
	}
}

// TestPopRemotingFIFO: an orderly POP answers reviveQid 999 and orderCountInfo, and
// blocks the queue until its batch is acknowledged.
func TestPopRemotingFIFO(t *testing.T) {
	h := newHarness(t)
	h.createTopic("PopF", 1, 6)
	for i := 0; i < 3; i++ {
		h.send("PopF", 0, "f"+strconv.Itoa(i), nil)
	}
	r := popReq("PopF", 0, 2, 60000, 0)
	r.Order = true
	resp, ph, offs := h.popCall(r)
	if resp.Code != code.Success || len(offs) != 2 || offs[0] != 0 || offs[1] != 1 {
		t.Fatalf("orderly pop: %d %v", resp.Code, offs)
	}
	if ph.ReviveQid != 999 || ph.OrderCountInfo != "0 qo0%0 0;0 qo0%1 0;0 0 0" {
		t.Fatalf("orderly header %+v", ph)
	}
	if resp, _, offs := h.popCall(r); resp.Code != code.PollingTimeout || len(offs) != 0 {
		t.Fatalf("queue not blocked while its batch is in flight: %d %v", resp.Code, offs)
	}
	for _, off := range offs {
		ack := &header.AckMessageRequest{ConsumerGroup: popGroup, Topic: "PopF", QueueID: 0, ExtraInfo: extraInfo(ph, 0, off, 0), Offset: off}
		wantCode(t, "ack", h.call(code.AckMessage, ack.Encode(), nil), code.Success, "")
	}
	if resp, _, offs := h.popCall(r); resp.Code != code.Success || len(offs) != 1 || offs[0] != 2 {
		t.Fatalf("after the batch: %d %v", resp.Code, offs)
	}
}
