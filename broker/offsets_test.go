package broker

import (
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

func offsetOf(t *testing.T, resp *codec.Command) int64 {
	t.Helper()
	off, err := strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
	if err != nil {
		t.Fatalf("answer %d %q: offset %q: %v", resp.Code, resp.Remark, resp.ExtFields["offset"], err)
	}
	return off
}

func TestQueryConsumerOffset(t *testing.T) {
	h := newHarness(t)
	h.createTopic("Q", 2, 6)
	h.send("Q", 0, "m0", nil)
	// Nothing committed, queue starting at 0 with its first message in memory: Java's
	// quirk answers 0 with offset 0 (no heartbeat yet).
	if c, off := h.queryOffset("fresh", "Q", 0); c != code.Success || off != 0 {
		t.Fatalf("fresh group: code %d offset %d, want 0 and 0", c, off)
	}
	// An empty queue too.
	if c, off := h.queryOffset("fresh", "Q", 1); c != code.Success || off != 0 {
		t.Fatalf("fresh group, empty queue: code %d offset %d, want 0 and 0", c, off)
	}
	// A 5.x client that asks for QUERY_NOT_FOUND instead.
	q := &header.QueryConsumerOffsetRequest{ConsumerGroup: "fresh", Topic: "Q", QueueID: 0, SetZeroIfNotFound: header.Bool(false)}
	wantCode(t, "setZeroIfNotFound=false", h.call(code.QueryConsumerOffset, q.Encode(), nil), code.QueryNotFound, "fresh")
	// A group that registered CONSUME_FROM_TIMESTAMP gets 22 so its timestamp applies.
	heartbeat(t, h, "bytime", body.ConsumeFromTimestamp, body.SubscriptionData{Topic: "Q", SubString: "*", ExpressionType: exprTag})
	if c, _ := h.queryOffset("bytime", "Q", 0); c != code.QueryNotFound {
		t.Fatalf("CONSUME_FROM_TIMESTAMP group: code %d, want 22", c)
	}
	heartbeat(t, h, "fromlast", body.ConsumeFromLastOffset, body.SubscriptionData{Topic: "Q", SubString: "*", ExpressionType: exprTag})
	if c, off := h.queryOffset("fromlast", "Q", 0); c != code.Success || off != 0 {
		t.Fatalf("CONSUME_FROM_LAST_OFFSET group: code %d offset %d, want 0 and 0", c, off)
	}
	// A committed offset wins.
	up := &header.UpdateConsumerOffsetRequest{ConsumerGroup: "bytime", Topic: "Q", QueueID: 0, CommitOffset: 1}
	wantCode(t, "update", h.call(code.UpdateConsumerOffset, up.Encode(), nil), code.Success, "")
	if c, off := h.queryOffset("bytime", "Q", 0); c != code.Success || off != 1 {
		t.Fatalf("committed: code %d offset %d, want 0 and 1", c, off)
	}
	// Bad input.
	up.CommitOffset = -4
	wantCode(t, "negative commit", h.call(code.UpdateConsumerOffset, up.Encode(), nil), code.SystemError, "-4")
	up.CommitOffset, up.ConsumerGroup = 2, "bad group"
	wantCode(t, "bad group name", h.call(code.UpdateConsumerOffset, up.Encode(), nil), code.SystemError, "group")
	wantCode(t, "missing keys", h.call(code.QueryConsumerOffset, map[string]string{"topic": "Q"}, nil), code.SystemError, "consumerGroup")
}

func TestQueueOffsetQueries(t *testing.T) {
	h := newHarness(t)
	h.createTopic("O", 1, 6)
	before := time.Now().Add(-time.Second).UnixMilli()
	for i := 0; i < 4; i++ {
		h.send("O", 0, strconv.Itoa(i), nil)
	}
	q := (&header.QueueRequest{Topic: "O", QueueID: 0}).Encode()
	if off := offsetOf(t, h.call(code.GetMaxOffset, q, nil)); off != 4 {
		t.Fatalf("max offset %d, want 4", off)
	}
	if off := offsetOf(t, h.call(code.GetMinOffset, q, nil)); off != 0 {
		t.Fatalf("min offset %d, want 0", off)
	}
	s := (&header.SearchOffsetRequest{Topic: "O", QueueID: 0, Timestamp: before}).Encode()
	if off := offsetOf(t, h.call(code.SearchOffsetByTimestamp, s, nil)); off != 0 {
		t.Fatalf("offset by old timestamp %d, want 0", off)
	}
	resp := h.call(code.GetEarliestMsgStoretime, q, nil)
	ts, err := strconv.ParseInt(resp.ExtFields["timestamp"], 10, 64)
	if resp.Code != code.Success || err != nil || ts < before || ts > time.Now().UnixMilli() {
		t.Fatalf("earliest store time: code %d timestamp %q", resp.Code, resp.ExtFields["timestamp"])
	}
	empty := (&header.QueueRequest{Topic: "O", QueueID: 7}).Encode()
	if off := offsetOf(t, h.call(code.GetMaxOffset, empty, nil)); off != 0 {
		t.Fatalf("max offset of a missing queue %d, want 0", off)
	}
	// A malformed request still carries offset (-1: unknown), which the Go client reads
	// whatever the code.
	resp = h.call(code.GetMaxOffset, map[string]string{"topic": "O", "queueId": "zero"}, nil)
	if resp.Code != code.SystemError || offsetOf(t, resp) != -1 {
		t.Fatalf("bad max offset request: code %d offset %q", resp.Code, resp.ExtFields["offset"])
	}
}
