package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client"
)

// LoadConfig sets up the producer and consumer modes, modelled on RocketMQ's benchmark
// Producer and Consumer: a load runs until Duration passes (or Count messages), printing
// a line every Interval and a summary at the end.
type LoadConfig struct {
	NameServer string
	Topic      string
	Group      string
	Size       int           // producer: payload bytes
	Threads    int           // producer: sending goroutines
	Async      bool          // producer: SendAsync with Window in flight per goroutine
	Window     int           // producer: in-flight async sends per goroutine
	Batch      int           // producer: messages per send (a batch when > 1)
	Count      int64         // stop after this many messages; 0 means no limit
	Duration   time.Duration // stop after this long; 0 means until ctx ends
	Interval   time.Duration // reporting period
	Out        io.Writer
	Logger     zerolog.Logger
	TLS        *tls.Config // when set, every connection is TLS (mqbench -tls)
}

// Produce runs the producer mode.
func Produce(ctx context.Context, c LoadConfig) error {
	if c.Threads <= 0 || c.Size <= 0 || c.Batch <= 0 || c.Window <= 0 {
		return fmt.Errorf("bench: -threads, -size, -batch and -window must be positive")
	}
	p, err := client.NewProducer(client.WithNameServer(c.NameServer), client.WithTLS(c.TLS), client.WithProducerGroup(c.Group),
		client.WithLogger(c.Logger), client.WithInlineCallbacks())
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	defer p.Shutdown(context.Background())
	ctx, cancel := runContext(ctx, c.Duration)
	defer cancel()
	var (
		w       window
		total   window
		claimed atomic.Int64
		wg      sync.WaitGroup
	)
	claim := func() bool { return c.Count <= 0 || claimed.Add(int64(c.Batch)) <= c.Count }
	for i := 0; i < c.Threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]*client.Message, c.Batch)
			for j := range msgs {
				msgs[j] = client.NewMessage(c.Topic, make([]byte, c.Size))
			}
			sem := make(chan struct{}, c.Window)
			for ctx.Err() == nil && claim() {
				t0 := time.Now()
				if !c.Async {
					_, err := p.Send(ctx, msgs...)
					w.record(time.Since(t0), err)
					total.record(time.Since(t0), err)
					continue
				}
				sem <- struct{}{}
				err := p.SendAsync(ctx, func(_ *client.SendResult, err error) {
					w.record(time.Since(t0), err)
					total.record(time.Since(t0), err)
					<-sem
				}, msgs...)
				if err != nil {
					w.record(0, err)
					total.record(0, err)
					<-sem
				}
			}
			for range c.Window { // wait for this goroutine's sends in flight
				sem <- struct{}{}
			}
		}()
	}
	stop := report(c, func(el time.Duration) {
		ok, failed, avg, mx := w.take()
		fmt.Fprintf(c.Out, "%s Send TPS: %.0f Max RT(ms): %.3f Average RT(ms): %.3f Send Failed: %d Msgs/send: %d\n",
			time.Now().Format("15:04:05"), float64(ok*int64(c.Batch))/el.Seconds(), mx, avg, failed, c.Batch)
	})
	start := time.Now()
	wg.Wait()
	stop()
	el := time.Since(start)
	ok, failed, avg, mx := total.take()
	fmt.Fprintf(c.Out, "[summary] Send TPS: %.0f Messages: %d Failed sends: %d Max RT(ms): %.3f Average RT(ms): %.3f Seconds: %.1f\n",
		float64(ok*int64(c.Batch))/el.Seconds(), ok*int64(c.Batch), failed, mx, avg, el.Seconds())
	return nil
}

// Consume runs the consumer mode: a push consumer that reports consume TPS and the
// born-to-consume and store-to-consume latencies.
func Consume(ctx context.Context, c LoadConfig) error {
	var (
		w          window // born → consume
		storeLat   window // store → consume
		totalBorn  window
		totalStore window
		count      atomic.Int64
	)
	ctx, cancel := runContext(ctx, c.Duration)
	defer cancel()
	pc, err := client.NewPushConsumer(client.WithNameServer(c.NameServer), client.WithTLS(c.TLS), client.WithConsumerGroup(c.Group),
		client.WithLogger(c.Logger))
	if err != nil {
		return err
	}
	err = pc.Subscribe(c.Topic, client.SelectAll, func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		now := time.Now().UnixMilli()
		for _, m := range msgs {
			born := time.Duration(now-m.BornTimestamp) * time.Millisecond
			stored := time.Duration(now-m.StoreTimestamp) * time.Millisecond
			w.record(born, nil)
			totalBorn.record(born, nil)
			storeLat.record(stored, nil)
			totalStore.record(stored, nil)
		}
		if n := count.Add(int64(len(msgs))); c.Count > 0 && n >= c.Count {
			cancel()
		}
		return client.ConsumeSuccess, nil
	})
	if err != nil {
		return err
	}
	if err := pc.Start(ctx); err != nil {
		return err
	}
	stop := report(c, func(el time.Duration) {
		ok, _, avgB, maxB := w.take()
		_, _, avgS, maxS := storeLat.take()
		fmt.Fprintf(c.Out, "%s Consume TPS: %.0f Average(B2C) RT(ms): %.3f Average(S2C) RT(ms): %.3f MAX(B2C) RT(ms): %.3f MAX(S2C) RT(ms): %.3f\n",
			time.Now().Format("15:04:05"), float64(ok)/el.Seconds(), avgB, avgS, maxB, maxS)
	})
	start := time.Now()
	<-ctx.Done()
	stop()
	el := time.Since(start)
	if err := pc.Shutdown(context.Background()); err != nil {
		return err
	}
	ok, _, avgB, maxB := totalBorn.take()
	_, _, avgS, maxS := totalStore.take()
	fmt.Fprintf(c.Out, "[summary] Consume TPS: %.0f Messages: %d Average(B2C) RT(ms): %.3f Average(S2C) RT(ms): %.3f MAX(B2C) RT(ms): %.3f MAX(S2C) RT(ms): %.3f Seconds: %.1f\n",
		float64(ok)/el.Seconds(), ok, avgB, avgS, maxB, maxS, el.Seconds())
	return nil
}

// runContext bounds ctx by d when d > 0.
func runContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

// report calls line every c.Interval with the time since the previous call, until
// the returned stop function is called.
func report(c LoadConfig, line func(el time.Duration)) (stop func()) {
	interval := c.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				line(now.Sub(last))
				last = now
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
