package compat5

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// The official 4.x client (github.com/apache/rocketmq-client-go/v2 v2.1.2) speaks
// remoting with JSON headers and no protobuf, so it shares this module with the 5.x SDK:
// one process can send with one and consume with the other.

var instanceSeq atomic.Int64

// instance4 returns a client instance name unique in the process: the 4.x client
// shares one client object among producers and consumers with the same ClientID.
func instance4() string { return fmt.Sprintf("compat5-%d", instanceSeq.Add(1)) }

// producer4 starts a 4.x producer that finds the broker through the standalone's
// NameServer; t.Cleanup shuts it down.
func (s *server) producer4(t testing.TB, group string, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	p, err := rocketmq.NewProducer(append([]producer.Option{
		producer.WithNameServer([]string{s.namesrv}),
		producer.WithGroupName(group),
		producer.WithInstanceName(instance4()),
		producer.WithRetry(2),
	}, opts...)...)
	if err != nil {
		t.Fatalf("new 4.x producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start 4.x producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// pushConsumer4 starts a clustering 4.x push consumer of group on topic from the
// first offset, delivering into box; t.Cleanup shuts it down.
func (s *server) pushConsumer4(t testing.TB, group, topic string, box *inbox4, opts ...consumer.Option) {
	t.Helper()
	pc, err := consumer.NewPushConsumer(append([]consumer.Option{
		consumer.WithNameServer([]string{s.namesrv}),
		consumer.WithGroupName(group),
		consumer.WithInstance(instance4()),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)...)
	if err != nil {
		t.Fatalf("new 4.x push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, box.handle); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("start 4.x push consumer: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
}

// inbox4 collects what a 4.x push consumer's callback receives.
type inbox4 struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
	n    atomic.Int64
	// countOnly counts deliveries without keeping them (throughput runs).
	countOnly bool
}

func (b *inbox4) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	if !b.countOnly {
		b.mu.Lock()
		b.msgs = append(b.msgs, msgs...)
		b.mu.Unlock()
	}
	b.n.Add(int64(len(msgs)))
	return consumer.ConsumeSuccess, nil
}

// wait waits until the inbox holds at least n messages and returns them.
func (b *inbox4) wait(t testing.TB, n int, timeout time.Duration) []*primitive.MessageExt {
	t.Helper()
	if !testutil.Poll(timeout, func() bool { return b.n.Load() >= int64(n) }) {
		t.Fatalf("4.x push consumer received %d messages within %v, want %d", b.n.Load(), timeout, n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*primitive.MessageExt(nil), b.msgs...)
}

// sendSync4 sends msg with the 4.x producer and fails the test unless the broker
// stored it.
func sendSync4(t testing.TB, p rocketmq.Producer, msg *primitive.Message) *primitive.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.SendSync(ctx, msg)
	if err != nil || res.Status != primitive.SendOK {
		t.Fatalf("4.x send to %s: %v %v", msg.Topic, res, err)
	}
	return res
}
