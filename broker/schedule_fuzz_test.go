package broker

import (
	"strconv"
	"testing"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/schedule"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// FuzzScheduledSend feeds arbitrary DELAY and TIMER_* values to the send handler: it
// never panics, refuses with MESSAGE_ILLEGAL and a remark, or stores the message either
// as it was sent, or in the schedule or timer topic with REAL_TOPIC and REAL_QID naming
// where it was sent.
func FuzzScheduledSend(f *testing.F) {
	f.Add("3", "", "", "")
	f.Add("", "1", "", "")
	f.Add("", "", "1500", "")
	f.Add("", "", "", "1700000000000")
	f.Add("99", "-5", "x", "")
	f.Add("-1", "9223372036854775807", "", "-9223372036854775808")
	b := openInProcess(f, func(o *Options, _ *store.Options) { o.AutoCreateTopicEnable = false })
	createTopicDirect(f, b, "FuzzD", 2)
	conn := &server.Conn{}
	f.Fuzz(func(t *testing.T, delay, sec, ms, deliver string) {
		props := map[string]string{message.PropDelay: delay, message.PropTimerDelaySec: sec,
			message.PropTimerDelayMS: ms, message.PropTimerDeliverMS: deliver}
		h := sendReq("FuzzD", 1, props)
		resp := b.handleSend(conn, codec.NewRequest(code.SendMessage, h.Encode(), []byte("x")))
		if resp.Code != code.Success {
			if resp.Code != code.MessageIllegal || resp.Remark == "" {
				t.Fatalf("refusal %d %q", resp.Code, resp.Remark)
			}
			return
		}
		_, phy, err := message.ParseOffsetMsgID(resp.ExtFields["msgId"])
		if err != nil {
			t.Fatal(err)
		}
		rec, err := b.store.ReadRecord(phy)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := message.DecodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		switch m.Topic {
		case "FuzzD":
			if m.QueueID != 1 {
				t.Fatalf("plain message in queue %d", m.QueueID)
			}
		case schedule.TopicSchedule, schedule.TopicTimer:
			if m.Properties[message.PropRealTopic] != "FuzzD" || m.Properties[message.PropRealQueueID] != "1" {
				t.Fatalf("scheduled message properties %v", m.Properties)
			}
			if m.Topic == schedule.TopicSchedule {
				l, err := strconv.Atoi(m.Properties[message.PropDelay])
				if err != nil || l < 1 || l > b.sched.Levels().Len() || int32(l-1) != m.QueueID {
					t.Fatalf("schedule queue %d with DELAY %q", m.QueueID, m.Properties[message.PropDelay])
				}
			}
		default:
			t.Fatalf("stored in topic %q", m.Topic)
		}
	})
}

// FuzzSendBackHandler feeds arbitrary send-back headers to a broker holding a few
// messages: it never panics and answers SUCCESS or a refusal with a remark.
func FuzzSendBackHandler(f *testing.F) {
	f.Add("0", "G", "0", "16")
	f.Add("-1", "G", "-1", "")
	f.Add("123456789", "", "99", "x")
	f.Add("0", "G", "2147483647", "-2147483648")
	b := openInProcess(f, func(o *Options, _ *store.Options) {
		o.AutoCreateSubscriptionGroup = false
		o.MessageDelayLevel = "1h"
	})
	createTopicDirect(f, b, "FuzzS", 1)
	if err := b.groups.Put(meta.NewGroup("G")); err != nil {
		f.Fatal(err)
	}
	conn := &server.Conn{}
	for i := 0; i < 3; i++ {
		if resp := b.handleSend(conn, sendCommand("FuzzS", 0, []byte(strconv.Itoa(i)))); resp.Code != code.Success {
			f.Fatalf("fill: %d %s", resp.Code, resp.Remark)
		}
	}
	f.Fuzz(func(t *testing.T, offset, group, delayLevel, maxTimes string) {
		ext := (&header.ConsumerSendMsgBackRequest{Group: group}).Encode()
		ext["offset"], ext["delayLevel"] = offset, delayLevel
		if maxTimes != "" {
			ext["maxReconsumeTimes"] = maxTimes
		}
		resp := b.handleSendBack(conn, codec.NewRequest(code.ConsumerSendMsgBack, ext, nil))
		if resp == nil {
			t.Fatal("no answer in ASYNC_FLUSH")
		}
		if resp.Code != code.Success && resp.Remark == "" {
			t.Fatalf("refusal %d without a remark", resp.Code)
		}
	})
}
