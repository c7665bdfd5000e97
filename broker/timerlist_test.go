package broker

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
)

func (h *harness) listTimers(topic string, maxCount int32) *body.TimerMessageList {
	h.t.Helper()
	r := h.call(code.ListTimerMessages, (&header.ListTimerMessagesRequest{Topic: topic, MaxCount: maxCount}).Encode(), nil)
	wantCode(h.t, "list timers", r, code.Success, "")
	l, err := body.DecodeTimerMessageList(r.Body)
	if err != nil {
		h.t.Fatalf("list timers body: %v", err)
	}
	return l
}

// TestListTimerMessages lists pending timer and delay-level messages through
// LIST_TIMER_MESSAGES (2102), filters by topic, caps by maxCount, and drops a
// cancelled timer from the list.
func TestListTimerMessages(t *testing.T) {
	h := newHarness(t, withLevels("1h 2h"))
	h.createTopic("TA", 2, 6)
	h.createTopic("TB", 1, 6)
	wantCode(t, "timer 2", h.sendWith(sendReq("TA", 1, map[string]string{message.PropTimerDelaySec: "600",
		message.PropUniqKey: "U-LATE", message.PropTags: "tg", message.PropKeys: "k1"}), []byte("later")), code.Success, "")
	wantCode(t, "timer 1", h.sendWith(sendReq("TA", 0, map[string]string{message.PropTimerDelaySec: "300",
		message.PropUniqKey: "U-SOON"}), []byte("soon")), code.Success, "")
	wantCode(t, "delay", h.sendWith(sendReq("TB", 0, map[string]string{message.PropDelay: "2",
		message.PropUniqKey: "U-LEVEL"}), []byte("level two")), code.Success, "")
	// The scheduler's index follows the log's dispatch: poll until all three are in.
	var l *body.TimerMessageList
	testutil.Eventually(t, 5*time.Second, "three pending scheduled messages", func() bool {
		l = h.listTimers("", 0)
		return len(l.Timers) == 3
	})
	if l.BrokerName != "broker-t" || l.More || len(l.Timers) != 3 {
		t.Fatalf("list: %+v", l)
	}
	soon, late, level := l.Timers[0], l.Timers[1], l.Timers[2]
	if soon.MsgID != "U-SOON" || late.MsgID != "U-LATE" || level.MsgID != "U-LEVEL" {
		t.Fatalf("order: %s %s %s, want U-SOON U-LATE U-LEVEL (timers by due time, then levels)", soon.MsgID, late.MsgID, level.MsgID)
	}
	if late.Topic != "TA" || late.QueueID != 1 || late.Tags != "tg" || late.Keys != "k1" || late.BodySize != 5 || late.DelayLevel != 0 {
		t.Errorf("timer entry %+v", late)
	}
	if d := late.DeliverTimestamp - late.StoreTimestamp; d < 599_000 || d > 601_000 {
		t.Errorf("timer due %d ms after store, want 600 s", d)
	}
	if level.Topic != "TB" || level.DelayLevel != 2 || level.DeliverTimestamp != level.StoreTimestamp+2*3600_000+1 {
		t.Errorf("delay-level entry %+v: want level 2 due 2 h (+1 ms) after store", level)
	}

	if l := h.listTimers("TB", 0); len(l.Timers) != 1 || l.Timers[0].MsgID != "U-LEVEL" {
		t.Errorf("topic filter TB: %+v", l.Timers)
	}
	if l := h.listTimers("", 1); len(l.Timers) != 1 || !l.More || l.Timers[0].MsgID != "U-SOON" {
		t.Errorf("maxCount 1: %+v more=%v", l.Timers, l.More)
	}

	wantCode(t, "cancel", h.call(code.CancelScheduledMessage, (&header.CancelScheduledRequest{Topic: "TA", UniqKey: "U-SOON"}).Encode(), nil), code.Success, "")
	if l := h.listTimers("TA", 0); len(l.Timers) != 1 || l.Timers[0].MsgID != "U-LATE" {
		t.Errorf("after cancelling U-SOON: %+v", l.Timers)
	}
	wantCode(t, "bad topic", h.call(code.ListTimerMessages, map[string]string{"topic": "bad topic!"}, nil), code.SystemError, "")
	wantCode(t, "bad maxCount", h.call(code.ListTimerMessages, map[string]string{"maxCount": "x"}, nil), code.SystemError, "maxCount")
}
