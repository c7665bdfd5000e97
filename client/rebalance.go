package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// consumerCore is what the push and the lite pull consumer share: membership of the
// group (heartbeat data, NOTIFY_CONSUMER_IDS_CHANGED), the subscriptions, the offset
// store, the table of assigned queues with one pull loop each, rebalancing, and the
// periodic offset commit. The two consumers differ only in what happens to pulled
// messages (deliver) and in the orderly extras (queue locks, one consuming goroutine per
// queue), which they plug in through the function fields below.
//
// Queue lifecycle: rebalance (or Assign, or Seek) adds a processQueue to the table and
// starts runQueue for it, which waits for any previous processQueue of the same queue to
// finish, wins the broker lock when the consumer is orderly, finds the start offset,
// then pulls until the queue is stopped. When it is taken away the queue is stopped and
// frozen (concurrent) or stopped, drained and then frozen (orderly, so the batch in
// flight commits before the lock is released); runQueue then commits the queue's final
// offset, releases the lock and closes the queue's done channel.
type consumerCore struct {
	o        *consumerOptions
	inst     *instance
	log      zerolog.Logger
	group    string // namespace-wrapped
	consume  string // body.ConsumePassively or body.ConsumeActively
	orderly  bool   // one consuming goroutine per queue; with clustering, queue locks
	maxRecon int32
	store    offsetStore
	now      func() time.Time

	// deliver hands a pull's newly cached messages to consumption. It may block (back
	// pressure) but must return once pq is stopped.
	deliver func(pq *processQueue, msgs []*MessageExt)
	// tryDeliver, when set, hands messages only to consumers ready to take them now and
	// returns the rest; it never blocks. A core with it handles found pulls on the
	// connection's reader goroutine (processqueue_early.go).
	tryDeliver func(pq *processQueue, msgs []*MessageExt) (rest []*MessageExt)
	// startConsume starts the per-queue consumption goroutine, if the consumer has one,
	// and returns a function that waits for it to end.
	startConsume func(pq *processQueue) (wait func())
	// beforeCommit runs before each periodic or final commit (lite pull moves polled
	// offsets into the store there).
	beforeCommit func(mqs []MessageQueue)
	// advance moves a queue's commit point; the default updates the offset store, the
	// lite pull consumer without auto commit holds points until the user commits.
	advance func(pq *processQueue, offset int64, increaseOnly bool)
	// extraHandlers are registered with the instance for the consumer's lifetime
	// (the push consumer's CONSUME_MESSAGE_DIRECTLY).
	extraHandlers map[int32]func(addr string, req *codec.Command) *codec.Command
	// extraLoops are started with the core's own loops (the orderly lock renewal).
	extraLoops []func(ctx context.Context)

	subs struct {
		sync.RWMutex
		m      map[string]*subscription // wrapped topic → subscription
		assign map[MessageQueue]bool    // Assign mode: the queues, nil otherwise
	}
	queues struct {
		sync.Mutex
		m        map[MessageQueue]*processQueue
		draining map[MessageQueue]*processQueue // stopped, not finished yet
	}

	started time.Time     // when start succeeded (running info)
	kick    chan struct{} // rebalance now
	// subsChanged makes the next rebalance send a heartbeat first, so the brokers
	// learn a subscription made or dropped after Start.
	subsChanged atomic.Bool
	drain       context.Context // Shutdown's context: bounds the wait for in-flight consumption
	ctx         context.Context
	cancel      context.CancelFunc
	loops       sync.WaitGroup // rebalance, commit and lock loops
	qwg         sync.WaitGroup // runQueue goroutines and what they start
	remove      []func()       // handler registrations to undo
}

// newConsumerCore builds the shared part of a consumer; start brings it to life.
func newConsumerCore(o *consumerOptions, consumeType string, orderly bool, maxReconsume int32) *consumerCore {
	c := &consumerCore{
		o:        o,
		consume:  consumeType,
		orderly:  orderly,
		maxRecon: maxReconsume,
		now:      o.client.now,
		kick:     make(chan struct{}, 1),
	}
	c.advance = func(pq *processQueue, off int64, increaseOnly bool) { c.store.update(pq.mq, off, increaseOnly) }
	c.group = WrapNamespace(o.client.namespace, o.group)
	c.subs.m = make(map[string]*subscription)
	c.queues.m = make(map[MessageQueue]*processQueue)
	c.queues.draining = make(map[MessageQueue]*processQueue)
	return c
}

