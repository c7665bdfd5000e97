package sdk

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// preload stores n 1 KiB messages in topic with batched sends (64 per request).
func preload(b *testing.B, c *cluster.Cluster, topic string, n int) {
	b.Helper()
	p, err := client.NewProducer(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(b)),
		client.WithProducerGroup("PG_bench"))
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	payload := make([]byte, 1024)
	for sent := 0; sent < n; {
		k := min(64, n-sent)
		batch := make([]*client.Message, k)
		for i := range batch {
			batch[i] = client.NewMessage(topic, payload)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := p.Send(ctx, batch...)
		cancel()
		if err != nil {
			b.Fatalf("preload: %v", err)
		}
		sent += k
	}
}

// BenchmarkPushConsume measures how fast a push consumer drains b.N stored 1 KiB
// messages from 4 queues (pull batch 32, concurrent listener doing nothing), from Start
// to the last listener call.
func BenchmarkPushConsume(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("consumeBatch=%d", batch), func(b *testing.B) {
			c := cluster.Start(b)
			topic := fmt.Sprintf("bench-push-%d", batch)
			c.CreateTopic(b, topic, 4)
			preload(b, c, topic, b.N)
			var got atomic.Int64
			done := make(chan struct{})
			pc, err := client.NewPushConsumer(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(b)),
				client.WithConsumerGroup("CG_bench"), client.WithConsumeFrom(client.ConsumeFromFirstOffset),
				client.WithConsumeBatchSize(batch))
			if err != nil {
				b.Fatal(err)
			}
			_ = pc.Subscribe(topic, client.SelectAll, func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
				if got.Add(int64(len(msgs))) == int64(b.N) {
					close(done)
				}
				return client.ConsumeSuccess, nil
			})
			b.SetBytes(1024)
			b.ReportAllocs()
			b.ResetTimer()
			if err := pc.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(120 * time.Second):
				b.Fatalf("consumed %d of %d", got.Load(), b.N)
			}
			b.StopTimer()
			_ = pc.Shutdown(context.Background())
		})
	}
}

// BenchmarkLitePullPoll measures Poll throughput over b.N stored 1 KiB messages.
func BenchmarkLitePullPoll(b *testing.B) {
	c := cluster.Start(b)
	const topic = "bench-poll"
	c.CreateTopic(b, topic, 4)
	preload(b, c, topic, b.N)
	pc, err := client.NewPullConsumer(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(b)),
		client.WithConsumerGroup("CG_bench_poll"), client.WithConsumeFrom(client.ConsumeFromFirstOffset), client.WithPollBatchSize(32))
	if err != nil {
		b.Fatal(err)
	}
	_ = pc.Subscribe(topic, client.SelectAll)
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	if err := pc.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for n := 0; n < b.N; {
		msgs, err := pc.Poll(ctx)
		if err != nil {
			b.Fatalf("poll after %d of %d: %v", n, b.N, err)
		}
		n += len(msgs)
	}
	b.StopTimer()
	_ = pc.Shutdown(context.Background())
}
