package bench

import (
	"context"

	"github.com/rocketgo/rocketgo/client"
)

// sdkProducer is ProducerClient over this module's client.
type sdkProducer struct{ p *client.Producer }

func newSDKProducer(ctx context.Context, c LoadConfig) (*sdkProducer, error) {
	p, err := client.NewProducer(client.WithNameServer(c.NameServer), client.WithTLS(c.TLS), client.WithProducerGroup(c.Group),
		client.WithLogger(c.Logger), client.WithInlineCallbacks())
	if err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return &sdkProducer{p}, nil
}

func (s *sdkProducer) Sender(topic string, bodies [][]byte) Sender {
	msgs := make([]*client.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = client.NewMessage(topic, b)
	}
	return &sdkSender{p: s.p, msgs: msgs}
}

func (s *sdkProducer) Shutdown() { _ = s.p.Shutdown(context.Background()) }

type sdkSender struct {
	p    *client.Producer
	msgs []*client.Message
}

func (s *sdkSender) Send(ctx context.Context) error {
	_, err := s.p.Send(ctx, s.msgs...)
	return err
}

func (s *sdkSender) SendAsync(ctx context.Context, done func(error)) error {
	return s.p.SendAsync(ctx, func(_ *client.SendResult, err error) { done(err) }, s.msgs...)
}

// sdkConsumer is ConsumerClient over this module's push consumer.
type sdkConsumer struct{ pc *client.PushConsumer }

func newSDKConsumer(c LoadConfig) (*sdkConsumer, error) {
	from := client.ConsumeFromLastOffset
	if c.FromFirst {
		from = client.ConsumeFromFirstOffset
	}
	pc, err := client.NewPushConsumer(client.WithNameServer(c.NameServer), client.WithTLS(c.TLS), client.WithConsumerGroup(c.Group),
		client.WithLogger(c.Logger), client.WithConsumeFrom(from))
	if err != nil {
		return nil, err
	}
	return &sdkConsumer{pc}, nil
}

func (s *sdkConsumer) Start(ctx context.Context, topic string, got func(bornMS, storeMS int64)) error {
	err := s.pc.Subscribe(topic, client.SelectAll, func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		for _, m := range msgs {
			got(m.BornTimestamp, m.StoreTimestamp)
		}
		return client.ConsumeSuccess, nil
	})
	if err != nil {
		return err
	}
	return s.pc.Start(ctx)
}

func (s *sdkConsumer) Shutdown() error { return s.pc.Shutdown(context.Background()) }
