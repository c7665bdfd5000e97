package broker

import (
	"testing"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
)

func TestCreateTopicValidation(t *testing.T) {
	h := newHarness(t)
	good := header.CreateTopicRequest{Topic: "T1", DefaultTopic: meta.TopicAutoCreate, ReadQueueNums: 8, WriteQueueNums: 8,
		Perm: 6, TopicFilterType: body.FilterMultiTag}
	cases := []struct {
		name   string
		mod    func(*header.CreateTopicRequest)
		remark string
	}{
		{"system topic", func(r *header.CreateTopicRequest) { r.Topic = meta.TopicAutoCreate }, "conflict with system topic"},
		{"cluster topic", func(r *header.CreateTopicRequest) { r.Topic = "ClusterT" }, "conflict with system topic"},
		{"bad name", func(r *header.CreateTopicRequest) { r.Topic = "a/b" }, "illegal characters"},
		{"zero queues", func(r *header.CreateTopicRequest) { r.ReadQueueNums = 0 }, "readQueueNums 0"},
		{"too many queues", func(r *header.CreateTopicRequest) { r.WriteQueueNums = 5000 }, "writeQueueNums 5000"},
		{"bad perm", func(r *header.CreateTopicRequest) { r.Perm = 16 }, "perm 16"},
		{"bad filter", func(r *header.CreateTopicRequest) { r.TopicFilterType = "SQL" }, "topicFilterType"},
	}
	for _, c := range cases {
		r := good
		c.mod(&r)
		wantCode(t, c.name, h.call(code.UpdateAndCreateTopic, r.Encode(), nil), code.SystemError, c.remark)
	}
	wantCode(t, "good", h.call(code.UpdateAndCreateTopic, good.Encode(), nil), code.Success, "")
	tc := h.topicConfigs().TopicConfigTable["T1"]
	if tc.ReadQueueNums != 8 || tc.Perm != 6 || tc.TopicFilterType != body.FilterMultiTag {
		t.Fatalf("created %+v", tc)
	}
	// Messages of a MULTI_TAG topic carry the MULTI_TAGS sysflag bit.
	h.send("T1", 0, "multi", nil)
	msgs := records(t, h.pull(pullReq("cg", "T1", 0, 0)).Body)
	if len(msgs) != 1 || msgs[0].SysFlag&0x2 == 0 {
		t.Fatalf("MULTI_TAG topic record sysflag %#x", msgs[0].SysFlag)
	}
	// An update replaces the config and bumps the version.
	v := h.topicConfigs().DataVersion
	good.ReadQueueNums = 4
	wantCode(t, "update", h.call(code.UpdateAndCreateTopic, good.Encode(), nil), code.Success, "")
	w := h.topicConfigs()
	if w.TopicConfigTable["T1"].ReadQueueNums != 4 || w.DataVersion.Counter != v.Counter+1 {
		t.Fatalf("after update: %+v version %+v (was %+v)", w.TopicConfigTable["T1"], w.DataVersion, v)
	}
}

func TestDeleteTopic(t *testing.T) {
	h := newHarness(t)
	h.createTopic("Del", 2, 6)
	h.createTopic("Keep", 1, 6)
	h.send("Del", 1, "gone", nil)
	h.send("Keep", 0, "stays", nil)
	for _, topic := range []string{"Del", "Keep"} {
		up := &header.UpdateConsumerOffsetRequest{ConsumerGroup: "cg", Topic: topic, QueueID: 0, CommitOffset: 1}
		wantCode(t, "commit "+topic, h.call(code.UpdateConsumerOffset, up.Encode(), nil), code.Success, "")
	}
	del := (&header.DeleteTopicRequest{Topic: "Del"}).Encode()
	wantCode(t, "delete", h.call(code.DeleteTopicInBroker, del, nil), code.Success, "")
	if _, ok := h.topicConfigs().TopicConfigTable["Del"]; ok {
		t.Fatal("deleted topic still configured")
	}
	wantCode(t, "pull deleted", h.pull(pullReq("cg", "Del", 1, 0)), code.TopicNotExist, "Del")
	if _, ok := h.b.offsets.Get("cg", "Del", 0); ok {
		t.Fatal("offset of the deleted topic kept")
	}
	if off, ok := h.b.offsets.Get("cg", "Keep", 0); !ok || off != 1 {
		t.Fatalf("offset of another topic: %d %v", off, ok)
	}
	if qs := h.b.Store().Queues("Del"); len(qs) != 0 {
		t.Fatalf("queues of the deleted topic: %v", qs)
	}
	// Deleting again succeeds; system topics cannot be deleted.
	wantCode(t, "delete again", h.call(code.DeleteTopicInBroker, del, nil), code.Success, "")
	wantCode(t, "delete TBW102", h.call(code.DeleteTopicInBroker, (&header.DeleteTopicRequest{Topic: meta.TopicAutoCreate}).Encode(), nil),
		code.SystemError, "system topic")
	// Gone across a reopen too.
	h.reopen()
	if _, ok := h.topicConfigs().TopicConfigTable["Del"]; ok {
		t.Fatal("deleted topic back after reopen")
	}
	if _, ok := h.b.offsets.Get("cg", "Del", 0); ok {
		t.Fatal("deleted offset back after reopen")
	}
	if _, ok := h.b.offsets.Get("cg", "Keep", 0); !ok {
		t.Fatal("kept offset lost after reopen")
	}
}
