package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client/trace"
	"github.com/rocketgo/rocketgo/proto/message"
)

// Message trace (docs/trace.md). A producer or push consumer with WithTrace writes
// Apache's trace records (client/trace) to the trace topic: the traced call only puts
// records on a bounded queue and never waits; a background goroutine sends them in
// batches through an internal producer. A full queue drops the record and counts it.

// Trace defaults.
const (
	// DefaultTraceQueueSize is how many trace records wait for the sender at most.
	DefaultTraceQueueSize = 2048
	// traceBatchRecords and traceMaxBodyBytes bound one trace message (the Go client's
	// batchSize and maxMsgSize).
	traceBatchRecords = 100
	traceMaxBodyBytes = 128000 - 10*1000
	// traceSendTimeout bounds the send of one trace message.
	traceSendTimeout = 5 * time.Second
	// traceProducerGroup is the group of the internal producer (Go client's
	// TraceGroupName).
	traceProducerGroup = "_INNER_TRACE_PRODUCER"
)

// TraceStats counts the trace records of a producer or push consumer.
type TraceStats struct {
	Sent    uint64 // stored in the trace topic
	Dropped uint64 // discarded because the queue was full (or the client shut down)
	Failed  uint64 // lost because their trace message could not be sent
}

// traceOptions are the trace settings of a producer or push consumer.
type traceOptions struct {
	enabled   bool
	topic     string
	queueSize int
}

// TraceOption configures message trace; producers and push consumers accept it.
type TraceOption func(*traceOptions)

func (f TraceOption) applyProducer(o *producerOptions)         { f(&o.trace) }
func (f TraceOption) applyPushConsumer(o *pushConsumerOptions) { f(&o.trace) }

// WithTrace turns message trace on: every send result (Pub, EndTransaction) or every
// consumption (SubBefore, SubAfter) is recorded in topic, RMQ_SYS_TRACE_TOPIC when
// topic is empty. Recording never slows or fails the traced call; see TraceStats.
func WithTrace(topic string) TraceOption {
	return func(o *traceOptions) {
		o.enabled = true
		o.topic = topic
	}
}

// WithTraceQueueSize bounds the records waiting to be sent (DefaultTraceQueueSize);
// beyond it records are dropped and counted in TraceStats.Dropped.
func WithTraceQueueSize(n int) TraceOption {
	return func(o *traceOptions) {
		if n > 0 {
			o.queueSize = n
		}
	}
}

// traceSender stores one trace message.
type traceSender func(ctx context.Context, body []byte, keys []string) error

// tracer queues trace records and sends them in batches on its own goroutine.
type tracer struct {
	in         chan trace.Record
	send       traceSender
	log        zerolog.Logger
	clientHost string

	sent, dropped, failed atomic.Uint64

	// stopProducer shuts the internal producer down (nil in unit tests).
	stopProducer func(context.Context) error

	ctx       context.Context // ends when Close gives up waiting
	cancel    context.CancelFunc
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// newTracer starts a tracer sending through send.
func newTracer(queueSize int, send traceSender, clientHost string, log zerolog.Logger) *tracer {
	if queueSize <= 0 {
		queueSize = DefaultTraceQueueSize
	}
	t := &tracer{in: make(chan trace.Record, queueSize), send: send, log: log, clientHost: clientHost,
		quit: make(chan struct{}), done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	go t.run()
	return t
}

// add queues r without waiting; a full queue, or a closed tracer, drops it.
func (t *tracer) add(r trace.Record) {
	select {
	case <-t.quit:
		t.dropped.Add(1)
		return
	default:
	}
	select {
	case t.in <- r:
	default:
		t.dropped.Add(1)
	}
}

// stats returns the counters.
func (t *tracer) stats() TraceStats {
	return TraceStats{Sent: t.sent.Load(), Dropped: t.dropped.Load(), Failed: t.failed.Load()}
}

// run sends what is queued, as it comes, until Close; then it sends what is left.
func (t *tracer) run() {
	defer close(t.done)
	for {
		select {
		case r := <-t.in:
			t.flush(t.collect(r))
		case <-t.quit:
			for {
				select {
				case r := <-t.in:
					t.flush(t.collect(r))
				default:
					return
				}
			}
		}
	}
}

// collect returns first and whatever else is queued now, up to one batch.
func (t *tracer) collect(first trace.Record) []trace.Record {
	batch := []trace.Record{first}
	for len(batch) < traceBatchRecords {
		select {
		case r := <-t.in:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// flush sends batch as trace messages of at most traceMaxBodyBytes each.
func (t *tracer) flush(batch []trace.Record) {
	var body []byte
	var keys []string
	seen := map[string]bool{}
	n := 0
	for i := range batch {
		body = batch[i].AppendTo(body)
		n++
		for _, k := range batch[i].TransKeys() {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		if len(body) >= traceMaxBodyBytes || i == len(batch)-1 {
			t.sendOne(body, keys, n)
			body, keys, n = nil, nil, 0
			clear(seen)
		}
	}
}

// sendOne stores one trace message of n records and counts the outcome.
func (t *tracer) sendOne(body []byte, keys []string, n int) {
	ctx, cancel := context.WithTimeout(t.ctx, traceSendTimeout)
	err := t.send(ctx, body, keys)
	cancel()
	if err != nil {
		t.failed.Add(uint64(n))
		t.log.Debug().Err(err).Int("records", n).Msg("trace records lost")
		return
	}
	t.sent.Add(uint64(n))
}

// close stops taking records and waits until the queued ones are sent, or ctx ends.
func (t *tracer) close(ctx context.Context) error {
	t.closeOnce.Do(func() { close(t.quit) })
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		t.cancel()
		<-t.done
		return fmt.Errorf("trace records not all sent: %w", ctx.Err())
	}
}

// startTracer builds the tracer of a client with options o: an internal producer of
// the same client identity sends to the trace topic, which must exist (a missing topic
// is not created from TBW102: its records fail and are counted).
func startTracer(ctx context.Context, o traceOptions, c clientOptions, log zerolog.Logger) (*tracer, error) {
	if !o.enabled {
		return nil, nil
	}
	topic := o.topic
	if topic == "" {
		topic = trace.DefaultTopic
	}
	po := defaultProducerOptions()
	po.client = c
	po.group = traceProducerGroup
	po.retries = 1
	po.createTopicKey = ""
	tp, err := NewProducer(producerOptionFunc(func(o *producerOptions) { *o = po }))
	if err != nil {
		return nil, err
	}
	if err := tp.Start(ctx); err != nil {
		return nil, err
	}
	send := func(ctx context.Context, body []byte, keys []string) error {
		_, err := tp.Send(ctx, NewMessage(topic, body).WithKeys(keys...))
		return err
	}
	ip := c.clientIP
	if ip == "" {
		ip = message.HostIPv4().String()
	}
	t := newTracer(o.queueSize, send, ip, log.With().Str("trace_topic", topic).Logger())
	t.stopProducer = func(ctx context.Context) error { return tp.Shutdown(ctx) }
	return t, nil
}

// shutdown closes the tracer and its internal producer.
func (t *tracer) shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	err := t.close(ctx)
	if t.stopProducer != nil {
		err = errors.Join(err, t.stopProducer(ctx))
	}
	return err
}
