package broker

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// TestSendBadInput sends each kind of bad message and checks its RocketMQ code and a
// remark that says what was wrong, then that a good send still succeeds.
func TestSendBadInput(t *testing.T) {
	h := newHarness(t)
	h.createTopic("Good", 4, 6)
	h.createTopic("ReadOnly", 1, 4)
	bigProps := map[string]string{"k": strings.Repeat("v", 33000)}
	cases := []struct {
		name   string
		hdr    *header.SendMessageRequest
		body   []byte
		code   int32
		remark string
	}{
		{"schedule topic", sendReq(meta.TopicSchedule, 0, nil), []byte("x"), code.NoPermission, "SCHEDULE_TOPIC_XXXX"},
		{"half topic", sendReq(meta.TopicTransHalf, 0, nil), []byte("x"), code.NoPermission, "forbidden"},
		{"illegal name", sendReq("bad topic!", 0, nil), []byte("x"), code.SystemError, "illegal characters"},
		{"long name", sendReq(strings.Repeat("t", 128), 0, nil), []byte("x"), code.SystemError, "max length"},
		{"blank name", sendReq(" ", 0, nil), []byte("x"), code.SystemError, "blank"},
		{"oversized body", sendReq("Good", 0, nil), make([]byte, 256<<10+1), code.MessageIllegal, "maxMessageSize"},
		{"properties too long", sendReq("Good", 0, bigProps), []byte("x"), code.MessageIllegal, "properties"},
		{"queue out of range", sendReq("Good", 4, nil), []byte("x"), code.SystemError, "queueId[4]"},
		{"no write perm", sendReq("ReadOnly", 0, nil), []byte("x"), code.NoPermission, "ReadOnly"},
		{"delay", sendReq("Good", 0, map[string]string{message.PropDelay: "three"}), []byte("x"), code.MessageIllegal, "not a delay level"},
		{"timer", sendReq("Good", 0, map[string]string{message.PropTimerDelaySec: "5s"}), []byte("x"), code.MessageIllegal, "TIMER_DELAY_SEC"},
		{"timer horizon", sendReq("Good", 0, map[string]string{message.PropTimerDelaySec: "2592001"}), []byte("x"), code.MessageIllegal, "horizon"},
	}
	txHdr := sendReq("Good", 0, nil)
	txHdr.SysFlag = message.TxPreparedType
	cases = append(cases, struct {
		name   string
		hdr    *header.SendMessageRequest
		body   []byte
		code   int32
		remark string
	}{"prepared sysflag without TRAN_MSG", txHdr, []byte("x"), code.MessageIllegal, "TRAN_MSG is not true"})

	for _, c := range cases {
		resp := h.sendWith(c.hdr, c.body)
		wantCode(t, c.name, resp, c.code, c.remark)
		if resp.ExtFields[message.PropMsgRegion] != "DefaultRegion" || resp.ExtFields[message.PropTraceOn] != "true" {
			t.Errorf("%s: MSG_REGION/TRACE_ON missing from %v", c.name, resp.ExtFields)
		}
		// The broker still serves: a good send right after succeeds.
		h.send("Good", 1, "still ok after "+c.name, nil)
	}
	// A header missing a required key.
	ext := sendReq("Good", 0, nil).Encode()
	delete(ext, "queueId")
	wantCode(t, "missing queueId", h.call(code.SendMessage, ext, []byte("x")), code.SystemError, "queueId")
	h.send("Good", 1, "still ok", nil)
}

func TestSendPullRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.createTopic("RT", 2, 6)
	const n = 10
	var sent []*header.SendMessageResponse
	for i := 0; i < n; i++ {
		props := map[string]string{message.PropTags: "tagA", message.PropKeys: fmt.Sprint("k", i),
			message.PropWait: "true", message.PropUniqKey: fmt.Sprintf("UNIQ%04d", i), message.PropCluster: "spoofed"}
		sent = append(sent, h.send("RT", 1, fmt.Sprintf("body-%d", i), props))
	}
	host := h.b.storeHost()
	for i, r := range sent {
		if r.QueueID != 1 || r.QueueOffset != int64(i) {
			t.Fatalf("send %d: queue %d offset %d, want 1 and %d", i, r.QueueID, r.QueueOffset, i)
		}
		if len(r.MsgID) != 32 {
			t.Fatalf("send %d: msgId %q is not 32 hex", i, r.MsgID)
		}
		if r.Region != "DefaultRegion" || !r.TraceOn {
			t.Fatalf("send %d: region %q trace %v", i, r.Region, r.TraceOn)
		}
	}
	resp := h.pull(pullReq("cg", "RT", 1, 0))
	wantCode(t, "pull", resp, code.Success, "FOUND")
	ph := pullHeader(t, resp)
	if ph.NextBeginOffset != n || ph.MinOffset != 0 || ph.MaxOffset != n || ph.SuggestWhichBrokerID != 0 {
		t.Fatalf("pull offsets %+v, want next %d min 0 max %d", ph, n, n)
	}
	msgs := records(t, resp.Body)
	if len(msgs) != n {
		t.Fatalf("pulled %d records, want %d", len(msgs), n)
	}
	off := 0
	for i, m := range msgs {
		if m.Topic != "RT" || m.QueueID != 1 || m.QueueOffset != int64(i) {
			t.Fatalf("record %d: %s:%d@%d", i, m.Topic, m.QueueID, m.QueueOffset)
		}
		if string(m.Body) != fmt.Sprintf("body-%d", i) {
			t.Fatalf("record %d body %q", i, m.Body)
		}
		if got := message.OffsetMsgID(m.StoreHost, m.PhysicalOffset); got != sent[i].MsgID {
			t.Fatalf("record %d: offset msg id %s, send answered %s", i, got, sent[i].MsgID)
		}
		if m.StoreHost != host {
			t.Fatalf("record %d: store host %v, want %v", i, m.StoreHost, host)
		}
		if m.BornHost.Addr() != netip.MustParseAddr("127.0.0.1") || m.BornHost.Port() == 0 {
			t.Fatalf("record %d: born host %v, want the client's 127.0.0.1:port", i, m.BornHost)
		}
		if m.Properties[message.PropCluster] != "ClusterT" {
			t.Fatalf("record %d: CLUSTER %q, want ClusterT", i, m.Properties[message.PropCluster])
		}
		if _, ok := m.Properties[message.PropWait]; ok {
			t.Fatalf("record %d: WAIT stored: %v", i, m.Properties)
		}
		if m.Properties[message.PropTags] != "tagA" || m.Properties[message.PropUniqKey] != fmt.Sprintf("UNIQ%04d", i) {
			t.Fatalf("record %d: properties %v", i, m.Properties)
		}
		// The body is the stored bytes: the record read by physical offset is identical.
		size := message.RecordTotalSize(resp.Body[off:])
		stored, err := h.b.Store().ReadRecord(m.PhysicalOffset)
		if err != nil {
			t.Fatalf("read record %d: %v", i, err)
		}
		if !bytes.Equal(stored[:message.RecordTotalSize(stored)], resp.Body[off:off+size]) {
			t.Fatalf("record %d: pulled bytes differ from stored bytes", i)
		}
		off += size
	}
	// maxMsgNums bounds the batch.
	p := pullReq("cg", "RT", 1, 2)
	p.MaxMsgNums = 3
	resp = h.pull(p)
	if got := len(records(t, resp.Body)); got != 3 || pullHeader(t, resp).NextBeginOffset != 5 {
		t.Fatalf("maxMsgNums 3: %d records, next %d; want 3 and 5", got, pullHeader(t, resp).NextBeginOffset)
	}
}

func TestSendV2AndRandomQueue(t *testing.T) {
	h := newHarness(t)
	h.createTopic("V2", 4, 6)
	hdr := header.SendMessageRequestV2{SendMessageRequest: *sendReq("V2", -1, map[string]string{message.PropTags: "x"})}
	resp := h.call(code.SendMessageV2, hdr.Encode(), []byte("short header"))
	wantCode(t, "send v2", resp, code.Success, "")
	var r header.SendMessageResponse
	if err := r.Decode(resp.ExtFields); err != nil || r.QueueID < 0 || r.QueueID > 3 || r.QueueOffset != 0 {
		t.Fatalf("send v2 answer %+v (%v)", r, err)
	}
}

