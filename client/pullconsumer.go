package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
)

// PullConsumer is a lite pull consumer (RocketMQ's DefaultLitePullConsumer): the
// application asks for messages with Poll instead of registering a listener. It either
// subscribes to topics, and then shares their queues with the other members of its
// group exactly as a PushConsumer does (rebalancing included), or is assigned queues
// explicitly with Assign. Either way it pulls every queue it reads in the background
// with long polling into a bounded buffer that Poll drains; a queue's pulls pause while
// more than the cache limit of its messages wait to be polled.
//
// Messages a Poll returned count as consumed. With auto commit (the default) their
// offsets are committed every commit interval, when a queue is taken away, and at
// Shutdown; without it, only CommitSync and CommitAsync commit them, and whatever was
// polled but not committed is delivered again after a restart or rebalance. Methods are
// safe for concurrent use.
type PullConsumer struct {
	o    pullConsumerOptions
	core *consumerCore
	buf  chan pollBatch

	mu struct {
		sync.Mutex
		state  int
		assign bool // Assign was used (Subscribe is then refused, and the reverse)
		subs   int
	}
	pending struct {
		sync.Mutex
		m map[*processQueue]int64 // manual commit: polled commit points not yet committed
	}
	async  sync.WaitGroup
	closed chan struct{}
}

// pollBatch is a run of one queue's messages waiting for Poll.
type pollBatch struct {
	pq   *processQueue
	msgs []*MessageExt
}

// ErrNotAssigned is returned by Seek and friends for a queue the consumer does not read.
var ErrNotAssigned = errors.New("client: queue not assigned to this consumer")

// NewPullConsumer returns a lite pull consumer configured by opts. WithConsumerGroup and
// WithNameServer are required. Subscribe or Assign, then Start.
func NewPullConsumer(opts ...PullConsumerOption) (*PullConsumer, error) {
	o := defaultPullConsumerOptions()
	for _, opt := range opts {
		if opt != nil {
			opt.applyPullConsumer(&o)
		}
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	p := &PullConsumer{o: o, closed: make(chan struct{})}
	p.buf = make(chan pollBatch, o.bufferBatches)
	p.pending.m = make(map[*processQueue]int64)
	p.core = newConsumerCore(&p.o.consumerOptions, body.ConsumeActively, false, 0)
	p.core.deliver = p.deliver
	if !o.autoCommit {
		p.core.advance = p.advanceManual
	}
	return p, nil
}

// Subscribe reads the messages of topic that sel selects, sharing the topic's queues
// with the group's other members. It may be called before or after Start, but not on a
// consumer that used Assign.
func (p *PullConsumer) Subscribe(topic string, sel MessageSelector) error {
	if isRetryTopic(topic) {
		return invalidOption("subscribe %s: retry topics cannot be pulled by subscription", topic)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.mu.state == stateClosed:
		return ErrClosed
	case p.mu.assign:
		return invalidOption("subscribe %s: the consumer reads assigned queues", topic)
	}
	if err := p.core.subscribe(topic, sel); err != nil {
		return err
	}
	p.mu.subs++
	if p.mu.state == stateRunning {
		p.core.kickRebalance()
	}
	return nil
}

// Unsubscribe stops reading topic; its queues are released by the rebalance it starts.
func (p *PullConsumer) Unsubscribe(topic string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.state == stateClosed {
		return ErrClosed
	}
	p.core.unsubscribe(topic)
	if p.mu.state == stateRunning {
		p.core.kickRebalance()
	}
	return nil
}

// Assign makes the consumer read exactly queues (every message of them), with no
// rebalancing: each call replaces the previous set. Queues are named with their
// topics as the application knows them (without namespace). It cannot be combined with
// Subscribe.
func (p *PullConsumer) Assign(queues ...MessageQueue) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.mu.state == stateClosed:
		return ErrClosed
	case p.mu.subs > 0:
		return invalidOption("assign: the consumer subscribes to topics")
	}
	set := make(map[MessageQueue]bool, len(queues))
	for _, q := range queues {
		if q.Topic == "" || q.BrokerName == "" || q.QueueID < 0 {
			return invalidOption("assign: bad queue %v", q)
		}
		q.Topic = p.core.wrap(q.Topic)
		set[q] = true
	}
	p.core.subs.Lock()
	p.core.subs.assign = set
	p.core.subs.Unlock()
	p.mu.assign = true
	if p.mu.state == stateRunning {
		p.core.kickRebalance()
	}
	return nil
}

