package main

import (
	"context"
	"fmt"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/client/bench"
)

// produce runs bench.ProduceWith with the official producer.
func produce(ctx context.Context, c bench.LoadConfig) error {
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{c.NameServer}), producer.WithGroupName(c.Group), producer.WithRetry(2))
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	return bench.ProduceWith(ctx, c, officialProducer{p})
}

// officialProducer is bench.ProducerClient over the official producer.
type officialProducer struct{ p rocketmq.Producer }

func (o officialProducer) Sender(topic string, bodies [][]byte) bench.Sender {
	return &officialSender{p: o.p, topic: topic, bodies: bodies}
}

func (o officialProducer) Shutdown() { _ = o.p.Shutdown() }

// officialSender builds new messages for every send: the official client gives a
// message its unique key (UNIQ_KEY) on its first send and keeps it, so a message sent
// again would be the same message to the broker.
type officialSender struct {
	p      rocketmq.Producer
	topic  string
	bodies [][]byte
}

func (s *officialSender) msgs() []*primitive.Message {
	out := make([]*primitive.Message, len(s.bodies))
	for i, b := range s.bodies {
		out[i] = primitive.NewMessage(s.topic, b)
	}
	return out
}

func (s *officialSender) Send(ctx context.Context) error {
	r, err := s.p.SendSync(ctx, s.msgs()...)
	return sendOutcome(r, err)
}

func (s *officialSender) SendAsync(ctx context.Context, done func(error)) error {
	return s.p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) { done(sendOutcome(r, err)) }, s.msgs()...)
}

// sendOutcome is err, or an error for a result whose status is not SEND_OK: the
// message was stored but not flushed or replicated as the broker was asked to.
func sendOutcome(r *primitive.SendResult, err error) error {
	if err != nil || r == nil || r.Status == primitive.SendOK {
		return err
	}
	return fmt.Errorf("send status %d (not SEND_OK): %s", r.Status, r.String())
}

// consume runs bench.ConsumeWith with the official push consumer.
func consume(ctx context.Context, c bench.LoadConfig) error {
	from := consumer.ConsumeFromLastOffset
	if c.FromFirst {
		from = consumer.ConsumeFromFirstOffset
	}
	pc, err := rocketmq.NewPushConsumer(consumer.WithNameServer([]string{c.NameServer}), consumer.WithGroupName(c.Group),
		consumer.WithConsumeFromWhere(from))
	if err != nil {
		return err
	}
	return bench.ConsumeWith(ctx, c, officialConsumer{pc})
}

// officialConsumer is bench.ConsumerClient over the official push consumer.
type officialConsumer struct{ pc rocketmq.PushConsumer }

func (o officialConsumer) Start(_ context.Context, topic string, got func(bornMS, storeMS int64)) error {
	err := o.pc.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			got(m.BornTimestamp, m.StoreTimestamp)
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return err
	}
	return o.pc.Start()
}

func (o officialConsumer) Shutdown() error { return o.pc.Shutdown() }