func TestSendBatch(t *testing.T) {
	h := newHarness(t)
	h.createTopic("B", 2, 6)
	h.send("B", 0, "first", nil)
	entries := []message.BatchEntry{
		{Flag: 1, Body: []byte("e0"), Properties: message.EncodeProperties(map[string]string{message.PropTags: "t0"}) + "\x02"},
		{Flag: 2, Body: []byte("e1"), Properties: message.EncodeProperties(map[string]string{message.PropTags: "t1"})},
		{Flag: 3, Body: []byte("e2")},
	}
	bb, err := message.EncodeBatch(nil, entries)
	if err != nil {
		t.Fatal(err)
	}
	hdr := header.SendMessageRequestV2{SendMessageRequest: *sendReq("B", 0, map[string]string{"batchprop": "bv", message.PropWait: "true"})}
	hdr.Batch = true
	resp := h.call(code.SendBatchMessage, hdr.Encode(), bb)
	wantCode(t, "batch", resp, code.Success, "")
	var r header.SendMessageResponse
	if err := r.Decode(resp.ExtFields); err != nil {
		t.Fatal(err)
	}
	ids := strings.Split(r.MsgID, ",")
	if len(ids) != 3 || r.QueueOffset != 1 || r.QueueID != 0 {
		t.Fatalf("batch answer: ids %v queue %d offset %d, want 3 ids on queue 0 from offset 1", ids, r.QueueID, r.QueueOffset)
	}
	h.waitDispatched("B", 0, 4)
	resp = h.pull(pullReq("cg", "B", 0, 1))
	msgs := records(t, resp.Body)
	if len(msgs) != 3 {
		t.Fatalf("pulled %d, want 3", len(msgs))
	}
	for i, m := range msgs {
		if m.QueueOffset != int64(1+i) || m.Flag != int32(i+1) || string(m.Body) != fmt.Sprint("e", i) {
			t.Fatalf("entry %d: offset %d flag %d body %q", i, m.QueueOffset, m.Flag, m.Body)
		}
		if got := message.OffsetMsgID(m.StoreHost, m.PhysicalOffset); got != ids[i] {
			t.Fatalf("entry %d: id %s, answer said %s", i, got, ids[i])
		}
		if m.Properties["batchprop"] != "bv" || m.Properties[message.PropCluster] != "ClusterT" {
			t.Fatalf("entry %d: batch properties missing: %v", i, m.Properties)
		}
		if _, ok := m.Properties[message.PropWait]; ok {
			t.Fatalf("entry %d: WAIT stored", i)
		}
		if i < 2 && m.Properties[message.PropTags] != fmt.Sprint("t", i) {
			t.Fatalf("entry %d: own properties lost: %v", i, m.Properties)
		}
	}
	// Malformed batch bodies and batches to retry topics are refused.
	wantCode(t, "bad batch", h.call(code.SendBatchMessage, hdr.Encode(), bb[:len(bb)-1]), code.MessageIllegal, "batch")
	rh := header.SendMessageRequestV2{SendMessageRequest: *sendReq("%RETRY%g", 0, nil)}
	rh.Batch = true
	wantCode(t, "retry batch", h.call(code.SendBatchMessage, rh.Encode(), bb), code.MessageIllegal, "retry")
	// Many small entries that each repeat 30 KB of request properties.
	many := make([]message.BatchEntry, 1000)
	for i := range many {
		many[i].Body = []byte("x")
	}
	manyBody, _ := message.EncodeBatch(nil, many)
	bigHdr := header.SendMessageRequestV2{SendMessageRequest: *sendReq("B", 0, map[string]string{"pad": strings.Repeat("p", 30000)})}
	bigHdr.Batch = true
	wantCode(t, "expanding batch", h.call(code.SendBatchMessage, bigHdr.Encode(), manyBody), code.MessageIllegal, "expands")
	delayed, _ := message.EncodeBatch(nil, []message.BatchEntry{{Body: []byte("d"), Properties: "DELAY\x012"}})
	wantCode(t, "delay in batch", h.call(code.SendBatchMessage, hdr.Encode(), delayed), code.SystemError, "delay messages not supported yet")
}

