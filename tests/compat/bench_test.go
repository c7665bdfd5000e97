package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// The benchmarks measure rocketgo as the official client sees it: client and broker
// share the process (and the machine's cores), so the figures include the client's own
// cost, and allocs/op counts both sides. They are orientation for docs/performance.md's targets,
// not the targets' measurement (that is bin/mqbench against a separate broker process).

const benchBody = 1024

func benchMessage(topic string) *primitive.Message {
	return primitive.NewMessage(topic, bytes.Repeat([]byte{'x'}, benchBody))
}

// reportLatency adds p50 and p99 of the samples as benchmark metrics.
func reportLatency(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 { return float64(samples[int(q*float64(len(samples)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// One SendSync at a time (docs/performance.md L1 as the official client sees it).
func BenchmarkOfficialClientSendSync(b *testing.B) {
	e := newEnv(b)
	topic := e.name("T")
	e.c.CreateTopic(b, topic, 4)
	p := e.producer()
	sendSync(b, p, benchMessage(topic)) // route lookup and connection outside the timing
	b.SetBytes(benchBody)
	b.ReportAllocs()
	var lat []time.Duration
	for b.Loop() {
		began := time.Now()
		res, err := p.SendSync(context.Background(), benchMessage(topic))
		if err != nil || res.Status != primitive.SendOK {
			b.Fatalf("send: %v %+v", err, res)
		}
		lat = append(lat, time.Since(began))
	}
	reportLatency(b, lat)
}

// SendAsync with up to 256 sends in flight (the shape of docs/performance.md T1, with the official
// client's per-send goroutine and 3 s timer).
func BenchmarkOfficialClientSendAsync(b *testing.B) {
	e := newEnv(b)
	topic := e.name("T")
	e.c.CreateTopic(b, topic, 4)
	p := e.producer()
	sendSync(b, p, benchMessage(topic))
	const window = 256
	slots := make(chan struct{}, window)
	failed := make(chan error, 1)
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		slots <- struct{}{}
		err := p.SendAsync(context.Background(), func(_ context.Context, res *primitive.SendResult, err error) {
			if err == nil && res.Status != primitive.SendOK {
				err = fmt.Errorf("status %v", res.Status)
			}
			if err != nil {
				select {
				case failed <- err:
				default:
				}
			}
			<-slots
		}, benchMessage(topic))
		if err != nil {
			b.Fatalf("send async: %v", err)
		}
	}
	for i := 0; i < window; i++ { // drain: every callback has run
		slots <- struct{}{}
	}
	select {
	case err := <-failed:
		b.Fatalf("async send failed: %v", err)
	default:
	}
}

// A push consumer reading b.N stored 1 KiB messages from 4 queues (docs/performance.md T4 at the
// client's default pull batch of 32), from its start to the last delivery.
func BenchmarkOfficialClientPushConsume(b *testing.B) {
	e := newEnv(b)
	topic := e.name("T")
	e.c.CreateTopic(b, topic, 4)
	p := e.producer()
	for sent := 0; sent < b.N; {
		n := min(32, b.N-sent)
		msgs := make([]*primitive.Message, n)
		for i := range msgs {
			msgs[i] = benchMessage(topic)
		}
		sendSync(b, p, msgs...)
		sent += n
	}
	var got atomic.Int64
	var once sync.Once
	done := make(chan struct{})
	handler := func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		if got.Add(int64(len(msgs))) >= int64(b.N) {
			once.Do(func() { close(done) })
		}
		return consumer.ConsumeSuccess, nil
	}
	b.SetBytes(benchBody)
	b.ReportAllocs()
	b.ResetTimer()
	pc, err := consumer.NewPushConsumer(
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(e.name("CG")),
		consumer.WithInstance(e.instance()),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithConsumeMessageBatchMaxSize(32),
	)
	if err != nil {
		b.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{}, handler); err != nil {
		b.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pc.Shutdown() })
	select {
	case <-done:
		b.StopTimer()
	case <-time.After(5 * time.Minute):
		b.Fatalf("consumed %d of %d", got.Load(), b.N)
	}
}
