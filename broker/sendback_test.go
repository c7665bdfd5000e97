package broker

import (
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// sendBack asks the broker to retry the message at phys for group.
func (h *harness) sendBack(group string, phys int64, delayLevel int32, maxTimes *int32) *codec.Command {
	h.t.Helper()
	req := header.ConsumerSendMsgBackRequest{Offset: phys, Group: group, DelayLevel: delayLevel,
		OriginMsgID: "X", OriginTopic: "S", MaxReconsumeTimes: maxTimes}
	return h.call(code.ConsumerSendMsgBack, req.Encode(), nil)
}

// TestSendBackRetriesThenDLQ walks one message through its retries: each send-back
// lands in %RETRY%group after the escalating delay with reconsume times + 1 and
// RETRY_TOPIC, ORIGIN_MESSAGE_ID and UNIQ_KEY kept, until maxReconsumeTimes sends it
// to the DLQ, from where LIST_DLQ_MESSAGES shows it and RESEND_DLQ_MESSAGES brings it
// back.
func TestSendBackRetriesThenDLQ(t *testing.T) {
	// Level 3 + k is capped at the last level, 200 ms.
	h := newHarness(t, withLevels("50ms 100ms 200ms"))
	h.createTopic("S", 1, 6)
	h.send("S", 0, "payload", map[string]string{message.PropTags: "tg", message.PropUniqKey: "UNIQ1", "p": "v"})
	orig := h.waitRecords("S", 0, 1)[0]
	const group = "G"
	retry := meta.RetryGroupTopicPrefix + group
	max2 := header.Int32(2)

	began := time.Now()
	wantCode(t, "first send-back", h.sendBack(group, orig.PhysicalOffset, 0, max2), code.Success, "")
	r1 := h.waitRecords(retry, 0, 1)[0]
	if el := time.Since(began); el < 200*time.Millisecond {
		t.Fatalf("retry arrived after %v, before level 3's 200 ms", el)
	}
	wantOffsetID := message.OffsetMsgID(orig.StoreHost, orig.PhysicalOffset)
	if string(r1.Body) != "payload" || r1.ReconsumeTimes != 1 || r1.Properties[message.PropRetryTopic] != "S" ||
		r1.Properties[message.PropOriginMsgID] != wantOffsetID || r1.Properties[message.PropUniqKey] != "UNIQ1" ||
		r1.Properties[message.PropTags] != "tg" || r1.Properties["p"] != "v" {
		t.Fatalf("first retry %q reconsume %d props %v", r1.Body, r1.ReconsumeTimes, r1.Properties)
	}

	wantCode(t, "second send-back", h.sendBack(group, r1.PhysicalOffset, 0, max2), code.Success, "")
	r2 := h.waitRecords(retry, 0, 2)[1]
	if r2.ReconsumeTimes != 2 || r2.Properties[message.PropOriginMsgID] != wantOffsetID || r2.Properties[message.PropRetryTopic] != "S" {
		t.Fatalf("second retry reconsume %d props %v", r2.ReconsumeTimes, r2.Properties)
	}
	if _, ok := r2.Properties[propScheduleFrom]; !ok {
		t.Fatalf("a delivered retry should carry the scheduler's mark: %v", r2.Properties)
	}

	// Reconsumed twice with a maximum of 2: the third failure goes to the DLQ.
	wantCode(t, "third send-back", h.sendBack(group, r2.PhysicalOffset, 0, max2), code.Success, "")
	dlq := meta.DLQGroupTopicPrefix + group
	d := h.waitRecords(dlq, 0, 1)[0]
	if d.ReconsumeTimes != 3 || string(d.Body) != "payload" || d.Properties[message.PropRetryTopic] != "S" {
		t.Fatalf("dead letter reconsume %d props %v", d.ReconsumeTimes, d.Properties)
	}
	if _, ok := d.Properties[propScheduleFrom]; ok {
		t.Fatalf("a dead letter must not carry the scheduler's mark: %v", d.Properties)
	}
	if tc, ok := h.b.topics.Get(dlq); !ok || tc.GetWriteQueueNums() != 1 {
		t.Fatalf("DLQ topic config %v, want one queue", tc)
	}

	// delayLevel -1 goes straight to the DLQ.
	wantCode(t, "straight to DLQ", h.sendBack(group, orig.PhysicalOffset, -1, max2), code.Success, "")
	if d2 := h.waitRecords(dlq, 0, 2)[1]; d2.ReconsumeTimes != 1 {
		t.Fatalf("direct dead letter reconsume %d, want 1", d2.ReconsumeTimes)
	}

	// LIST_DLQ_MESSAGES.
	list := h.call(code.ListDLQMessages, (&header.DLQRequest{ConsumerGroup: group}).Encode(), nil)
	wantCode(t, "list DLQ", list, code.Success, "")
	if got := records(t, list.Body); len(got) != 2 || string(got[0].Body) != "payload" {
		t.Fatalf("listed %d dead letters", len(got))
	}
	if list.ExtFields["nextBeginOffset"] != "2" || list.ExtFields["maxOffset"] != "2" {
		t.Fatalf("list offsets %v", list.ExtFields)
	}
	page := h.call(code.ListDLQMessages, (&header.DLQRequest{ConsumerGroup: group, Offset: 1, MaxCount: 1}).Encode(), nil)
	if got := records(t, page.Body); len(got) != 1 || got[0].ReconsumeTimes != 1 || page.ExtFields["nextBeginOffset"] != "2" {
		t.Fatalf("page from 1: %d records, ext %v", len(got), page.ExtFields)
	}

	// RESEND_DLQ_MESSAGES: the first dead letter back in the retry topic, reconsume 0.
	resend := h.call(code.ResendDLQMessages, (&header.DLQRequest{ConsumerGroup: group}).Encode(), nil)
	wantCode(t, "resend", resend, code.Success, "")
	if resend.ExtFields["resent"] != "1" || resend.ExtFields["nextBeginOffset"] != "1" {
		t.Fatalf("resend answer %v", resend.ExtFields)
	}
	back := h.waitRecords(retry, 0, 3)[2]
	if back.ReconsumeTimes != 0 || string(back.Body) != "payload" || back.Properties[message.PropRetryTopic] != "S" ||
		back.Properties[message.PropUniqKey] != "UNIQ1" {
		t.Fatalf("resent message reconsume %d props %v", back.ReconsumeTimes, back.Properties)
	}

	// Refusals.
	wantCode(t, "no DLQ", h.call(code.ListDLQMessages, (&header.DLQRequest{ConsumerGroup: "Nobody"}).Encode(), nil), code.QueryNotFound, "no dead letters")
	wantCode(t, "count", h.call(code.ResendDLQMessages, (&header.DLQRequest{ConsumerGroup: group, MaxCount: 5000}).Encode(), nil), code.SystemError, "maxCount")
	wantCode(t, "bad offset", h.sendBack(group, orig.PhysicalOffset+1, 0, max2), code.SystemError, "look message by offset failed")
	wantCode(t, "negative offset", h.sendBack(group, -5, 0, max2), code.SystemError, "offset")
	wantCode(t, "missing group", h.call(code.ConsumerSendMsgBack, map[string]string{"offset": "0", "delayLevel": "0"}, nil), code.SystemError, "group")
}

// TestSendBackGroupMax checks that without the header's maxReconsumeTimes the group's
// retryMaxTimes applies, and that an explicit delay level is used as given.
func TestSendBackGroupMax(t *testing.T) {
	h := newHarness(t, withLevels("50ms 100ms 150ms 200ms"))
	h.createTopic("S", 1, 6)
	h.send("S", 0, "m", nil)
	orig := h.waitRecords("S", 0, 1)[0]
	// An explicit level 1 is used instead of 3 + reconsume times.
	began := time.Now()
	wantCode(t, "level 1", h.sendBack("G2", orig.PhysicalOffset, 1, nil), code.Success, "")
	r := h.waitRecords(meta.RetryGroupTopicPrefix+"G2", 0, 1)[0]
	if el := time.Since(began); el < 50*time.Millisecond || el > 150*time.Millisecond+time.Second {
		t.Fatalf("level-1 retry after %v", el)
	}
	if r.Properties[message.PropDelay] != "" || r.Properties[message.PropRealTopic] != meta.RetryGroupTopicPrefix+"G2" {
		t.Fatalf("retry props %v", r.Properties)
	}
	// The group's default retryMaxTimes is 16: a message reconsumed 15 times still
	// retries, one reconsumed 16 times is dead.
	for _, c := range []struct {
		reconsume int32
		topic     string
	}{{15, meta.RetryGroupTopicPrefix + "G2"}, {16, meta.DLQGroupTopicPrefix + "G2"}} {
		hdr := sendReq("S", 0, nil)
		hdr.ReconsumeTimes = c.reconsume
		wantCode(t, "send", h.sendWith(hdr, []byte(strconv.Itoa(int(c.reconsume)))), code.Success, "")
	}
	all := h.waitRecords("S", 0, 3)
	before := h.b.store.MaxOffset(meta.RetryGroupTopicPrefix+"G2", 0)
	wantCode(t, "15", h.sendBack("G2", all[1].PhysicalOffset, 0, nil), code.Success, "")
	wantCode(t, "16", h.sendBack("G2", all[2].PhysicalOffset, 0, nil), code.Success, "")
	if d := h.waitRecords(meta.DLQGroupTopicPrefix+"G2", 0, 1)[0]; string(d.Body) != "16" || d.ReconsumeTimes != 17 {
		t.Fatalf("dead letter %q reconsume %d", d.Body, d.ReconsumeTimes)
	}
	if r := h.waitRecords(meta.RetryGroupTopicPrefix+"G2", 0, int(before)+1); string(r[before].Body) != "15" || r[before].ReconsumeTimes != 16 {
		t.Fatalf("retry %q reconsume %d", r[before].Body, r[before].ReconsumeTimes)
	}
}