func TestAutoCreateTopic(t *testing.T) {
	h := newHarness(t)
	r := h.send("Fresh", 2, "hello", nil) // defaultTopicQueueNums 4 in the header
	if r.QueueOffset != 0 || r.QueueID != 2 {
		t.Fatalf("first send: %+v", r)
	}
	tc, ok := h.b.topics.Get("Fresh")
	if !ok || tc.GetReadQueueNums() != 4 || tc.GetWriteQueueNums() != 4 || tc.GetPerm() != 6 {
		t.Fatalf("auto-created topic %v (present %v), want 4/4 perm 6", tc, ok)
	}
	// The queue count is capped by TBW102's write queues.
	hdr := sendReq("Wide", 0, nil)
	hdr.DefaultTopicQueueNums = 64
	wantCode(t, "wide", h.sendWith(hdr, []byte("x")), code.Success, "")
	if tc, _ := h.b.topics.Get("Wide"); tc.GetWriteQueueNums() != 8 {
		t.Fatalf("capped queues: %d, want 8", tc.GetWriteQueueNums())
	}
	if _, ok := h.topicConfigs().TopicConfigTable["Fresh"]; !ok {
		t.Fatal("auto-created topic missing from GET_ALL_TOPIC_CONFIG")
	}
}

func TestAutoCreateDisabled(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.AutoCreateTopicEnable = false })
	if tc, _ := h.b.topics.Get(meta.TopicAutoCreate); tc.GetPerm() != 6 {
		t.Fatalf("TBW102 perm %d with auto-create off, want 6", tc.GetPerm())
	}
	wantCode(t, "unknown topic", h.sendWith(sendReq("Nope", 0, nil), []byte("x")), code.TopicNotExist, "create it first")
	if _, ok := h.b.topics.Get("Nope"); ok {
		t.Fatal("topic created although auto-create is off")
	}
	// A template with INHERIT other than TBW102 does not bypass the switch either.
	hdr := sendReq("Nope", 0, nil)
	hdr.DefaultTopic = "ClusterT"
	wantCode(t, "other template", h.sendWith(hdr, []byte("x")), code.TopicNotExist, "UPDATE_AND_CREATE_TOPIC")
	h.createTopic("Nope", 2, 6)
	h.send("Nope", 1, "now it exists", nil)
}

func TestAutoCreateSwitchFollowsRestart(t *testing.T) {
	h := newHarness(t)
	h.bo.AutoCreateTopicEnable = false
	h.reopen()
	if tc, _ := h.b.topics.Get(meta.TopicAutoCreate); tc.GetPerm() != 6 {
		t.Fatalf("TBW102 perm %d after turning auto-create off, want 6", tc.GetPerm())
	}
	wantCode(t, "unknown topic", h.sendWith(sendReq("X", 0, nil), []byte("x")), code.TopicNotExist, "X")
}

func TestRetryTopicToDLQ(t *testing.T) {
	h := newHarness(t)
	// Below the max: stored in the retry topic, created on first use.
	hdr := sendReq("%RETRY%cg", 0, nil)
	hdr.ReconsumeTimes = 1
	hdr.MaxReconsumeTimes = header.Int32(3)
	resp := h.sendWith(hdr, []byte("retry me"))
	wantCode(t, "retry", resp, code.Success, "")
	if _, ok := h.b.topics.Get("%RETRY%cg"); !ok {
		t.Fatal("retry topic not created")
	}
	// At the max: redirected to the DLQ (one queue, perm 6).
	hdr.ReconsumeTimes = 3
	resp = h.sendWith(hdr, []byte("dead"))
	wantCode(t, "dlq", resp, code.Success, "")
	h.waitDispatched("%DLQ%cg", 0, 1)
	tc, ok := h.b.topics.Get("%DLQ%cg")
	if !ok || tc.GetWriteQueueNums() != 1 || tc.GetPerm() != 6 {
		t.Fatalf("DLQ topic %v (present %v)", tc, ok)
	}
	pr := h.pull(pullReq("cg", "%DLQ%cg", 0, 0))
	msgs := records(t, pr.Body)
	if len(msgs) != 1 || string(msgs[0].Body) != "dead" || msgs[0].Topic != "%DLQ%cg" {
		t.Fatalf("DLQ holds %d records", len(msgs))
	}
}