// wrap and unwrap convert user names to broker names and back.
func (c *consumerCore) wrap(name string) string   { return WrapNamespace(c.o.client.namespace, name) }
func (c *consumerCore) unwrap(name string) string { return UnwrapNamespace(c.o.client.namespace, name) }

// lockedQueues reports whether queues must be locked at the broker before they are
// consumed: orderly clustering consumers only (broadcasting members all read everything).
func (c *consumerCore) lockedQueues() bool { return c.orderly && c.o.model == Clustering }

// subscribe adds or replaces the subscription of a (user) topic.
func (c *consumerCore) subscribe(topic string, sel MessageSelector) error {
	if topic == "" {
		return invalidOption("subscribe: empty topic")
	}
	s, err := parseSelector(c.wrap(topic), sel, c.now().UnixNano())
	if err != nil {
		return err
	}
	c.subs.Lock()
	c.subs.m[s.topic] = s
	c.subs.Unlock()
	c.subsChanged.Store(true)
	return nil
}

// unsubscribe removes a (user) topic; its queues are dropped by the next rebalance.
func (c *consumerCore) unsubscribe(topic string) {
	c.subs.Lock()
	delete(c.subs.m, c.wrap(topic))
	c.subs.Unlock()
	c.subsChanged.Store(true)
}

// subscription returns the subscription of a wrapped topic.
func (c *consumerCore) subscription(topic string) *subscription {
	c.subs.RLock()
	defer c.subs.RUnlock()
	return c.subs.m[topic]
}

// consumerData is the group's entry in HEART_BEAT.
func (c *consumerCore) consumerData() body.ConsumerData {
	c.subs.RLock()
	subs := make([]body.SubscriptionData, 0, len(c.subs.m))
	for _, t := range slices.Sorted(maps.Keys(c.subs.m)) {
		subs = append(subs, c.subs.m[t].data())
	}
	c.subs.RUnlock()
	return body.ConsumerData{
		GroupName:           c.group,
		ConsumeType:         c.consume,
		MessageModel:        c.o.model.String(),
		ConsumeFromWhere:    c.o.from.String(),
		SubscriptionDataSet: subs,
	}
}

// start joins the group: acquires the client instance, opens the offset store,
// registers heartbeat data and request handlers, sends a heartbeat, runs the first
// rebalance and starts the background loops. On error everything is undone.
func (c *consumerCore) start(ctx context.Context) (err error) {
	inst, err := acquireInstance(c.o.client)
	if err != nil {
		return err
	}
	c.inst = inst
	c.log = inst.log.With().Str("group", c.group).Logger()
	defer func() {
		if err != nil {
			for _, f := range c.remove {
				f()
			}
			c.remove = nil
			inst.release()
		}
	}()
	if c.o.model == Broadcasting {
		ls, err := openLocalOffsetStore(c.o.offsetPath(inst.clientID, c.group), c.group)
		if err != nil {
			return err
		}
		c.store = ls
	} else {
		c.store = newRemoteOffsetStore(c, c.log)
	}
	if err := c.checkRoutes(ctx); err != nil {
		return err
	}
	if err := inst.registerConsumer(c.group, c.consumerData); err != nil {
		return err
	}
	c.remove = append(c.remove, func() { inst.unregisterConsumer(c.group) })
	// Everything the handlers read is set before they are registered.
	c.started = c.now()
	if c.o.from == ConsumeFromTimestamp && c.o.timestamp.IsZero() {
		// RocketMQ's default: half an hour before the consumer started.
		c.o.timestamp = c.started.Add(-30 * time.Minute)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.subsChanged.Store(false)
	c.remove = append(c.remove, inst.handle(code.NotifyConsumerIDsChanged, c.handleNotify))
	c.registerAdminHandlers()
	for reqCode, h := range c.extraHandlers {
		c.remove = append(c.remove, inst.handle(reqCode, h))
	}
	if err := inst.sendHeartbeat(ctx); err != nil {
		// A broker may be down; the others have us, and the heartbeat loop retries.
		c.log.Warn().Err(err).Msg("first heartbeat")
	}
	c.rebalance(ctx)
	c.loop(c.rebalanceLoop)
	c.loop(c.commitLoop)
	for _, fn := range c.extraLoops {
		c.loop(fn)
	}
	return nil
}

// checkRoutes fails start when a subscribed user topic has no route, as RocketMQ
// consumers do: a typo in a topic name should not look like an idle topic. Retry
// topics are exempt; the broker creates them on the first heartbeat.
func (c *consumerCore) checkRoutes(ctx context.Context) error {
	c.subs.RLock()
	topics := slices.Sorted(maps.Keys(c.subs.m))
	assign := maps.Clone(c.subs.assign)
	c.subs.RUnlock()
	for mq := range assign {
		if !slices.Contains(topics, mq.Topic) {
			topics = append(topics, mq.Topic)
		}
	}
	for _, t := range topics {
		if isRetryTopic(t) {
			continue
		}
		if _, err := c.inst.route(ctx, t); err != nil {
			return fmt.Errorf("start consumer %s: %w", c.group, err)
		}
	}
	return nil
}

// loop runs fn on a goroutine tracked by loops.
func (c *consumerCore) loop(fn func(ctx context.Context)) {
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		fn(c.ctx)
	}()
}