// Start joins the group and starts pulling. It fails when a subscribed or assigned
// topic has no route, or when nothing is subscribed or assigned.
func (p *PullConsumer) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mu.state {
	case stateRunning:
		return nil
	case stateClosed:
		return ErrClosed
	}
	if p.mu.subs == 0 && !p.mu.assign {
		return invalidOption("start consumer %s: nothing subscribed or assigned", p.o.group)
	}
	if err := p.core.start(ctx); err != nil {
		return err
	}
	p.mu.state = stateRunning
	return nil
}

// Poll returns the next batch of pulled messages (at most the poll batch size, all of
// one queue, in queue order), waiting until there is one or ctx ends (then it returns
// ctx's error). The returned messages count as consumed (see PullConsumer).
func (p *PullConsumer) Poll(ctx context.Context) ([]*MessageExt, error) {
	if err := p.running(); err != nil {
		return nil, err
	}
	for {
		select {
		case b := <-p.buf:
			if b.pq.stopped() {
				// The queue was taken away or re-seeked: not consumed, its next reader
				// gets these again.
				continue
			}
			b.pq.remove(b.msgs, func(off int64) { p.core.advance(b.pq, off, true) })
			return b.msgs, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.closed:
			return nil, ErrClosed
		}
	}
}

// running returns nil when the consumer is started and not shut down.
func (p *PullConsumer) running() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mu.state {
	case stateNew:
		return ErrNotStarted
	case stateClosed:
		return ErrClosed
	}
	return nil
}

// deliver queues a pull's messages for Poll in poll-sized batches.
func (p *PullConsumer) deliver(pq *processQueue, msgs []*MessageExt) {
	for len(msgs) > 0 {
		n := min(len(msgs), p.o.pollBatchSize)
		select {
		case p.buf <- pollBatch{pq: pq, msgs: msgs[:n:n]}:
		case <-pq.ctx.Done():
			return
		}
		msgs = msgs[n:]
	}
}

// advanceManual is the commit point hook without auto commit: points wait in pending
// until CommitSync or CommitAsync.
func (p *PullConsumer) advanceManual(pq *processQueue, off int64, increaseOnly bool) {
	p.pending.Lock()
	defer p.pending.Unlock()
	if cur, ok := p.pending.m[pq]; ok && increaseOnly && off <= cur {
		return
	}
	p.pending.m[pq] = off
}

// Seek makes mq's next Poll start at offset: messages of mq already buffered are
// discarded and the queue is pulled again from offset. The new position is committed
// like a consumed one. mq must be assigned to this consumer (ErrNotAssigned).
func (p *PullConsumer) Seek(mq MessageQueue, offset int64) error {
	if err := p.running(); err != nil {
		return err
	}
	if offset < 0 {
		return invalidOption("seek %v: negative offset %d", mq, offset)
	}
	wmq := mq
	wmq.Topic = p.core.wrap(mq.Topic)
	if !p.core.replaceQueue(wmq, offset) {
		return fmt.Errorf("seek %v: %w", mq, ErrNotAssigned)
	}
	return nil
}

// SeekToBeginning seeks mq to its oldest stored message (GET_MIN_OFFSET).
func (p *PullConsumer) SeekToBeginning(ctx context.Context, mq MessageQueue) error {
	return p.seekTo(ctx, mq, code.GetMinOffset)
}