func TestSyncFlushSend(t *testing.T) {
	h := newHarness(t, func(_ *Options, so *store.Options) { so.FlushMode = store.SyncFlush })
	h.createTopic("S", 1, 6)
	for i := 0; i < 5; i++ {
		if r := h.send("S", 0, fmt.Sprint("sync ", i), nil); r.QueueOffset != int64(i) {
			t.Fatalf("sync send %d: offset %d", i, r.QueueOffset)
		}
	}
	r := h.send("S", 0, "no wait", map[string]string{message.PropWait: "false"})
	if r.QueueOffset != 5 {
		t.Fatalf("WAIT=false send offset %d", r.QueueOffset)
	}
}

// slowDisk is the store with a flush that always times out.
type slowDisk struct{ *store.Store }

func (s slowDisk) OnFlushed(_ int64, fn func(error)) { fn(store.ErrFlushTimeout) }

// TestSyncFlushTimeout: a send whose flush times out is answered FLUSH_DISK_TIMEOUT (10),
// which the client counts as sent, with msgId, queueId and queueOffset all present.
func TestSyncFlushTimeout(t *testing.T) {
	h := newHarnessWith(t, func(b *Broker) { b.putDst = slowDisk{b.store} },
		func(_ *Options, so *store.Options) { so.FlushMode = store.SyncFlush })
	h.createTopic("ST", 1, 6)
	resp := h.sendWith(sendReq("ST", 0, nil), []byte("late"))
	wantCode(t, "flush timeout", resp, code.FlushDiskTimeout, "flush")
	var r header.SendMessageResponse
	if err := r.Decode(resp.ExtFields); err != nil || len(r.MsgID) != 32 || r.QueueOffset != 0 {
		t.Fatalf("flush-timeout answer %+v (%v), want msgId and offsets", r, err)
	}
}

func TestRewriteProps(t *testing.T) {
	b := &Broker{opts: Options{ClusterName: "C"}}
	cases := []struct {
		in, want    string
		noWait      bool
		unsupported string
	}{
		{"", "CLUSTER\x01C", false, ""},
		{"A\x011\x02", "A\x011\x02CLUSTER\x01C", false, ""},
		{"WAIT\x01false\x02A\x011", "A\x011\x02CLUSTER\x01C", true, ""},
		{"CLUSTER\x01X\x02WAIT\x01true", "CLUSTER\x01C", false, ""},
		{"\x01v\x02k\x01\x02junk\x02B\x012", "B\x012\x02CLUSTER\x01C", false, ""},
		{"DELAY\x010\x02A\x011", "DELAY\x010\x02A\x011\x02CLUSTER\x01C", false, ""},
		{"DELAY\x014", "DELAY\x014\x02CLUSTER\x01C", false, ""},                  // routed by delay.go
		{"SCHEDULE_FROM\x01L1:5\x02A\x011", "A\x011\x02CLUSTER\x01C", false, ""}, // the scheduler's mark, never a client's
		{"TRAN_MSG\x01true", "TRAN_MSG\x01true\x02CLUSTER\x01C", false, "transactional messages"},
	}
	for _, c := range cases {
		got, sp := b.rewriteProps(nil, c.in)
		if string(got) != c.want || sp.noWait != c.noWait || sp.unsupported != c.unsupported {
			t.Errorf("rewriteProps(%q) = %q %+v, want %q noWait %v unsupported %q", c.in, got, sp, c.want, c.noWait, c.unsupported)
		}
	}
}