// handleNotify serves NOTIFY_CONSUMER_IDS_CHANGED (40) for this group: rebalance now.
func (c *consumerCore) handleNotify(_ string, req *codec.Command) *codec.Command {
	var h header.NotifyConsumerIDsChangedRequest
	if err := h.Decode(req.ExtFields); err == nil && h.ConsumerGroup == c.group {
		c.kickRebalance()
	}
	return nil
}

// kickRebalance asks the rebalance loop for a round now.
func (c *consumerCore) kickRebalance() { signal(c.kick) }

// rebalanceLoop rebalances every interval, on kicks, and sooner after a round that
// could not complete.
func (c *consumerCore) rebalanceLoop(ctx context.Context) {
	t := time.NewTimer(c.o.rebalanceInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
		next := c.o.rebalanceInterval
		if !c.rebalance(ctx) {
			next = c.o.rebalanceRetry
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}

// rebalance computes the queues this member should read and adds and drops queues to
// match. A topic whose route or member list cannot be had keeps its current queues (a
// transient failure must not drop working queues). It reports whether every topic was
// rebalanced.
func (c *consumerCore) rebalance(ctx context.Context) bool {
	if c.subsChanged.Swap(false) {
		if err := c.inst.sendHeartbeat(ctx); err != nil {
			c.log.Warn().Err(err).Msg("heartbeat after subscription change")
		}
	}
	c.subs.RLock()
	subs := slices.Sorted(maps.Keys(c.subs.m))
	assign := maps.Clone(c.subs.assign)
	c.subs.RUnlock()
	complete := true
	wanted := make(map[string]bool, len(subs))
	if assign != nil {
		byTopic := make(map[string][]MessageQueue)
		for mq := range assign {
			byTopic[mq.Topic] = append(byTopic[mq.Topic], mq)
		}
		for topic, mqs := range byTopic {
			wanted[topic] = true
			c.apply(topic, mqs)
		}
	} else {
		for _, topic := range subs {
			wanted[topic] = true
			target, err := c.target(ctx, topic)
			if err != nil {
				if !isRetryTopic(topic) || !errors.Is(err, ErrTopicNotExist) {
					c.log.Warn().Err(err).Str("topic", topic).Msg("rebalance")
				}
				complete = false
				continue
			}
			c.apply(topic, target)
		}
	}
	// Queues of topics no longer subscribed (or assigned) go.
	c.queues.Lock()
	var stale []*processQueue
	for mq, pq := range c.queues.m {
		if !wanted[mq.Topic] {
			stale = append(stale, pq)
		}
	}
	c.queues.Unlock()
	for _, pq := range stale {
		c.dropQueue(pq)
	}
	return complete
}

// target returns the queues of topic this member should read: all of them when
// broadcasting, its allocated share when clustering.
func (c *consumerCore) target(ctx context.Context, topic string) ([]MessageQueue, error) {
	qs, err := c.inst.subscribeQueues(ctx, topic)
	if err != nil {
		return nil, err
	}
	if c.o.model == Broadcasting {
		return slices.Clone(qs), nil
	}
	ids, err := c.consumerIDs(ctx, topic)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ids, c.inst.clientID) {
		// The broker has not seen our heartbeat yet (or expired us): allocating now
		// would give us nothing and drop what we have.
		return nil, fmt.Errorf("rebalance %s: client %s not yet in the group's member list %v", topic, c.inst.clientID, ids)
	}
	return allocate(c.o.strategy, c.group, c.inst.clientID, qs, ids), nil
}

// apply makes the queues of topic match target.
func (c *consumerCore) apply(topic string, target []MessageQueue) {
	want := make(map[MessageQueue]bool, len(target))
	for _, mq := range target {
		want[mq] = true
	}
	c.queues.Lock()
	var drop []*processQueue
	var add []MessageQueue
	for mq, pq := range c.queues.m {
		if mq.Topic == topic && !want[mq] {
			drop = append(drop, pq)
		}
	}
	for _, mq := range target {
		if _, ok := c.queues.m[mq]; !ok {
			add = append(add, mq)
		}
	}
	c.queues.Unlock()
	for _, pq := range drop {
		c.dropQueue(pq)
	}
	for _, mq := range add {
		c.addQueue(mq, -1)
	}
	if len(drop) > 0 || len(add) > 0 {
		c.log.Info().Str("topic", topic).Int("queues", len(target)).Int("added", len(add)).Int("dropped", len(drop)).Msg("rebalanced")
		if fn := c.o.events.QueuesChanged; fn != nil {
			fn(c.unwrap(topic), c.userQueues(target))
		}
	}
}

// userQueues returns queues with user (namespace-free) topic names.
func (c *consumerCore) userQueues(qs []MessageQueue) []MessageQueue {
	out := make([]MessageQueue, len(qs))
	for i, q := range qs {
		q.Topic = c.unwrap(q.Topic)
		out[i] = q
	}
	slices.SortFunc(out, cmpQueue)
	return out
}

// assigned returns the processQueues currently in the table.
func (c *consumerCore) assigned() []*processQueue {
	c.queues.Lock()
	defer c.queues.Unlock()
	out := make([]*processQueue, 0, len(c.queues.m))
	for _, pq := range c.queues.m {
		out = append(out, pq)
	}
	slices.SortFunc(out, func(a, b *processQueue) int { return cmpQueue(a.mq, b.mq) })
	return out
}

// processQueue returns the live processQueue of mq, nil when mq is not assigned.
func (c *consumerCore) processQueue(mq MessageQueue) *processQueue {
	c.queues.Lock()
	defer c.queues.Unlock()
	return c.queues.m[mq]
}

// commitLoop persists offsets every commit interval.
func (c *consumerCore) commitLoop(ctx context.Context) {
	t := time.NewTicker(c.o.commitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.persistAll(ctx); err != nil {
				c.log.Warn().Err(err).Msg("commit offsets")
			}
		}
	}
}

