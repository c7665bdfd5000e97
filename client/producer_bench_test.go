package client

import (
	"context"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// BenchmarkSendRequestEncode is the client's per-attempt encoding of one prepared 1 KiB
// send: building the request command and framing it with the ROCKETMQ header, as the
// transport does into its write buffer.
func BenchmarkSendRequestEncode(b *testing.B) {
	p, err := NewProducer(WithNameServer("127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	out, err := p.prepare([]*Message{NewMessage("B", make([]byte, 1024)).WithTags("t").WithKeys("k")})
	if err != nil {
		b.Fatal(err)
	}
	mq := MessageQueue{Topic: "B", BrokerName: "broker-a", QueueID: 1}
	buf := make([]byte, 0, 4096)
	b.SetBytes(1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := p.request(out, mq)
		req.Serialize = codec.SerializeRocketMQ
		if buf, err = codec.AppendFrame(buf[:0], req, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProducerSendAsyncCancelCtx is BenchmarkProducerSendAsync with a context that
// can be cancelled but has no deadline (a signal context, as command-line programs
// pass): the attempts share the tick's deadline context as with context.Background.
func BenchmarkProducerSendAsyncCancelCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchSendAsync(b, ctx)
}

// benchSendAsync keeps up to 1024 1 KiB sends under ctx in flight to a fake broker.
func benchSendAsync(b *testing.B, ctx context.Context) {
	sendAsyncLoop(b, benchProducer(b, WithInlineCallbacks()), ctx)
}

// sendAsyncLoop keeps up to 1024 1 KiB sends of p to topic B under ctx in flight.
func sendAsyncLoop(b *testing.B, p *Producer, ctx context.Context) {
	msg := NewMessage("B", make([]byte, 1024))
	sem := make(chan struct{}, 1024)
	var wg sync.WaitGroup
	cb := func(_ *SendResult, err error) {
		if err != nil {
			b.Error(err)
		}
		<-sem
		wg.Done()
	}
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		if err := p.SendAsync(ctx, cb, msg); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
}
