package broker

import (
	"testing"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/store"
)

// The trace topic exists from start-up with Apache's shape (1 queue, perm 6), takes
// client sends even with auto-creation off, and admin requests cannot replace or
// delete it.
func TestTraceTopicBuiltin(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.AutoCreateTopicEnable = false })
	tc, ok := h.topicConfigs().TopicConfigTable[meta.TopicTrace]
	if !ok {
		t.Fatal("RMQ_SYS_TRACE_TOPIC missing at start-up")
	}
	if got := [3]int32{tc.ReadQueueNums, tc.WriteQueueNums, tc.Perm}; got != [3]int32{1, 1, 6} {
		t.Fatalf("trace topic read/write/perm %v, want [1 1 6]", got)
	}
	r := h.send(meta.TopicTrace, 0, "Pub\x011\x02", map[string]string{"KEYS": "id1 k1"})
	if r.QueueID != 0 || r.QueueOffset != 0 {
		t.Fatalf("trace send landed at queue %d offset %d, want 0/0", r.QueueID, r.QueueOffset)
	}
	create := header.CreateTopicRequest{Topic: meta.TopicTrace, DefaultTopic: meta.TopicAutoCreate, ReadQueueNums: 8,
		WriteQueueNums: 8, Perm: 6, TopicFilterType: body.FilterSingleTag}
	wantCode(t, "recreate", h.call(code.UpdateAndCreateTopic, create.Encode(), nil), code.SystemError, "system topic")
	wantCode(t, "delete", h.call(code.DeleteTopicInBroker, (&header.DeleteTopicRequest{Topic: meta.TopicTrace}).Encode(), nil),
		code.SystemError, "system topic")
}

// msgTraceTopicName renames the topic; traceTopicEnable=false creates none.
func TestTraceTopicOptions(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.MsgTraceTopicName = "MyTrace" })
	w := h.topicConfigs()
	if tc, ok := w.TopicConfigTable["MyTrace"]; !ok || tc.WriteQueueNums != 1 {
		t.Fatalf("renamed trace topic: %+v (present %v)", tc, ok)
	}
	if _, ok := w.TopicConfigTable[meta.TopicTrace]; ok {
		t.Fatal("default trace topic created although renamed")
	}
	off := newHarness(t, func(o *Options, _ *store.Options) { o.TraceTopicEnable = false })
	if _, ok := off.topicConfigs().TopicConfigTable[meta.TopicTrace]; ok {
		t.Fatal("trace topic created with traceTopicEnable=false")
	}
	bad := DefaultOptions()
	bad.MsgTraceTopicName = "a b"
	if err := bad.Validate(); err == nil {
		t.Fatal("invalid msgTraceTopicName accepted")
	}
}
