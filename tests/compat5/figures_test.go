package compat5

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// Sizes of TestThroughputFigures (docs/performance.md, "gRPC vs remoting").
const (
	figN       = 20000 // messages per measurement
	figSenders = 16    // concurrent senders, and receive loops of the SimpleConsumer
	figRounds  = 3
	figQueues  = 8
	figBody    = 1024
)

// TestThroughputFigures measures, against one broker, 1 KiB sends with the 5.x SDK
// over gRPC against the official 4.x client over remoting at the same concurrency,
// then receiving them: a 5.x SimpleConsumer receiving and acking against a 4.x push
// consumer. The four measurements are interleaved in each of three rounds, so a busy
// moment of the machine hits both sides. It runs only with ROCKETGO_FIGURES=1.
func TestThroughputFigures(t *testing.T) {
	if os.Getenv("ROCKETGO_FIGURES") != "1" {
		t.Skip("throughput figures run only with ROCKETGO_FIGURES=1 (docs/performance.md)")
	}
	s := startServer(t)
	var topics5 []string
	for r := range figRounds {
		topics5 = append(topics5, fmt.Sprintf("fig5-%d", r))
		s.createTopic(t, topics5[r], figQueues, "")
		s.createTopic(t, fmt.Sprintf("fig4-%d", r), figQueues, "")
	}
	p5 := s.producer(t, rmq.WithTopics(topics5...))
	p4 := s.producer4(t, "pfig4")
	body := make([]byte, figBody)
	for i := range body {
		body[i] = byte('a' + i%26)
	}

	var send5, send4, recv5, recv4 []float64
	for r := range figRounds {
		topic5, topic4 := topics5[r], fmt.Sprintf("fig4-%d", r)
		send5 = append(send5, rate(t, "5.x send", func(i int) error {
			_, err := p5.Send(context.Background(), &rmq.Message{Topic: topic5, Body: body})
			return err
		}))
		send4 = append(send4, rate(t, "4.x send", func(i int) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := p4.SendSync(ctx, primitive.NewMessage(topic4, body))
			if err == nil && res.Status != primitive.SendOK {
				err = fmt.Errorf("status %d", res.Status)
			}
			return err
		}))
		recv5 = append(recv5, receive5(t, s, fmt.Sprintf("gfig5-%d", r), topic5))
		recv4 = append(recv4, receive4(t, s, fmt.Sprintf("gfig4-%d", r), topic4))
		t.Logf("round %d: send 5.x/gRPC %.0f, 4.x/remoting %.0f; receive 5.x/gRPC %.0f, 4.x/remoting %.0f msg/s",
			r+1, send5[r], send4[r], recv5[r], recv4[r])
	}
	t.Logf("median:  send 5.x/gRPC %.0f, 4.x/remoting %.0f; receive 5.x/gRPC %.0f, 4.x/remoting %.0f msg/s",
		median(send5), median(send4), median(recv5), median(recv4))
}

// rate runs send(i) for i in [0, figN) on figSenders goroutines and returns msg/s;
// any failed send fails the test.
func rate(t *testing.T, what string, send func(i int) error) float64 {
	t.Helper()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range figSenders {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < figN && failed.Load() == nil; i = int(next.Add(1)) - 1 {
				if err := send(i); err != nil {
					failed.Store(&err)
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("%s: %v", what, *err)
	}
	return figN / time.Since(start).Seconds()
}

// receive5 starts a SimpleConsumer of a new group on topic and returns the msg/s at
// which figSenders loops receive and ack all figN messages, from its start.
func receive5(t *testing.T, s *server, group, topic string) float64 {
	t.Helper()
	start := time.Now()
	c := s.consumer(t, group, topic, "*")
	var acked, failed atomic.Int64
	deadline := start.Add(3 * time.Minute)
	var wg sync.WaitGroup
	for range figSenders {
		wg.Go(func() {
			for acked.Load() < figN && time.Now().Before(deadline) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				mvs, err := c.Receive(ctx, 32, 30*time.Second)
				cancel()
				if err != nil {
					continue // "no new message" is an error in the SDK's API
				}
				for _, mv := range mvs {
					if err := c.Ack(context.Background(), mv); err != nil {
						failed.Add(1)
						continue
					}
					acked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if acked.Load() != figN || failed.Load() != 0 {
		t.Fatalf("5.x receive of %s: acked %d (want %d), %d acks failed", topic, acked.Load(), figN, failed.Load())
	}
	return figN / elapsed.Seconds()
}

// receive4 starts a 4.x push consumer of a new group on topic and returns the msg/s at
// which it consumes all figN messages, from its start.
func receive4(t *testing.T, s *server, group, topic string) float64 {
	t.Helper()
	start := time.Now()
	box := &inbox4{countOnly: true}
	s.pushConsumer4(t, group, topic, box)
	box.wait(t, figN, 3*time.Minute)
	elapsed := time.Since(start)
	if n := box.n.Load(); n != figN {
		t.Logf("4.x receive of %s: %d deliveries for %d messages", topic, n, figN)
	}
	return figN / elapsed.Seconds()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
