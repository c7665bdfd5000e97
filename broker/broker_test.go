package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// harness is a broker on 127.0.0.1:0 with its store in a temp dir, and a remoting
// client speaking to it.
type harness struct {
	t  *testing.T
	b  *Broker
	cl *transport.Client
	bo Options
	so store.Options
	// beforeStart, when set, runs between Open and Start: the place to install fakes
	// before any server goroutine can read them.
	beforeStart func(*Broker)
}

type harnessOpt func(*Options, *store.Options)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	return newHarnessWith(t, nil, opts...)
}

// newHarnessWith is newHarness with a hook run between Open and Start.
func newHarnessWith(t *testing.T, beforeStart func(*Broker), opts ...harnessOpt) *harness {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	bo := DefaultOptions()
	bo.ListenAddr = "127.0.0.1:0"
	bo.NamesrvAddrs = nil
	bo.BrokerName = "broker-t"
	bo.ClusterName = "ClusterT"
	bo.Logger = log
	so := store.DefaultOptions()
	so.Dir = filepath.Join(t.TempDir(), "store")
	so.CommitLogSegmentBytes = 4 << 20
	so.ConsumeQueueUnits = 4096
	so.MaxMessageBytes = 256 << 10
	so.Logger = log
	for _, fn := range opts {
		fn(&bo, &so)
	}
	h := &harness{t: t, bo: bo, so: so, beforeStart: beforeStart}
	h.open()
	h.cl = transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second, Logger: log})
	t.Cleanup(func() {
		h.cl.Close()
		if h.b != nil {
			if err := h.b.Close(); err != nil {
				t.Errorf("close broker: %v", err)
			}
		}
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	b, err := Open(h.bo, h.so)
	if err != nil {
		h.t.Fatalf("open broker: %v", err)
	}
	if h.beforeStart != nil {
		h.beforeStart(b)
	}
	if err := b.Start(context.Background()); err != nil {
		b.Close()
		h.t.Fatalf("start broker: %v", err)
	}
	h.b = b
}

// reopen closes the broker and opens it again on the same directories (a new port).
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.b.Close(); err != nil {
		h.t.Fatalf("close broker: %v", err)
	}
	h.b = nil
	h.cl.Close()
	h.cl = transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second})
	h.open()
}

// call sends a request and waits up to 10 s for the answer.
func (h *harness) call(c int32, ext map[string]string, b []byte) *codec.Command {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.cl.Invoke(ctx, h.b.Addr(), codec.NewRequest(c, ext, b))
	if err != nil {
		h.t.Fatalf("request %d: %v", c, err)
	}
	return resp
}

// sendReq is the long header of a normal send, which tests modify.
func sendReq(topic string, queueID int32, props map[string]string) *header.SendMessageRequest {
	return &header.SendMessageRequest{
		ProducerGroup:         "pg",
		Topic:                 topic,
		DefaultTopic:          meta.TopicAutoCreate,
		DefaultTopicQueueNums: 4,
		QueueID:               queueID,
		BornTimestamp:         time.Now().UnixMilli(),
		Properties:            message.EncodeProperties(props),
		MaxReconsumeTimes:     header.Int32(0),
	}
}

func (h *harness) sendWith(hdr *header.SendMessageRequest, body []byte) *codec.Command {
	h.t.Helper()
	return h.call(code.SendMessage, hdr.Encode(), body)
}

// send sends one message and fails the test unless it was stored.
func (h *harness) send(topic string, queueID int32, body string, props map[string]string) *header.SendMessageResponse {
	h.t.Helper()
	resp := h.sendWith(sendReq(topic, queueID, props), []byte(body))
	if resp.Code != code.Success {
		h.t.Fatalf("send to %s:%d: code %d remark %q", topic, queueID, resp.Code, resp.Remark)
	}
	var r header.SendMessageResponse
	if err := r.Decode(resp.ExtFields); err != nil {
		h.t.Fatalf("send response header: %v (%v)", err, resp.ExtFields)
	}
	// Dispatch into the ConsumeQueue is asynchronous: wait until a pull can see it.
	h.waitDispatched(topic, r.QueueID, r.QueueOffset+1)
	return &r
}