// SeekToEnd seeks mq past its newest message (GET_MAX_OFFSET): only messages stored
// from now on are polled.
func (p *PullConsumer) SeekToEnd(ctx context.Context, mq MessageQueue) error {
	return p.seekTo(ctx, mq, code.GetMaxOffset)
}

func (p *PullConsumer) seekTo(ctx context.Context, mq MessageQueue, reqCode int32) error {
	if err := p.running(); err != nil {
		return err
	}
	wmq := mq
	wmq.Topic = p.core.wrap(mq.Topic)
	if p.core.processQueue(wmq) == nil {
		return fmt.Errorf("seek %v: %w", mq, ErrNotAssigned)
	}
	off, err := p.core.queueOffset(ctx, wmq, reqCode, 0)
	if err != nil {
		return fmt.Errorf("seek %v: %w", mq, err)
	}
	return p.Seek(mq, off)
}

// Committed returns the group's committed offset of mq as its store holds it (asking
// the broker, for clustering): the offset of the next message to consume, or -1 when
// nothing was committed yet.
func (p *PullConsumer) Committed(ctx context.Context, mq MessageQueue) (int64, error) {
	if err := p.running(); err != nil {
		return 0, err
	}
	wmq := mq
	wmq.Topic = p.core.wrap(mq.Topic)
	off, err := p.core.store.read(ctx, wmq, p.o.model == Clustering)
	if errors.Is(err, errNoOffset) {
		return -1, nil
	}
	return off, err
}

// CommitSync commits the offsets of everything polled so far and waits for the stores
// (brokers or the local file) to have them.
func (p *PullConsumer) CommitSync(ctx context.Context) error {
	if err := p.running(); err != nil {
		return err
	}
	p.applyPending()
	return p.core.persistAll(ctx)
}

// CommitAsync commits like CommitSync on another goroutine and calls done (if not nil)
// with the outcome. Shutdown waits for commits in flight.
func (p *PullConsumer) CommitAsync(done func(error)) {
	if err := p.running(); err != nil {
		if done != nil {
			done(err)
		}
		return
	}
	p.applyPending()
	p.async.Add(1)
	go func() {
		defer p.async.Done()
		err := p.core.persistAll(context.Background())
		if done != nil {
			done(err)
		}
	}()
}

// applyPending moves the manual commit points into the offset store.
func (p *PullConsumer) applyPending() {
	p.pending.Lock()
	pend := p.pending.m
	p.pending.m = make(map[*processQueue]int64, len(pend))
	p.pending.Unlock()
	for pq, off := range pend {
		// A frozen queue (taken away, or replaced by a seek) commits nothing: its
		// points belong to a reading that is over.
		pq.commit(func() { p.core.store.update(pq.mq, off, false) })
	}
}

// Assignment returns the queues this consumer reads now, sorted.
func (p *PullConsumer) Assignment() []MessageQueue {
	pqs := p.core.assigned()
	out := make([]MessageQueue, len(pqs))
	for i, pq := range pqs {
		out[i] = pq.mq
	}
	return p.core.userQueues(out)
}

// ClientID returns the id this consumer has in its group, "" before Start.
func (p *PullConsumer) ClientID() string {
	if p.core.inst == nil {
		return ""
	}
	return p.core.inst.clientID
}

// Shutdown stops pulling, commits (with auto commit, everything polled; otherwise what
// was committed), leaves the group and ends every goroutine of the consumer. Buffered
// messages not yet polled are delivered again to the queue's next reader. Poll calls
// blocked in other goroutines return ErrClosed.
func (p *PullConsumer) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	state := p.mu.state
	p.mu.state = stateClosed
	p.mu.Unlock()
	if state != stateRunning {
		return nil
	}
	close(p.closed)
	p.async.Wait()
	return p.core.shutdown(ctx)
}
