package client

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// PushConsumer receives the messages of the topics it subscribes to and hands them to
// their listeners: RocketMQ's DefaultMQPushConsumer. It pulls every assigned queue with
// long polling, caches what it pulled (pausing a queue's pulls while its cache is over
// the limits), and calls listeners on a bounded pool of goroutines (concurrent) or one
// goroutine per queue (orderly, WithConsumeOrderly).
//
// In clustering mode (the default) the group's members divide each topic's queues
// among them with the allocate strategy, rebalancing when members come and go; offsets
// are committed to the brokers every 5 s, when a queue is taken away, and at Shutdown.
// The group's retry topic is subscribed automatically: messages a listener failed come
// back through it, with their original topic. In broadcasting mode every member reads
// every queue and keeps its offsets in a local file.
//
// Delivery is at least once: a message is redelivered after a crash, a rebalance or a
// failed consumption, never skipped. Methods are safe for concurrent use.
type PushConsumer struct {
	o    pushConsumerOptions
	core *consumerCore

	mu struct {
		sync.RWMutex
		state     int                 // stateNew, stateRunning, stateClosed
		listeners map[string]Listener // user topic → listener
	}

	tasks    chan consumeTask // concurrent: batches waiting for a worker
	sem      chan struct{}    // orderly: bounds listener calls across queues
	stop     chan struct{}    // closed at shutdown: workers end
	workers  sync.WaitGroup   // concurrent workers and delayed retries
	cctx     context.Context  // listeners' context
	ccancel  context.CancelFunc
	shutOnce sync.Once
	tracer   *tracer // nil without WithTrace; set by Start before any listener call
}

// Consumer states.
const (
	stateNew = iota
	stateRunning
	stateClosed
)