// waitDispatched polls until the queue's max offset reaches n.
func (h *harness) waitDispatched(topic string, q int32, n int64) {
	h.t.Helper()
	waitMax(h.t, h.b, topic, q, n)
}

// pullReq is a push consumer's pull header without the suspend bit.
func pullReq(group, topic string, queueID int32, offset int64) *header.PullMessageRequest {
	return &header.PullMessageRequest{
		ConsumerGroup:        group,
		Topic:                topic,
		QueueID:              queueID,
		QueueOffset:          offset,
		MaxMsgNums:           32,
		SuspendTimeoutMillis: 20000,
		ExpressionType:       exprTag,
	}
}

func (h *harness) pull(p *header.PullMessageRequest) *codec.Command {
	h.t.Helper()
	return h.call(code.PullMessage, p.Encode(), nil)
}

// pullHeader decodes the four offsets every pull answer must carry.
func pullHeader(t *testing.T, resp *codec.Command) header.PullMessageResponse {
	t.Helper()
	var ph header.PullMessageResponse
	if err := ph.Decode(resp.ExtFields); err != nil {
		t.Fatalf("pull response (code %d %q) lacks offsets: %v: %v", resp.Code, resp.Remark, err, resp.ExtFields)
	}
	return ph
}

// records splits a pull body into decoded records.
func records(t *testing.T, b []byte) []*message.Ext {
	t.Helper()
	var out []*message.Ext
	for len(b) > 0 {
		m, n, err := message.DecodeRecord(b)
		if err != nil {
			t.Fatalf("decode record %d: %v", len(out), err)
		}
		out = append(out, m)
		b = b[n:]
	}
	return out
}

func (h *harness) createTopic(topic string, queues int32, perm int32) {
	h.t.Helper()
	req := &header.CreateTopicRequest{Topic: topic, DefaultTopic: meta.TopicAutoCreate, ReadQueueNums: queues,
		WriteQueueNums: queues, Perm: perm, TopicFilterType: body.FilterSingleTag}
	if resp := h.call(code.UpdateAndCreateTopic, req.Encode(), nil); resp.Code != code.Success {
		h.t.Fatalf("create topic %s: code %d %q", topic, resp.Code, resp.Remark)
	}
}

func (h *harness) topicConfigs() *body.TopicConfigSerializeWrapper {
	h.t.Helper()
	resp := h.call(code.GetAllTopicConfig, nil, nil)
	if resp.Code != code.Success {
		h.t.Fatalf("get all topic config: code %d %q", resp.Code, resp.Remark)
	}
	w, err := body.DecodeTopicConfigSerializeWrapper(resp.Body)
	if err != nil {
		h.t.Fatalf("decode topic configs: %v\n%s", err, resp.Body)
	}
	return w
}

func (h *harness) queryOffset(group, topic string, q int32) (int32, int64) {
	h.t.Helper()
	resp := h.call(code.QueryConsumerOffset, (&header.QueryConsumerOffsetRequest{ConsumerGroup: group, Topic: topic, QueueID: q}).Encode(), nil)
	if resp.Code != code.Success {
		return resp.Code, -1
	}
	off, err := strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
	if err != nil {
		h.t.Fatalf("query offset: offset %q: %v", resp.ExtFields["offset"], err)
	}
	return resp.Code, off
}

