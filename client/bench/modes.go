package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
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
	FromFirst  bool          // consumer: a new group starts at the oldest stored message
	Out        io.Writer     // the TPS lines and the summary
	Err        io.Writer     // why sends failed; os.Stderr when nil
	Logger     zerolog.Logger
	TLS        *tls.Config // when set, every connection is TLS (mqbench -tls)
}

// Sender sends one goroutine's batch again and again. A client builds one per sending
// goroutine, so the loop itself allocates nothing per send.
type Sender interface {
	Send(ctx context.Context) error
	// SendAsync returns an error when the send could not be started; otherwise done is
	// called once with the outcome.
	SendAsync(ctx context.Context, done func(error)) error
}

// ProducerClient is a started producer of one client library: the SDK of this module
// or, in the nested module tests/mqbench-official, Apache's Go client.
type ProducerClient interface {
	// Sender returns what sends bodies as one send (a batch when there are several) to topic.
	Sender(topic string, bodies [][]byte) Sender
	Shutdown()
}

// ConsumerClient is a push consumer of one client library, not yet started.
type ConsumerClient interface {
	// Start subscribes to every message of topic and starts consuming; got is called
	// with the born and store timestamps (Unix milliseconds) of each delivered message.
	Start(ctx context.Context, topic string, got func(bornMS, storeMS int64)) error
	Shutdown() error
}

// ErrAllSendsFailed is wrapped by the error of a producer run in which no send succeeded.
var ErrAllSendsFailed = errors.New("every send failed")

// Payload is the body of every message the producer mode sends: size bytes cycling
// through 'a'..'z', so a reader can check what arrived.
func Payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// Produce runs the producer mode with this module's client.
func Produce(ctx context.Context, c LoadConfig) error {
	if err := c.checkProducer(); err != nil {
		return err
	}
	p, err := newSDKProducer(ctx, c)
	if err != nil {
		return err
	}
	return ProduceWith(ctx, c, p)
}

func (c LoadConfig) checkProducer() error {
	if c.Threads <= 0 || c.Size <= 0 || c.Batch <= 0 || c.Window <= 0 {
		return fmt.Errorf("bench: -threads, -size, -batch and -window must be positive")
	}
	return nil
}

// ProduceWith runs the producer mode with p, which it shuts down at the end. Every
// interval it prints the TPS line and, the first time each reason appears, why sends
// failed; it returns an error wrapping ErrAllSendsFailed when sends were made and none
// succeeded.
func ProduceWith(ctx context.Context, c LoadConfig, p ProducerClient) error {
	defer p.Shutdown()
	if err := c.checkProducer(); err != nil {
		return err
	}
	errOut := c.Err
	if errOut == nil {
		errOut = os.Stderr
	}
	ctx, cancel := runContext(ctx, c.Duration)
	defer cancel()
	var (
		w       window
		total   window
		reasons failures
		claimed atomic.Int64
		wg      sync.WaitGroup
	)
	record := func(rt time.Duration, err error) {
		w.record(rt, err)
		total.record(rt, err)
		if err != nil {
			reasons.add(err)
		}
	}
	claim := func() bool { return c.Count <= 0 || claimed.Add(int64(c.Batch)) <= c.Count }
	payload := Payload(c.Size)
	for i := 0; i < c.Threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies := make([][]byte, c.Batch)
			for j := range bodies {
				bodies[j] = payload
			}
			s := p.Sender(c.Topic, bodies)
			sem := make(chan struct{}, c.Window)
			for ctx.Err() == nil && claim() {
				t0 := time.Now()
				if !c.Async {
					err := s.Send(ctx)
					record(time.Since(t0), err)
					continue
				}
				sem <- struct{}{}
				err := s.SendAsync(ctx, func(err error) {
					record(time.Since(t0), err)
					<-sem
				})
				if err != nil {
					record(0, err)
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
		reasons.printNew(errOut)
	})
	start := time.Now()
	wg.Wait()
	stop()
	el := time.Since(start)
	ok, failed, avg, mx := total.take()
	fmt.Fprintf(c.Out, "[summary] Send TPS: %.0f Messages: %d Failed sends: %d Max RT(ms): %.3f Average RT(ms): %.3f Seconds: %.1f\n",
		float64(ok*int64(c.Batch))/el.Seconds(), ok*int64(c.Batch), failed, mx, avg, el.Seconds())
	reasons.printSummary(errOut)
	if ok == 0 && failed > 0 {
		return fmt.Errorf("%w (%d sends; first reason: %s)", ErrAllSendsFailed, failed, reasons.first())
	}
	return nil
}

// Consume runs the consumer mode with this module's client.
func Consume(ctx context.Context, c LoadConfig) error {
	pc, err := newSDKConsumer(c)
	if err != nil {
		return err
	}
	return ConsumeWith(ctx, c, pc)
}

// ConsumeWith runs the consumer mode with pc: it reports consume TPS and the
// born-to-consume and store-to-consume latencies.
func ConsumeWith(ctx context.Context, c LoadConfig, pc ConsumerClient) error {
	var (
		w          window // born → consume
		storeLat   window // store → consume
		totalBorn  window
		totalStore window
		count      atomic.Int64
	)
	ctx, cancel := runContext(ctx, c.Duration)
	defer cancel()
	err := pc.Start(ctx, c.Topic, func(bornMS, storeMS int64) {
		now := time.Now().UnixMilli()
		born := time.Duration(now-bornMS) * time.Millisecond
		stored := time.Duration(now-storeMS) * time.Millisecond
		w.record(born, nil)
		totalBorn.record(born, nil)
		storeLat.record(stored, nil)
		totalStore.record(stored, nil)
		if n := count.Add(1); c.Count > 0 && n >= c.Count {
			cancel()
		}
	})
	if err != nil {
		_ = pc.Shutdown()
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
	if err := pc.Shutdown(); err != nil {
		return err
	}
	ok, _, avgB, maxB := totalBorn.take()
	_, _, avgS, maxS := totalStore.take()
	fmt.Fprintf(c.Out, "[summary] Consume TPS: %.0f Messages: %d Average(B2C) RT(ms): %.3f Average(S2C) RT(ms): %.3f MAX(B2C) RT(ms): %.3f MAX(S2C) RT(ms): %.3f Seconds: %.1f\n",
		float64(ok)/el.Seconds(), ok, avgB, avgS, maxB, maxS, el.Seconds())
	if ok == 0 {
		return nothingConsumed(c, fmt.Sprintf("%.1f", el.Seconds()))
	}
	return nil
}

// nothingConsumed is the error of a consumer run that ended without receiving a
// message, whichever client ran it (docs/mqbench.md §3): a consumer pointed at the
// wrong topic or group, or a new group without -from-first on an idle topic, would
// otherwise look like a successful run.
func nothingConsumed(c LoadConfig, seconds string) error {
	hint := "the topic holds no message, or they went to another group"
	if !c.FromFirst {
		hint = "a new group starts after the newest message unless -from-first"
	}
	return fmt.Errorf("consumer: no message received from topic %s by group %s in %s s (%s)", c.Topic, c.Group, seconds, hint)
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