// NewPushConsumer returns a consumer configured by opts. WithConsumerGroup and
// WithNameServer are required. Subscribe, then Start.
func NewPushConsumer(opts ...PushConsumerOption) (*PushConsumer, error) {
	o := defaultPushConsumerOptions()
	for _, opt := range opts {
		if opt != nil {
			opt.applyPushConsumer(&o)
		}
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	p := &PushConsumer{o: o}
	p.mu.listeners = make(map[string]Listener)
	p.core = newConsumerCore(&p.o.consumerOptions, body.ConsumePassively, o.orderly, o.maxReconsumeTimes())
	p.core.deliver = p.deliver
	p.core.tryDeliver = p.tryDeliver
	p.core.startConsume = p.startConsume
	p.core.extraHandlers = map[int32]func(string, *codec.Command) *codec.Command{
		code.ConsumeMessageDirectly: p.handleConsumeDirectly,
	}
	if o.orderly && o.model == Clustering {
		p.core.extraLoops = append(p.core.extraLoops, p.lockLoop)
	}
	p.cctx, p.ccancel = context.WithCancel(context.Background())
	p.tasks = make(chan consumeTask, o.goroutines)
	p.sem = make(chan struct{}, o.goroutines)
	return p, nil
}

// Subscribe registers listener for the messages of topic that sel selects, replacing an
// earlier subscription of the topic. It may be called before or after Start; after
// Start the next rebalance (started at once) assigns the topic's queues.
func (p *PushConsumer) Subscribe(topic string, sel MessageSelector, listener Listener) error {
	if listener == nil {
		return invalidOption("subscribe %s: nil listener", topic)
	}
	if isRetryTopic(topic) {
		return invalidOption("subscribe %s: retry topics are subscribed automatically", topic)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.state == stateClosed {
		return ErrClosed
	}
	if err := p.core.subscribe(topic, sel); err != nil {
		return err
	}
	p.mu.listeners[topic] = listener
	if p.mu.state == stateRunning {
		p.core.kickRebalance()
	}
	return nil
}

// Unsubscribe stops reading topic; its queues are released (offsets committed) by the
// rebalance it starts.
func (p *PushConsumer) Unsubscribe(topic string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.state == stateClosed {
		return ErrClosed
	}
	p.core.unsubscribe(topic)
	delete(p.mu.listeners, topic)
	if p.mu.state == stateRunning {
		p.core.kickRebalance()
	}
	return nil
}

// Start joins the group and starts consuming. It fails when a subscribed topic has no
// route (it does not exist), when nothing is subscribed, or when the group already runs
// in this client instance. ctx bounds the first heartbeat and rebalance.
func (p *PushConsumer) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mu.state {
	case stateRunning:
		return nil
	case stateClosed:
		return ErrClosed
	}
	if len(p.mu.listeners) == 0 {
		return invalidOption("start consumer %s: nothing subscribed", p.o.group)
	}
	if p.o.model == Clustering {
		if err := p.core.subscribe(RetryTopic(p.o.group), SelectAll); err != nil {
			return err
		}
	}
	tr, err := startTracer(ctx, p.o.trace, p.o.client, p.core.log)
	if err != nil {
		return fmt.Errorf("start consumer %s: trace: %w", p.o.group, err)
	}
	p.tracer = tr
	p.stop = make(chan struct{}) // fresh: a failed Start closed the previous one
	if !p.o.orderly {
		for i := 0; i < p.o.goroutines; i++ {
			p.workers.Add(1)
			go p.worker()
		}
	}
	if err := p.core.start(ctx); err != nil {
		close(p.stop)
		p.workers.Wait()
		_ = p.tracer.shutdown(ctx)
		p.tracer = nil
		return err
	}
	p.mu.state = stateRunning
	return nil
}

// Shutdown stops consuming: pulling stops, listener calls in flight finish (their
// context is cancelled when ctx ends), offsets are committed, orderly queue locks are
// released, the group is left, and every goroutine of the consumer ends before it
// returns. Messages pulled but not consumed are delivered again to whoever reads their
// queue next. If ctx ends while a listener call is still running, Shutdown leaves the
// group without waiting for it and returns an error wrapping ctx's error; that call's
// result is then not committed. A consumer cannot be restarted; create a new one.
func (p *PushConsumer) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	state := p.mu.state
	p.mu.state = stateClosed
	p.mu.Unlock()
	if state != stateRunning {
		return nil
	}
	var err error
	p.shutOnce.Do(func() {
		stopCancel := context.AfterFunc(ctx, p.ccancel)
		defer stopCancel()
		err = p.core.shutdown(ctx)
		close(p.stop)
		if !waitGroupCtx(ctx, &p.workers) && err == nil {
			err = fmt.Errorf("shutdown consumer %s: listener calls still running: %w", p.o.group, ctx.Err())
		}
		if terr := p.tracer.shutdown(ctx); terr != nil && err == nil {
			err = fmt.Errorf("shutdown consumer %s: %w", p.o.group, terr)
		}
		p.ccancel()
	})
	return err
}

// ClientID returns the id this consumer has in its group ("ip@instance"), "" before
// Start.
func (p *PushConsumer) ClientID() string {
	if p.core.inst == nil {
		return ""
	}
	return p.core.inst.clientID
}

// Assignment returns the queues this member reads now, sorted.
func (p *PushConsumer) Assignment() []MessageQueue {
	pqs := p.core.assigned()
	out := make([]MessageQueue, len(pqs))
	for i, pq := range pqs {
		out[i] = pq.mq
	}
	return p.core.userQueues(out)
}

// listener returns the listener of a user topic.
func (p *PushConsumer) listener(topic string) Listener {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.mu.listeners[topic]
}

// deliver hands new messages to consumption: batches for the workers (concurrent), or
// nothing to do but wake the queue's goroutine, which put already did (orderly).
func (p *PushConsumer) deliver(pq *processQueue, msgs []*MessageExt) {
	if p.o.orderly {
		return
	}
	for _, batch := range splitBatches(msgs, p.o.batchSize) {
		select {
		case p.tasks <- consumeTask{pq: pq, msgs: batch}:
		case <-pq.ctx.Done():
			return
		}
	}
	// The worker just readied waits on this processor until the pull goroutine blocks,
	// which is after it has written its next pull. Yielding lets the listener run now:
	// a message's end-to-end latency does not include the next pull's write
	// (docs/architecture.md §9).
	runtime.Gosched()
}

