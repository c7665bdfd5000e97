package broker

import (
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/schedule"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// withLevels sets short delay levels so tests take fractions of a second.
func withLevels(levels string) harnessOpt {
	return func(o *Options, _ *store.Options) { o.MessageDelayLevel = levels }
}

// waitRecords polls (topic, q) until it holds n records, then returns them.
func (h *harness) waitRecords(topic string, q int32, n int) []*message.Ext {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := h.b.store.GetMessages(topic, q, 0, 1000, 0, nil)
		if len(res.Records) >= n {
			var out []*message.Ext
			for _, r := range res.Records {
				m, _, err := message.DecodeRecord(r)
				if err != nil {
					h.t.Fatal(err)
				}
				out = append(out, m)
			}
			return out
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s/%d holds %d records after 10 s, want %d", topic, q, len(res.Records), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestDelayLevelSend sends DELAY messages and checks where they wait, that each
// arrives no earlier than its level's delay, and what the delivered copy carries.
func TestDelayLevelSend(t *testing.T) {
	h := newHarness(t, withLevels("300ms 600ms"))
	h.createTopic("D", 2, 6)
	sent := time.Now()
	r := h.sendWith(sendReq("D", 1, map[string]string{message.PropDelay: "2", message.PropTags: "t",
		message.PropUniqKey: "U1", message.PropKeys: "k1"}), []byte("delayed"))
	wantCode(t, "delay send", r, code.Success, "")
	var sr header.SendMessageResponse
	if err := sr.Decode(r.ExtFields); err != nil || sr.QueueID != 1 {
		t.Fatalf("send answer %+v (%v): want the real queue 1", sr, err)
	}
	// Levels above the last use the last.
	wantCode(t, "clamped", h.sendWith(sendReq("D", 1, map[string]string{message.PropDelay: "99"}), []byte("clamped")), code.Success, "")
	waitMax(t, h.b, schedule.TopicSchedule, 1, 2)
	if n := h.b.store.MaxOffset("D", 1); n != 0 {
		t.Fatalf("D/1 holds %d messages right after the send, want 0 until due", n)
	}
	got := h.waitRecords("D", 1, 2)
	if el := time.Since(sent); el < 600*time.Millisecond {
		t.Fatalf("delivered after %v, before the 600 ms delay", el)
	}
	m := got[0]
	if string(m.Body) != "delayed" || m.Properties[message.PropTags] != "t" || m.Properties[message.PropUniqKey] != "U1" ||
		m.Properties[message.PropRealTopic] != "D" || m.Properties[message.PropRealQueueID] != "1" {
		t.Fatalf("delivered %q %v", m.Body, m.Properties)
	}
	if _, ok := m.Properties[message.PropDelay]; ok {
		t.Errorf("delivered copy keeps DELAY: %v", m.Properties)
	}
	// The key index finds the delivered message under its real topic.
	if offs, err := h.b.store.QueryByKey("D", "k1", 0, 1<<62, 4); err != nil || len(offs) == 0 {
		// indexing is asynchronous: poll briefly
		deadline := time.Now().Add(5 * time.Second)
		for len(offs) == 0 && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
			offs, _ = h.b.store.QueryByKey("D", "k1", 0, 1<<62, 4)
		}
		if len(offs) == 0 {
			t.Fatalf("delivered message not found by key")
		}
	}
}

// TestTimerSend covers the three timer properties, past due times, the horizon and
// DELAY winning over TIMER_*.
func TestTimerSend(t *testing.T) {
	h := newHarness(t, withLevels("200ms"), func(o *Options, _ *store.Options) { o.TimerMaxDelay = time.Hour })
	h.createTopic("T", 1, 6)
	sent := time.Now()
	for _, c := range []struct{ key, val, body string }{
		{message.PropTimerDelayMS, "400", "ms"},
		{message.PropTimerDelaySec, "1", "sec"},
		{message.PropTimerDeliverMS, strconv.FormatInt(sent.Add(700*time.Millisecond).UnixMilli(), 10), "abs"},
		{message.PropTimerDeliverMS, strconv.FormatInt(sent.Add(-time.Hour).UnixMilli(), 10), "past"},
		{message.PropTimerDelaySec, "-3", "negative"},
	} {
		wantCode(t, c.body, h.sendWith(sendReq("T", 0, map[string]string{c.key: c.val}), []byte(c.body)), code.Success, "")
	}
	// Due now: stored as plain messages at once.
	if got := bodiesOf(h.waitRecords("T", 0, 2)); got != "[past negative]" {
		t.Fatalf("immediate messages %s", got)
	}
	got := h.waitRecords("T", 0, 5)
	if el := time.Since(sent); el < time.Second {
		t.Fatalf("all delivered after %v, before the 1 s timer", el)
	}
	if b := bodiesOf(got); b != "[past negative ms abs sec]" {
		t.Fatalf("delivery order %s, want [past negative ms abs sec]", b)
	}
	for _, m := range got[2:] {
		if m.Properties[message.PropTimerOutMS] == "" || m.Properties[message.PropTimerDelayMS] != "" {
			t.Errorf("timer copy %s properties %v", m.Body, m.Properties)
		}
	}
	// Refusals.
	for _, c := range []struct {
		name  string
		props map[string]string
		msg   string
	}{
		{"beyond horizon", map[string]string{message.PropTimerDelaySec: "3601"}, "horizon"},
		{"huge", map[string]string{message.PropTimerDelaySec: "9223372036854775807"}, "horizon"},
		{"not a number", map[string]string{message.PropTimerDeliverMS: "tomorrow"}, "TIMER_DELIVER_MS"},
		{"bad level", map[string]string{message.PropDelay: "1.5"}, "delay level"},
	} {
		wantCode(t, c.name, h.sendWith(sendReq("T", 0, c.props), []byte("x")), code.MessageIllegal, c.msg)
	}
	// DELAY wins over TIMER_*: the message waits 200 ms in level 1, not an hour.
	wantCode(t, "both", h.sendWith(sendReq("T", 0, map[string]string{message.PropDelay: "1", message.PropTimerDelaySec: "3000"}), []byte("both")), code.Success, "")
	if b := bodiesOf(h.waitRecords("T", 0, 6)); b != "[past negative ms abs sec both]" {
		t.Fatalf("after DELAY+TIMER: %s", b)
	}
	// A batch cannot be delayed.
	bb, err := message.EncodeBatch(nil, []message.BatchEntry{{Body: []byte("a")}, {Body: []byte("b")}})
	if err != nil {
		t.Fatal(err)
	}
	hdr := header.SendMessageRequestV2{SendMessageRequest: *sendReq("T", 0, map[string]string{message.PropDelay: "1"})}
	hdr.Batch = true
	wantCode(t, "batch", h.call(code.SendBatchMessage, hdr.Encode(), bb), code.MessageIllegal, "batch cannot be delayed")
}

// TestScheduleFromStripped checks that a client cannot forge the scheduler's mark.
func TestScheduleFromStripped(t *testing.T) {
	h := newHarness(t)
	h.createTopic("F", 1, 6)
	h.send("F", 0, "forged", map[string]string{propScheduleFrom: "L1:0", "a": "1"})
	m := h.waitRecords("F", 0, 1)[0]
	if _, ok := m.Properties[propScheduleFrom]; ok || m.Properties["a"] != "1" {
		t.Fatalf("stored properties %v", m.Properties)
	}
	wantCode(t, "timer topic", h.sendWith(sendReq(meta.TopicTimer, 0, nil), []byte("x")), code.NoPermission, meta.TopicTimer)
}

// TestCancelScheduled cancels a timer through CANCEL_SCHEDULED_MESSAGE (2202).
func TestCancelScheduled(t *testing.T) {
	h := newHarness(t, withLevels("1h"))
	h.createTopic("C", 1, 6)
	h.sendWith(sendReq("C", 0, map[string]string{message.PropTimerDelaySec: "600", message.PropUniqKey: "K1"}), []byte("x"))
	cancel := func(topic, key string) (int32, string) {
		r := h.call(code.CancelScheduledMessage, (&header.CancelScheduledRequest{Topic: topic, UniqKey: key}).Encode(), nil)
		return r.Code, r.ExtFields["cancelled"]
	}
	// Indexing is asynchronous: poll until the first cancel succeeds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, n := cancel("C", "K1")
		if c == code.Success {
			if n != "1" {
				t.Fatalf("cancelled = %q, want 1", n)
			}
			break
		}
		if c != code.QueryNotFound || time.Now().After(deadline) {
			t.Fatalf("cancel: code %d", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c, _ := cancel("C", "K1"); c != code.QueryNotFound {
		t.Fatalf("second cancel: code %d, want %d", c, code.QueryNotFound)
	}
	if c, _ := cancel("Other", "K2"); c != code.QueryNotFound {
		t.Fatalf("unknown key: code %d", c)
	}
	wantCode(t, "empty key", h.call(code.CancelScheduledMessage, map[string]string{"topic": "C", "uniqKey": ""}, nil), code.SystemError, "uniqKey")
	wantCode(t, "missing topic", h.call(code.CancelScheduledMessage, map[string]string{"uniqKey": "K"}, nil), code.SystemError, "topic")
	if s := h.b.sched.Stats(); s.Cancelled != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestScheduleSurvivesRestart stores delayed messages, restarts the broker before they
// are due, and checks each is delivered exactly once after.
func TestScheduleSurvivesRestart(t *testing.T) {
	h := newHarness(t, withLevels("300ms 900ms"))
	h.createTopic("R", 1, 6)
	h.sendWith(sendReq("R", 0, map[string]string{message.PropDelay: "1"}), []byte("a"))
	h.sendWith(sendReq("R", 0, map[string]string{message.PropTimerDelayMS: "500"}), []byte("b"))
	waitMax(t, h.b, schedule.TopicSchedule, 0, 1)
	h.reopen()
	// c is due last; once it is delivered, a and b had their chance to arrive twice.
	h.sendWith(sendReq("R", 0, map[string]string{message.PropDelay: "2"}), []byte("c"))
	got := h.waitRecords("R", 0, 3)
	if b := bodiesOf(got); b != "[a b c]" {
		t.Fatalf("after restart: %s, want [a b c] once each", b)
	}
	h.reopen()
	h.sendWith(sendReq("R", 0, map[string]string{message.PropDelay: "1"}), []byte("d"))
	if b := bodiesOf(h.waitRecords("R", 0, 4)); b != "[a b c d]" {
		t.Fatalf("after second restart: %s", b)
	}
}

func bodiesOf(ms []*message.Ext) string {
	s := "["
	for i, m := range ms {
		if i > 0 {
			s += " "
		}
		s += string(m.Body)
	}
	return s + "]"
}