// persistAll commits the offsets of every assigned queue.
func (c *consumerCore) persistAll(ctx context.Context) error {
	pqs := c.assigned()
	mqs := make([]MessageQueue, len(pqs))
	for i, pq := range pqs {
		mqs[i] = pq.mq
	}
	if c.beforeCommit != nil {
		c.beforeCommit(mqs)
	}
	cctx, cancel := withTimeout(ctx, c.o.client.callTimeout)
	defer cancel()
	return c.store.persist(cctx, mqs)
}

// shutdown leaves the group: stops the loops and every queue, lets consumption in
// flight finish while ctx allows (its results commit), commits every final offset,
// releases locks, unregisters from the brokers and the instance, and waits for every
// goroutine it started. When ctx ends first — a listener that does not return — it
// leaves the group anyway and returns an error wrapping ctx's: the queues still busy
// keep their goroutines until their listener returns, and commit nothing more.
func (c *consumerCore) shutdown(ctx context.Context) error {
	// drain is read by the queues' consumption after their context ends; the
	// cancellation below orders this write before those reads.
	c.drain = ctx
	c.cancel()
	c.loops.Wait()
	c.queues.Lock()
	pqs := make([]*processQueue, 0, len(c.queues.m))
	for _, pq := range c.queues.m {
		pqs = append(pqs, pq)
	}
	c.queues.Unlock()
	for _, pq := range pqs {
		pq.graceful.Store(true)
		pq.stop()
	}
	var err error
	if !waitGroupCtx(ctx, &c.qwg) {
		err = fmt.Errorf("shutdown consumer %s: listener calls still running: %w", c.group, ctx.Err())
		c.log.Error().Err(err).Msg("shutdown")
	}
	uctx, cancel := context.WithTimeout(context.Background(), c.o.client.callTimeout)
	c.unregister(uctx)
	cancel()
	for _, f := range c.remove {
		f()
	}
	c.remove = nil
	c.inst.release()
	return err
}

// waitGroupCtx waits for wg or for ctx to end, and reports whether wg finished.
func waitGroupCtx(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// pullFailed reports a failure to the PullFailed hook.
func (c *consumerCore) pullFailed(mq MessageQueue, err error) {
	if fn := c.o.events.PullFailed; fn != nil {
		mq.Topic = c.unwrap(mq.Topic)
		fn(mq, err)
	}
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