// tryDeliver is deliver for the reader goroutine (processqueue_early.go): it hands
// batches to the workers only while they can take them at once, and returns the
// messages left.
func (p *PushConsumer) tryDeliver(pq *processQueue, msgs []*MessageExt) (rest []*MessageExt) {
	if p.o.orderly {
		return nil // put woke the queue's goroutine
	}
	for len(msgs) > 0 {
		batch := firstBatch(msgs, p.o.batchSize)
		select {
		case p.tasks <- consumeTask{pq: pq, msgs: batch}:
			msgs = msgs[len(batch):]
		default:
			return msgs
		}
	}
	return nil
}

// splitBatches cuts msgs into runs of at most n messages of one topic (a retry queue
// mixes the topics its messages came from, and each topic has its own listener).
func splitBatches(msgs []*MessageExt, n int) [][]*MessageExt {
	var out [][]*MessageExt
	for len(msgs) > 0 {
		b := firstBatch(msgs, n)
		out = append(out, b)
		msgs = msgs[len(b):]
	}
	return out
}

// firstBatch returns the first batch splitBatches cuts from msgs (not empty).
func firstBatch(msgs []*MessageExt, n int) []*MessageExt {
	k := 1
	for k < len(msgs) && k < n && msgs[k].Topic == msgs[0].Topic {
		k++
	}
	return msgs[:k:k]
}

// startConsume is the core's hook for a newly started queue: orderly consumers start
// the queue's goroutine; concurrent ones only wait, at shutdown, for the queue's
// listener calls in flight.
func (p *PushConsumer) startConsume(pq *processQueue) (wait func()) {
	if p.o.orderly {
		done := make(chan struct{})
		p.core.qwg.Add(1)
		go func() {
			defer p.core.qwg.Done()
			defer close(done)
			p.orderlyLoop(pq)
		}()
		return func() { <-done }
	}
	return func() {
		if pq.graceful.Load() {
			pq.waitIdle(p.core.drain)
		}
	}
}

// callListener runs the listener of msgs' topic, turning a panic and a missing
// listener into errors. A non-nil error always means retry.
func (p *PushConsumer) callListener(pq *processQueue, msgs []*MessageExt) (res ConsumeResult, err error) {
	l := p.listener(msgs[0].Topic)
	if l == nil {
		return ConsumeRetryLater, fmt.Errorf("no listener for topic %s", msgs[0].Topic)
	}
	if pq != nil {
		pq.touchConsume(p.core.now())
	}
	// The listener gets its own copies: it may keep them, while the consumer keeps
	// using its originals (retries, offsets).
	// One allocation for the batch's copies.
	copies := make([]MessageExt, len(msgs))
	given := make([]*MessageExt, len(msgs))
	for i, m := range msgs {
		copies[i] = *m
		given[i] = &copies[i]
	}
	// Deferred first, so it runs last: it sees the result a panic was turned into.
	tc := p.traceBefore(given)
	defer func() { p.traceAfter(tc, given, res, err) }()
	defer func() {
		if r := recover(); r != nil {
			p.core.log.Error().Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).
				Str("topic", msgs[0].Topic).Msg("listener panicked")
			res, err = ConsumeRetryLater, fmt.Errorf("listener panicked: %v", r)
		}
	}()
	res, err = l(p.cctx, given)
	if err == nil && res != ConsumeSuccess {
		res = ConsumeRetryLater
	}
	if err != nil {
		res = ConsumeRetryLater
	}
	return res, err
}

// consumeFailed reports failed messages to the ConsumeFailed hook.
func (p *PushConsumer) consumeFailed(msgs []*MessageExt, err error) {
	if fn := p.o.events.ConsumeFailed; fn != nil {
		fn(msgs, err)
	}
}

// sendBackFailed reports a failed send-back to the log and the hook.
func (p *PushConsumer) sendBackFailed(m *MessageExt, err error) {
	p.core.log.Warn().Err(err).Str("topic", m.Topic).Int64("offset", m.QueueOffset).Str("msg_id", m.MsgID).
		Msg("send back failed; retrying locally")
	if fn := p.o.events.SendBackFailed; fn != nil {
		fn(m, err)
	}
}

// sendBackCtx bounds one CONSUMER_SEND_MSG_BACK; like the final commits it runs on a
// fresh context, so a shutdown does not cut it off half way.
func (p *PushConsumer) sendBackCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), p.o.client.callTimeout)
}
