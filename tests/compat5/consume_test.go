package compat5

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

func sendBodies(t *testing.T, p rmq.Producer, topic string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := p.Send(context.Background(), &rmq.Message{Topic: topic, Body: []byte(b)}); err != nil {
			t.Fatalf("send %s: %v", b, err)
		}
	}
}

func bodiesOf(mvs []*rmq.MessageView) []string {
	out := make([]string, 0, len(mvs))
	for _, mv := range mvs {
		out = append(out, string(mv.GetBody()))
	}
	return out
}

// A SimpleConsumer receives and acks every message once; a message received and not
// acked comes back after its invisible time with its delivery attempt counted;
// ChangeInvisibleDuration holds it back longer.
func TestSDKSimpleConsumerReceiveAckRedeliver(t *testing.T) {
	s := startServer(t)
	s.createTopic(t, "simple5", 2, "")
	p := s.producer(t, rmq.WithTopics("simple5"))
	want := []string{"m0", "m1", "m2", "m3", "m4"}
	sendBodies(t, p, "simple5", want...)
	c := s.consumer(t, "gsimple5", "simple5", "*")

	got := receiveAll(t, c, len(want), 20*time.Second, false)
	if len(got) != len(want) {
		t.Fatalf("received %v, want %v", bodiesOf(got), want)
	}
	// Ack all but m0; extend m1's invisibility, then ack it late.
	var m0, m1 *rmq.MessageView
	for _, mv := range got {
		if mv.GetDeliveryAttempt() != 1 {
			t.Fatalf("%s: first delivery attempt %d, want 1", mv.GetBody(), mv.GetDeliveryAttempt())
		}
		switch string(mv.GetBody()) {
		case "m0":
			m0 = mv
		case "m1":
			m1 = mv
		default:
			if err := c.Ack(context.Background(), mv); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
	}
	_ = m0
	if err := c.ChangeInvisibleDuration(m1, 60*time.Second); err != nil {
		t.Fatalf("ChangeInvisibleDuration: %v", err)
	}
	// After m0's 20 s, m0 alone comes back, as its second attempt; m1 does not.
	back := receiveAll(t, c, 1, 20*time.Second, false)
	if len(back) != 1 || string(back[0].GetBody()) != "m0" || back[0].GetDeliveryAttempt() != 2 {
		t.Fatalf("redelivered %v (attempt %d), want m0 as attempt 2", bodiesOf(back), attemptOf(back))
	}
	if err := c.Ack(context.Background(), back[0]); err != nil {
		t.Fatalf("ack redelivered: %v", err)
	}
	if err := c.Ack(context.Background(), m1); err != nil {
		t.Fatalf("ack m1 with its renewed handle: %v", err)
	}
}

func attemptOf(mvs []*rmq.MessageView) int32 {
	if len(mvs) == 0 {
		return 0
	}
	return mvs[0].GetDeliveryAttempt()
}

// A FIFO group gets each message group's messages in send order.
func TestSDKFIFOOrderPerMessageGroup(t *testing.T) {
	s := startServer(t)
	s.createTopic(t, "fifo5", 2, "+message.type=FIFO")
	s.createGroup(t, "gfifo5", true, 16)
	p := s.producer(t, rmq.WithTopics("fifo5"))
	const perGroup = 10
	for i := range perGroup {
		for _, g := range []string{"ga", "gb"} {
			msg := &rmq.Message{Topic: "fifo5", Body: []byte(fmt.Sprintf("%s-%02d", g, i))}
			msg.SetMessageGroup(g)
			if _, err := p.Send(context.Background(), msg); err != nil {
				t.Fatalf("send: %v", err)
			}
		}
	}
	c := s.consumer(t, "gfifo5", "fifo5", "*")
	got := receiveAll(t, c, 2*perGroup, 20*time.Second, true)
	seq := map[string][]string{}
	for _, mv := range got {
		g := *mv.GetMessageGroup()
		seq[g] = append(seq[g], string(mv.GetBody()))
	}
	for _, g := range []string{"ga", "gb"} {
		if len(seq[g]) != perGroup || !sort.StringsAreSorted(seq[g]) {
			t.Fatalf("group %s received %v, want %d in order", g, seq[g], perGroup)
		}
	}
}
