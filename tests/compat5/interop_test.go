package compat5

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// A message sent by the 4.x client over remoting reaches a 5.x SimpleConsumer over
// gRPC with its body, tag, keys and user property as they were sent.
func TestInterop4xProducerTo5xSimpleConsumer(t *testing.T) {
	s := startServer(t)
	s.createTopic(t, "interop4to5", 2, "")
	c := s.consumer(t, "ginterop4to5", "interop4to5", "TagA")

	p := s.producer4(t, "pinterop4to5")
	msg := primitive.NewMessage("interop4to5", []byte("from 4.x"))
	msg.WithTag("TagA")
	msg.WithKeys([]string{"key-1", "key-2"})
	msg.WithProperty("color", "red")
	res := sendSync4(t, p, msg)

	got := receiveAll(t, c, 1, 20*time.Second, true)
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	mv := got[0]
	if string(mv.GetBody()) != "from 4.x" {
		t.Errorf("body %q, want %q", mv.GetBody(), "from 4.x")
	}
	if mv.GetTag() == nil || *mv.GetTag() != "TagA" {
		t.Errorf("tag %v, want TagA", mv.GetTag())
	}
	if !slices.Equal(mv.GetKeys(), []string{"key-1", "key-2"}) {
		t.Errorf("keys %q, want [key-1 key-2]", mv.GetKeys())
	}
	if v := mv.GetProperties()["color"]; v != "red" {
		t.Errorf("property color=%q, want red (properties %v)", v, mv.GetProperties())
	}
	if mv.GetMessageId() != res.MsgID {
		t.Errorf("message id %q, want the 4.x client's %q", mv.GetMessageId(), res.MsgID)
	}
	if mv.GetTopic() != "interop4to5" {
		t.Errorf("topic %q", mv.GetTopic())
	}
}

// A message sent by the 5.x SDK over gRPC reaches a 4.x push consumer over remoting
// with its body, tag, keys and user property as they were sent.
func TestInterop5xProducerTo4xPushConsumer(t *testing.T) {
	s := startServer(t)
	s.createTopic(t, "interop5to4", 2, "")
	p := s.producer(t, rmq.WithTopics("interop5to4"))
	msg := &rmq.Message{Topic: "interop5to4", Body: []byte("from 5.x")}
	msg.SetTag("TagB")
	msg.SetKeys("key-a", "key-b")
	msg.AddProperty("color", "blue")
	rs, err := p.Send(context.Background(), msg)
	if err != nil || len(rs) != 1 {
		t.Fatalf("5.x send: %v %v", rs, err)
	}

	var box inbox4
	s.pushConsumer4(t, "ginterop5to4", "interop5to4", &box)
	got := box.wait(t, 1, 30*time.Second)
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	m := got[0]
	if string(m.Body) != "from 5.x" {
		t.Errorf("body %q, want %q", m.Body, "from 5.x")
	}
	if m.GetTags() != "TagB" {
		t.Errorf("tag %q, want TagB", m.GetTags())
	}
	if m.GetKeys() != "key-a key-b" {
		t.Errorf("keys %q, want %q", m.GetKeys(), "key-a key-b")
	}
	if v := m.GetProperty("color"); v != "blue" {
		t.Errorf("property color=%q, want blue (properties %v)", v, m.GetProperties())
	}
	if m.MsgId != rs[0].MessageID {
		t.Errorf("message id %q, want the 5.x SDK's %q", m.MsgId, rs[0].MessageID)
	}
}