func wantCode(t *testing.T, what string, resp *codec.Command, c int32, remarkHas string) {
	t.Helper()
	if resp.Code != c {
		t.Fatalf("%s: code %d remark %q, want code %d", what, resp.Code, resp.Remark, c)
	}
	if remarkHas != "" && !strings.Contains(resp.Remark, remarkHas) {
		t.Fatalf("%s: remark %q does not mention %q", what, resp.Remark, remarkHas)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"slave without id", func(o *Options) { o.BrokerRole = RoleSlave }, "brokerId > 0"},
		{"sync master with slave id", func(o *Options) { o.BrokerRole, o.BrokerID = RoleSyncMaster, 2 }, "brokerId 0"},
		{"bad role", func(o *Options) { o.BrokerRole = "LEADER" }, "brokerRole"},
		{"empty name", func(o *Options) { o.BrokerName = "" }, "brokerName"},
		{"bad name", func(o *Options) { o.BrokerName = "a b" }, "brokerName"},
		{"queues", func(o *Options) { o.DefaultTopicQueueNums = 0 }, "defaultTopicQueueNums"},
		{"short poll unit", func(o *Options) { o.ShortPollingTime = 1000 }, "shortPollingTimeMills"},
		{"advertise", func(o *Options) { o.AdvertiseIP = "host" }, "brokerIP1"},
		{"namesrv", func(o *Options) { o.NamesrvAddrs = []string{"localhost:9876"} }, "namesrvAddr"},
		{"transfer", func(o *Options) { o.MaxTransferCount = 0 }, "maxTransferCount"},
		{"slave id", func(o *Options) { o.BrokerID = 1 }, "brokerId"},
	}
	for _, c := range cases {
		o := DefaultOptions()
		c.mod(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	o := DefaultOptions()
	for _, p := range []time.Duration{time.Second, 30 * time.Second, 5 * time.Minute} {
		o.RegisterPeriod = p
		if got := o.ClampedRegisterPeriod(); got < 10*time.Second || got > 60*time.Second {
			t.Errorf("register period %v clamped to %v", p, got)
		}
	}
}

func TestBuiltinTopics(t *testing.T) {
	h := newHarness(t)
	w := h.topicConfigs()
	want := map[string][3]int32{ // read, write, perm
		meta.TopicAutoCreate:       {8, 8, 7},
		meta.TopicSelfTest:         {1, 1, 6},
		meta.TopicOffsetMovedEvent: {1, 1, 6},
		meta.TopicSchedule:         {18, 18, 6},
		"ClusterT":                 {16, 16, 7},
		"broker-t":                 {1, 1, 7},
		"ClusterT_REPLY_TOPIC":     {1, 1, 6},
	}
	for name, w3 := range want {
		tc, ok := w.TopicConfigTable[name]
		if !ok {
			t.Errorf("built-in topic %s missing", name)
			continue
		}
		if got := [3]int32{tc.ReadQueueNums, tc.WriteQueueNums, tc.Perm}; got != w3 {
			t.Errorf("topic %s: read/write/perm %v, want %v", name, got, w3)
		}
	}
	if w.DataVersion.Counter == 0 || w.DataVersion.Timestamp == 0 {
		t.Errorf("data version %+v not stamped", w.DataVersion)
	}
}

func TestTopicConfigPersistsAcrossReopen(t *testing.T) {
	h := newHarness(t)
	h.createTopic("Persisted", 3, 6)
	before := h.topicConfigs()
	h.reopen()
	after := h.topicConfigs()
	tc, ok := after.TopicConfigTable["Persisted"]
	if !ok || tc.ReadQueueNums != 3 || tc.WriteQueueNums != 3 || tc.Perm != 6 {
		t.Fatalf("after reopen: Persisted = %+v (present %v), want 3/3 perm 6", tc, ok)
	}
	if after.DataVersion != before.DataVersion {
		t.Fatalf("data version changed by a plain reopen: %+v → %+v", before.DataVersion, after.DataVersion)
	}
	// A message sent before and after the reopen lands in one queue with consecutive
	// offsets: the store and the topic agree.
	h.send("Persisted", 2, "after", nil)
	if r := h.send("Persisted", 2, "after2", nil); r.QueueOffset != 1 {
		t.Fatalf("queue offset after reopen: %d, want 1", r.QueueOffset)
	}
}

func TestOffsetsPersistAcrossReopen(t *testing.T) {
	h := newHarness(t)
	h.createTopic("Off", 2, 6)
	for i := 0; i < 5; i++ {
		h.send("Off", 1, fmt.Sprint("m", i), nil)
	}
	up := &header.UpdateConsumerOffsetRequest{ConsumerGroup: "cg", Topic: "Off", QueueID: 0, CommitOffset: 7}
	wantCode(t, "update offset", h.call(code.UpdateConsumerOffset, up.Encode(), nil), code.Success, "")
	// The commit offset piggybacked on a pull (sysFlag bit 0).
	p := pullReq("cg", "Off", 1, 0)
	p.SysFlag = header.PullCommitOffset
	p.CommitOffset = 3
	wantCode(t, "pull with commit", h.pull(p), code.Success, "FOUND")

	h.reopen()
	if c, off := h.queryOffset("cg", "Off", 0); c != code.Success || off != 7 {
		t.Fatalf("queue 0 after reopen: code %d offset %d, want 0 and 7", c, off)
	}
	if c, off := h.queryOffset("cg", "Off", 1); c != code.Success || off != 3 {
		t.Fatalf("queue 1 after reopen: code %d offset %d, want 0 and 3", c, off)
	}
	if got := h.b.offsets.Groups("Off"); len(got) != 1 || got[0] != "cg" {
		t.Fatalf("groups with offsets on Off: %v, want [cg]", got)
	}
}

func TestSubscriptionGroupAdmin(t *testing.T) {
	h := newHarness(t)
	cfg := `{"groupName":"admin_g","consumeEnable":false,"retryMaxTimes":3}`
	wantCode(t, "create group", h.call(code.UpdateAndCreateSubGroup, nil, []byte(cfg)), code.Success, "")
	wantCode(t, "bad group body", h.call(code.UpdateAndCreateSubGroup, nil, []byte(`{"groupName":`)), code.SystemError, "SubscriptionGroupConfig")
	resp := h.call(code.GetAllSubscriptionGroupConfig, nil, nil)
	wantCode(t, "get groups", resp, code.Success, "")
	var w struct {
		SubscriptionGroupTable map[string]map[string]any `json:"subscriptionGroupTable"`
		DataVersion            struct{ Timestamp, Counter int64 }
	}
	dec := json.NewDecoder(strings.NewReader(string(resp.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("strict decode of %s: %v", resp.Body, err)
	}
	g := w.SubscriptionGroupTable["admin_g"]
	if g["consumeEnable"] != false || g["retryMaxTimes"] != float64(3) || g["retryQueueNums"] != float64(1) ||
		g["consumeBroadcastEnable"] != true || g["whichBrokerWhenConsumeSlowly"] != float64(1) {
		t.Fatalf("group admin_g: %v", g)
	}
	if w.DataVersion.Counter < 1 {
		t.Fatalf("group data version %+v", w.DataVersion)
	}
	// The group may not consume.
	h.createTopic("G", 1, 6)
	wantCode(t, "pull by disabled group", h.pull(pullReq("admin_g", "G", 0, 0)), code.NoPermission, "admin_g")
	h.reopen()
	wantCode(t, "pull by disabled group after reopen", h.pull(pullReq("admin_g", "G", 0, 0)), code.NoPermission, "admin_g")
}

func TestUnknownGroupWithoutAutoCreate(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.AutoCreateSubscriptionGroup = false })
	h.createTopic("G", 1, 6)
	wantCode(t, "pull by unknown group", h.pull(pullReq("nobody", "G", 0, 0)), code.SubscriptionGroupNotExist, "nobody")
	wantCode(t, "create group", h.call(code.UpdateAndCreateSubGroup, nil, []byte(`{"groupName":"nobody"}`)), code.Success, "")
	wantCode(t, "pull after create", h.pull(pullReq("nobody", "G", 0, 0)), code.PullNotFound, "")
}
