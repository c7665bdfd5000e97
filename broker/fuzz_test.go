package broker

import (
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// FuzzRewriteProps: the send path's property rewrite never panics, keeps every pair the
// parsers read (but WAIT and CLUSTER), adds CLUSTER, writes the Java form, and is
// idempotent.
func FuzzRewriteProps(f *testing.F) {
	for _, s := range []string{"", "TAGS\x01a\x02KEYS\x01k1 k2\x02", "WAIT\x01false", "CLUSTER\x01x\x02WAIT\x01true\x02",
		"\x01\x02\x02k\x01", "DELAY\x013\x02UNIQ_KEY\x01ABC", "a\x01b\x01c\x02d\x01e"} {
		f.Add(s)
	}
	b := &Broker{opts: Options{ClusterName: "FuzzCluster"}}
	f.Fuzz(func(t *testing.T, props string) {
		out, sp := b.rewriteProps(nil, props)
		got := message.DecodeProperties(string(out))
		want := message.DecodeProperties(props)
		wait, hadWait := want[message.PropWait]
		delete(want, message.PropWait)
		delete(want, propScheduleFrom) // the scheduler's mark is never a client's (delay.go)
		want[message.PropCluster] = "FuzzCluster"
		if !maps.Equal(got, want) {
			t.Fatalf("rewrite(%q) = %q: decodes to %v, want %v", props, out, got, want)
		}
		if sp.noWait != (hadWait && wait == "false") {
			t.Fatalf("rewrite(%q): noWait %v", props, sp.noWait)
		}
		if strings.HasSuffix(string(out), "\x02") || strings.HasPrefix(string(out), "\x02") {
			t.Fatalf("rewrite(%q) = %q: not the Java form", props, out)
		}
		again, _ := b.rewriteProps(nil, string(out))
		if string(again) != string(out) {
			t.Fatalf("rewrite not idempotent: %q → %q", out, again)
		}
	})
}

// FuzzOffsetKey: offset keys round-trip, and parsing arbitrary bytes never panics and
// accepts only what re-encodes to the same key.
func FuzzOffsetKey(f *testing.F) {
	f.Add("TopicA", "group", int32(3), []byte(nil))
	f.Add("%RETRY%g", "", int32(-1), []byte("o\x02ab\x00\x01g\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, topic, group string, q int32, raw []byte) {
		if len(topic) <= meta.MaxNameLen && len(group) <= meta.MaxGroupKeyLen {
			k := meta.OffsetKey(topic, group, q)
			gt, gg, gq, ok := meta.ParseOffsetKey(k)
			if !ok || gt != topic || gg != group || gq != q {
				t.Fatalf("round trip of (%q, %q, %d): (%q, %q, %d, %v)", topic, group, q, gt, gg, gq, ok)
			}
		}
		if gt, gg, gq, ok := meta.ParseOffsetKey(raw); ok {
			if k := meta.OffsetKey(gt, gg, gq); string(k) != string(raw) {
				t.Fatalf("parse(%q) = (%q, %q, %d) re-encodes to %q", raw, gt, gg, gq, k)
			}
		}
	})
}

// fuzzSendCodes are the request codes FuzzSendHandler picks from.
var fuzzSendCodes = []int32{code.SendMessage, code.SendMessageV2, code.SendBatchMessage}

// FuzzSendHandler feeds arbitrary headers and bodies to the send handler of a live
// in-process broker: it never panics, always answers with MSG_REGION and TRACE_ON, and
// whatever it accepts reads back as a valid record with CLUSTER and without WAIT.
func FuzzSendHandler(f *testing.F) {
	f.Add(uint8(0), "FuzzT", "0", "0", "TAGS\x01a\x02WAIT\x01true", []byte("hello"), false)
	f.Add(uint8(1), "FuzzT", "-1", "1", "", []byte{}, false)
	f.Add(uint8(2), "FuzzT", "1", "0", "x\x01y", []byte{0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, 'h', 'i', 0, 0}, true)
	f.Add(uint8(0), "%RETRY%fg", "0", "0", "", []byte("r"), false)
	f.Add(uint8(0), "SCHEDULE_TOPIC_XXXX", "0", "0", "DELAY\x012", []byte("d"), false)
	f.Add(uint8(0), "Nope", "99", "x", "", []byte("d"), false)
	b := openInProcess(f, func(o *Options, so *store.Options) {
		// Every distinct topic or group would otherwise fsync a new config.
		o.AutoCreateTopicEnable = false
		o.AutoCreateSubscriptionGroup = false
		so.MaxMessageBytes = 64 << 10
	})
	createTopicDirect(f, b, "FuzzT", 4)
	if err := b.groups.Put(meta.NewGroup("fg")); err != nil {
		f.Fatal(err)
	}
	conn := &server.Conn{}
	f.Fuzz(func(t *testing.T, which uint8, topic, queueID, sysFlag, props string, body []byte, batch bool) {
		c := fuzzSendCodes[int(which)%len(fuzzSendCodes)]
		h := header.SendMessageRequest{ProducerGroup: "pg", Topic: topic, DefaultTopic: meta.TopicAutoCreate,
			DefaultTopicQueueNums: 4, BornTimestamp: 1, Properties: props, Batch: batch}
		var ext map[string]string
		if c == code.SendMessage {
			ext = h.Encode()
			ext["queueId"], ext["sysFlag"] = queueID, sysFlag
		} else {
			ext = (&header.SendMessageRequestV2{SendMessageRequest: h}).Encode()
			ext["e"], ext["f"] = queueID, sysFlag
		}
		req := codec.NewRequest(c, ext, body)
		resp := b.handleSend(conn, req)
		if resp == nil {
			t.Fatal("no answer in ASYNC_FLUSH")
		}
		if resp.ExtFields[message.PropMsgRegion] == "" || resp.ExtFields[message.PropTraceOn] == "" {
			t.Fatalf("answer %d lacks MSG_REGION/TRACE_ON: %v", resp.Code, resp.ExtFields)
		}
		if resp.Code != code.Success {
			if resp.Remark == "" {
				t.Fatalf("refusal %d without a remark", resp.Code)
			}
			return
		}
		for _, id := range strings.Split(resp.ExtFields["msgId"], ",") {
			_, phy, err := message.ParseOffsetMsgID(id)
			if err != nil {
				t.Fatalf("msgId %q: %v", id, err)
			}
			rec, err := b.store.ReadRecord(phy)
			if err != nil {
				t.Fatalf("read back %d: %v", phy, err)
			}
			m, _, err := message.DecodeRecord(rec)
			if err != nil {
				t.Fatalf("stored record at %d does not decode: %v", phy, err)
			}
			if _, ok := m.Properties[message.PropWait]; ok || m.Properties[message.PropCluster] != b.opts.ClusterName {
				t.Fatalf("stored properties %v", m.Properties)
			}
			stored := m.QueueID
			if m.Topic == meta.TopicSchedule || m.Topic == meta.TopicTimer { // waiting: delay.go
				n, _ := strconv.Atoi(m.Properties[message.PropRealQueueID])
				stored = int32(n)
			}
			if q, _ := strconv.Atoi(resp.ExtFields["queueId"]); stored != int32(q) {
				t.Fatalf("stored queue %d, answered %d", stored, q)
			}
		}
	})
}

// FuzzPullHandler feeds arbitrary pull headers to a live in-process broker holding a few
// messages: it never panics, every answer the client can take (0, 19, 20, 21) carries
// the four offsets, and a FOUND body is whole records in queue order.
func FuzzPullHandler(f *testing.F) {
	f.Add("FuzzP", "0", "0", "32", "0", "*", "TAG")
	f.Add("FuzzP", "1", "3", "2", "4", "a || b", "")
	f.Add("FuzzP", "0", "-5", "0", "5", "a", "SQL92")
	f.Add("Nope", "x", "", "", "", "", "")
	// One group: each new group name would fsync a new config.
	const group = "fuzz_group"
	b := openInProcess(f, nil)
	createTopicDirect(f, b, "FuzzP", 2)
	conn := &server.Conn{}
	for i := 0; i < 6; i++ {
		resp := b.handleSend(conn, sendCommand("FuzzP", int32(i%2), []byte(strconv.Itoa(i))))
		if resp.Code != code.Success {
			f.Fatalf("fill: %d %s", resp.Code, resp.Remark)
		}
	}
	waitMax(f, b, "FuzzP", 1, 3)
	f.Fuzz(func(t *testing.T, topic, queueID, offset, maxNums, sysFlag, sub, exprType string) {
		ext := pullReq(group, topic, 0, 0).Encode()
		ext["queueId"], ext["queueOffset"], ext["maxMsgNums"] = queueID, offset, maxNums
		ext["subscription"], ext["expressionType"] = sub, exprType
		// The suspend bit is cleared: a parked pull would answer on a timer, after the
		// fuzz iteration.
		if n, err := strconv.ParseInt(sysFlag, 10, 32); err == nil {
			sysFlag = strconv.FormatInt(n&^int64(header.PullSuspend|header.PullCommitOffset), 10)
		}
		ext["sysFlag"] = sysFlag
		resp := b.handlePull(conn, codec.NewRequest(code.PullMessage, ext, nil))
		if resp == nil {
			t.Fatal("no answer")
		}
		switch resp.Code {
		case code.Success, code.PullNotFound, code.PullRetryImmediately, code.PullOffsetMoved:
		default:
			if resp.Remark == "" {
				t.Fatalf("refusal %d without a remark", resp.Code)
			}
			return
		}
		var ph header.PullMessageResponse
		if err := ph.Decode(resp.ExtFields); err != nil {
			t.Fatalf("answer %d lacks offsets: %v", resp.Code, err)
		}
		prev := int64(-1)
		for _, rec := range resp.BodyParts {
			m, n, err := message.DecodeRecord(rec)
			if err != nil || n != len(rec) {
				t.Fatalf("body part does not decode as one record: %v", err)
			}
			if m.QueueOffset <= prev || m.Topic != topic {
				t.Fatalf("record %s@%d after %d", m.Topic, m.QueueOffset, prev)
			}
			prev = m.QueueOffset
		}
	})
}
