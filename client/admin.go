package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Defaults of topics created through Admin (the official Go admin's defaults).
const (
	DefaultTopicQueues = 8
	DefaultTopicPerm   = body.PermRead | body.PermWrite
)

// AdminOption configures an Admin client. Every Option is also an AdminOption.
type AdminOption interface{ applyAdmin(*adminOptions) }

// adminOptions are the settings of an Admin client.
type adminOptions struct {
	client clientOptions
}

// Admin manages topics and inspects consumer groups and messages, like RocketMQ's
// mqadmin. Its methods are safe for concurrent use. Create one with NewAdmin and Close
// it when done.
type Admin struct {
	o      adminOptions
	log    zerolog.Logger
	inst   *instance
	closed atomic.Bool
}

// NewAdmin returns an admin client connected to the shared instance of its options.
func NewAdmin(opts ...AdminOption) (*Admin, error) {
	o := adminOptions{client: defaultClientOptions()}
	for _, opt := range opts {
		if opt != nil {
			opt.applyAdmin(&o)
		}
	}
	if len(o.client.nameServers) == 0 {
		return nil, fmt.Errorf("new admin: %w: %w", ErrInvalidOption, ErrNoNameServer)
	}
	inst, err := acquireInstance(o.client)
	if err != nil {
		return nil, fmt.Errorf("new admin: %w", err)
	}
	return &Admin{o: o, inst: inst, log: o.client.logger.With().Str("component", "admin").Logger()}, nil
}

// Close releases the admin's share of the client instance. Calls after Close fail with
// ErrClosed; closing twice is a no-op.
func (a *Admin) Close() error {
	if a.closed.CompareAndSwap(false, true) {
		a.inst.release()
	}
	return nil
}

func (a *Admin) wrap(name string) string   { return WrapNamespace(a.o.client.namespace, name) }
func (a *Admin) unwrap(name string) string { return UnwrapNamespace(a.o.client.namespace, name) }

// TopicConfig describes a topic to create or update.
type TopicConfig struct {
	Topic          string
	ReadQueueNums  int32  // 0 means DefaultTopicQueues
	WriteQueueNums int32  // 0 means DefaultTopicQueues
	Perm           int32  // 0 means read|write (6)
	FilterType     string // "" means SINGLE_TAG
	SysFlag        int32
	Order          bool
}

// Target names the brokers an admin request goes to: the given broker addresses, or
// every master of the named cluster. The zero Target means every master of every
// cluster the NameServer knows.
type Target struct {
	Cluster     string
	BrokerAddrs []string
}

// OnCluster targets every master of a cluster.
func OnCluster(name string) Target { return Target{Cluster: name} }

// OnBrokers targets the given broker addresses.
func OnBrokers(addrs ...string) Target { return Target{BrokerAddrs: addrs} }

// check fails after Close.
func (a *Admin) check() error {
	if a.closed.Load() {
		return ErrClosed
	}
	return nil
}

// CreateTopic creates the topic on every broker of target with UPDATE_AND_CREATE_TOPIC
// (17). Each broker then registers it with the NameServers. It returns the failures
// joined; the brokers that succeeded keep the topic.
func (a *Admin) CreateTopic(ctx context.Context, cfg TopicConfig, target Target) error {
	return a.updateTopic(ctx, "create topic", cfg, target)
}

// UpdateTopic changes an existing topic's queue counts and permissions on every broker
// of target (the same request as CreateTopic).
func (a *Admin) UpdateTopic(ctx context.Context, cfg TopicConfig, target Target) error {
	return a.updateTopic(ctx, "update topic", cfg, target)
}

func (a *Admin) updateTopic(ctx context.Context, op string, cfg TopicConfig, target Target) error {
	if err := a.check(); err != nil {
		return err
	}
	if cfg.Topic == "" {
		return fmt.Errorf("%s: %w: empty topic", op, ErrInvalidOption)
	}
	if cfg.ReadQueueNums == 0 {
		cfg.ReadQueueNums = DefaultTopicQueues
	}
	if cfg.WriteQueueNums == 0 {
		cfg.WriteQueueNums = DefaultTopicQueues
	}
	if cfg.Perm == 0 {
		cfg.Perm = DefaultTopicPerm
	}
	if cfg.FilterType == "" {
		cfg.FilterType = body.FilterSingleTag
	}
	addrs, err := a.targetAddrs(ctx, target)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, cfg.Topic, err)
	}
	h := header.CreateTopicRequest{
		Topic:           a.wrap(cfg.Topic),
		DefaultTopic:    DefaultTopic,
		ReadQueueNums:   cfg.ReadQueueNums,
		WriteQueueNums:  cfg.WriteQueueNums,
		Perm:            cfg.Perm,
		TopicFilterType: cfg.FilterType,
		TopicSysFlag:    cfg.SysFlag,
		Order:           cfg.Order,
	}
	return a.eachBroker(ctx, addrs, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.UpdateAndCreateTopic, h.Encode(), nil))
	}, op+" "+cfg.Topic)
}

// DeleteTopic removes the topic from the brokers of target (DELETE_TOPIC_IN_BROKER,
// 215) — with the zero Target, from every master serving it — and then from every
// NameServer (DELETE_TOPIC_IN_NAMESRV, 216).
func (a *Admin) DeleteTopic(ctx context.Context, topic string, target Target) error {
	if err := a.check(); err != nil {
		return err
	}
	wrapped := a.wrap(topic)
	var addrs []string
	var err error
	if target.Cluster == "" && len(target.BrokerAddrs) == 0 {
		if r, rerr := a.inst.fetchRoute(ctx, wrapped); rerr == nil {
			addrs = routeMasters(r)
		}
	}
	if len(addrs) == 0 {
		if addrs, err = a.targetAddrs(ctx, target); err != nil {
			return fmt.Errorf("delete topic %s: %w", topic, err)
		}
	}
	h := header.DeleteTopicRequest{Topic: wrapped}
	var errs []error
	if err := a.eachBroker(ctx, addrs, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.DeleteTopicInBroker, h.Encode(), nil))
	}, "delete topic "+topic); err != nil {
		errs = append(errs, err)
	}
	if err := a.eachBroker(ctx, a.o.client.nameServers, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.DeleteTopicInNamesrv, h.Encode(), nil))
	}, "delete topic "+topic+" in name server"); err != nil {
		errs = append(errs, err)
	}
	a.inst.dropRoute(wrapped)
	return errors.Join(errs...)
}

// ListTopics returns every topic the NameServer knows (GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
// 206), sorted. With a namespace, only the namespace's topics, without the prefix.
func (a *Admin) ListTopics(ctx context.Context) ([]string, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	resp, err := a.inst.invokeNamesrv(ctx, a.o.client.callTimeout, func() *codec.Command {
		return codec.NewRequest(code.GetAllTopicListFromNameserver, nil, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("list topics: %w", brokerErr(resp.Code, resp.Remark))
	}
	l, err := body.DecodeTopicList(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w: %w", ErrBadResponse, err)
	}
	ns := a.o.client.namespace
	out := make([]string, 0, len(l.TopicList))
	for _, t := range l.TopicList {
		if ns != "" {
			_, rest := splitRetryDLQ(t)
			if !strings.HasPrefix(rest, ns+namespaceSeparator) {
				continue
			}
		}
		out = append(out, a.unwrap(t))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// TopicRoute returns the topic's route as the NameServer has it now
// (GET_ROUTEINFO_BY_TOPIC, 105; not cached). A topic without route fails with
// ErrTopicNotExist.
func (a *Admin) TopicRoute(ctx context.Context, topic string) (*body.TopicRouteData, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	return a.inst.fetchRoute(ctx, a.wrap(topic))
}

// Clusters returns every broker group and cluster the NameServer knows
// (GET_BROKER_CLUSTER_INFO, 106).
func (a *Admin) Clusters(ctx context.Context) (*body.ClusterInfo, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	resp, err := a.inst.invokeNamesrv(ctx, a.o.client.callTimeout, func() *codec.Command {
		return codec.NewRequest(code.GetBrokerClusterInfo, nil, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster info: %w", err)
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("cluster info: %w", brokerErr(resp.Code, resp.Remark))
	}
	ci, err := body.DecodeClusterInfo(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cluster info: %w: %w", ErrBadResponse, err)
	}
	return ci, nil
}

// QueueStats is the state of one queue of a topic.
type QueueStats struct {
	Queue               MessageQueue // topic without namespace
	MinOffset           int64        // oldest logical offset still stored
	MaxOffset           int64        // next logical offset to be written
	LastUpdateTimestamp int64        // store time (ms) of the newest message, 0 if none
}

// TopicStats returns the min and max offsets of every queue of topic on every master
// serving it (GET_TOPIC_STATS_INFO, 202), sorted by broker and queue id: what mqadmin
// topicStatus shows. The number of messages a topic holds is the sum of MaxOffset -
// MinOffset.
func (a *Admin) TopicStats(ctx context.Context, topic string) ([]QueueStats, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	wrapped := a.wrap(topic)
	r, err := a.inst.fetchRoute(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("topic stats of %s: %w", topic, err)
	}
	h := header.TopicRequest{Topic: wrapped}
	var (
		mu  sync.Mutex
		out []QueueStats
	)
	err = a.eachBroker(ctx, routeMasters(r), func(ctx context.Context, addr string) error {
		resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.GetTopicStatsInfo, h.Encode(), nil))
		if err != nil {
			return err
		}
		if resp.Code != code.Success {
			return brokerErr(resp.Code, resp.Remark)
		}
		ts, err := body.DecodeTopicStatsTable(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for mq, o := range ts.OffsetTable {
			mq.Topic = a.unwrap(mq.Topic)
			out = append(out, QueueStats{Queue: mq, MinOffset: o.MinOffset, MaxOffset: o.MaxOffset, LastUpdateTimestamp: o.LastUpdateTimestamp})
		}
		return nil
	}, "topic stats of "+topic)
	slices.SortFunc(out, func(x, y QueueStats) int { return compareQueues(x.Queue, y.Queue) })
	return out, err
}

// compareQueues orders queues by topic, broker name and queue id.
func compareQueues(x, y MessageQueue) int {
	switch {
	case x.Less(y):
		return -1
	case y.Less(x):
		return 1
	}
	return 0
}

// targetAddrs resolves a Target to broker addresses, sorted and without duplicates.
func (a *Admin) targetAddrs(ctx context.Context, t Target) ([]string, error) {
	if len(t.BrokerAddrs) > 0 {
		out := slices.Clone(t.BrokerAddrs)
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	ci, err := a.Clusters(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	if t.Cluster != "" {
		var ok bool
		if names, ok = ci.ClusterAddrTable[t.Cluster]; !ok {
			return nil, fmt.Errorf("%w: cluster %q", ErrBrokerNotFound, t.Cluster)
		}
	} else {
		names = slices.Collect(maps.Keys(ci.BrokerAddrTable))
	}
	var out []string
	for _, n := range names {
		if addr := ci.BrokerAddrTable[n].BrokerAddrs[0]; addr != "" {
			out = append(out, addr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no master in %s", ErrBrokerNotFound, targetName(t))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func targetName(t Target) string {
	if t.Cluster != "" {
		return "cluster " + t.Cluster
	}
	return "any cluster"
}

// routeMasters returns the master addresses of a route, sorted.
func routeMasters(r *body.TopicRouteData) []string {
	var out []string
	for _, b := range r.BrokerDatas {
		if addr := b.BrokerAddrs[0]; addr != "" {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// eachBroker runs fn for every address in parallel and joins the failures.
func (a *Admin) eachBroker(ctx context.Context, addrs []string, fn func(ctx context.Context, addr string) error, op string) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx, addr); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s on %s: %w", op, addr, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// expectSuccess invokes req and turns a non-success answer into a *BrokerError.
func (a *Admin) expectSuccess(ctx context.Context, addr string, req *codec.Command) error {
	resp, err := a.inst.invoke(ctx, addr, req)
	if err != nil {
		return err
	}
	if resp.Code != code.Success {
		return brokerErr(resp.Code, resp.Remark)
	}
	return nil
}

// QueueProgress is one queue's row of ConsumerProgress.
type QueueProgress struct {
	Queue          MessageQueue // topic without namespace
	BrokerOffset   int64        // next offset the broker will write
	ConsumerOffset int64        // next offset the group will consume
	Lag            int64        // BrokerOffset - ConsumerOffset
	LastTimestamp  int64        // store time (ms) of the last consumed message, 0 if unknown
}

// ConsumerProgress is a consumer group's position on every queue it reads.
type ConsumerProgress struct {
	Group      string
	Queues     []QueueProgress // sorted by topic, broker, queue id
	TotalLag   int64
	ConsumeTPS float64
}

// ConsumerProgress asks the brokers for the group's progress (GET_CONSUME_STATS, 208):
// every master serving the group's retry topic or the given topic ("" for every
// topic the group subscribes). When some brokers fail, the progress of the others is
// returned together with an error naming the failures.
func (a *Admin) ConsumerProgress(ctx context.Context, group, topic string) (*ConsumerProgress, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	wgroup := a.wrap(group)
	var masters []string
	var routeErrs []error
	for _, t := range []string{RetryTopic(wgroup), a.wrap(topic)} {
		if t == "" {
			continue
		}
		r, err := a.inst.fetchRoute(ctx, t)
		if err != nil {
			routeErrs = append(routeErrs, err)
			continue
		}
		masters = append(masters, routeMasters(r)...)
	}
	slices.Sort(masters)
	masters = slices.Compact(masters)
	if len(masters) == 0 {
		return nil, fmt.Errorf("consumer progress of %s: %w: %w", group, ErrNoRoute, errors.Join(routeErrs...))
	}
	h := header.GetConsumeStatsRequest{ConsumerGroup: wgroup, Topic: a.wrap(topic)}
	var mu sync.Mutex
	prog := &ConsumerProgress{Group: group}
	err := a.eachBroker(ctx, masters, func(ctx context.Context, addr string) error {
		resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.GetConsumeStats, h.Encode(), nil))
		if err != nil {
			return err
		}
		if resp.Code != code.Success {
			return brokerErr(resp.Code, resp.Remark)
		}
		cs, err := body.DecodeConsumeStats(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		mu.Lock()
		defer mu.Unlock()
		prog.ConsumeTPS += cs.ConsumeTps
		for mq, w := range cs.OffsetTable {
			mq.Topic = a.unwrap(mq.Topic)
			prog.Queues = append(prog.Queues, QueueProgress{
				Queue:          mq,
				BrokerOffset:   w.BrokerOffset,
				ConsumerOffset: w.ConsumerOffset,
				Lag:            max(w.BrokerOffset-w.ConsumerOffset, 0),
				LastTimestamp:  w.LastTimestamp,
			})
		}
		return nil
	}, "consumer progress of "+group)
	slices.SortFunc(prog.Queues, func(x, y QueueProgress) int { return compareQueues(x.Queue, y.Queue) })
	for _, q := range prog.Queues {
		prog.TotalLag += q.Lag
	}
	return prog, err
}

// QueryMessageByID finds one message by id. An offset message id (store host +
// commitlog offset) is looked up directly on its store host (VIEW_MESSAGE_BY_ID, 33);
// anything else, or an offset id whose lookup fails, is taken as a client unique id
// (UNIQ_KEY) and queried on every master of topic (QUERY_MESSAGE, 12), which needs the
// topic. Not found fails with a *BrokerError of code QUERY_NOT_FOUND (22).
func (a *Admin) QueryMessageByID(ctx context.Context, topic, id string) (*MessageExt, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	var viewErr error
	if host, off, err := message.ParseOffsetMsgID(id); err == nil {
		m, err := a.viewMessage(ctx, host.String(), off)
		if err == nil && (topic == "" || m.Topic == a.wrap(topic)) {
			m.Topic = a.unwrap(m.Topic)
			m.Queue.Topic = m.Topic
			return m, nil
		}
		viewErr = err
	}
	if topic == "" {
		if viewErr == nil {
			viewErr = fmt.Errorf("%w: %q is not an offset message id; a unique key needs the topic", ErrInvalidOption, id)
		}
		return nil, fmt.Errorf("query message %s: %w", id, viewErr)
	}
	msgs, err := a.queryMessage(ctx, topic, id, true, time.Time{}, time.Time{}, 32)
	if err != nil {
		return nil, fmt.Errorf("query message %s: %w", id, err)
	}
	for _, m := range msgs {
		if m.Property(PropertyUniqKey) == id {
			return m, nil
		}
	}
	return nil, fmt.Errorf("query message %s in %s: %w", id, topic, brokerErr(code.QueryNotFound, "no message with this id"))
}

// viewMessage fetches the record at a commitlog offset of one broker.
func (a *Admin) viewMessage(ctx context.Context, addr string, offset int64) (*MessageExt, error) {
	h := header.ViewMessageRequest{Offset: offset}
	resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.ViewMessageByID, h.Encode(), nil))
	if err != nil {
		return nil, err
	}
	if resp.Code != code.Success {
		return nil, brokerErr(resp.Code, resp.Remark)
	}
	msgs, err := DecodeMessages(resp.Body)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: empty view response", ErrBadResponse)
	}
	return msgs[0], nil
}

// QueryMessageByKey returns the messages of topic whose KEYS include key, stored within
// [begin, end] (zero times mean unbounded), at most maxNum per broker (0 means 32),
// from every master serving the topic (QUERY_MESSAGE, 12), newest first per broker.
// Nothing found is an empty result, not an error.
func (a *Admin) QueryMessageByKey(ctx context.Context, topic, key string, begin, end time.Time, maxNum int) ([]*MessageExt, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	msgs, err := a.queryMessage(ctx, topic, key, false, begin, end, maxNum)
	if err != nil {
		return msgs, fmt.Errorf("query messages of %s by key %s: %w", topic, key, err)
	}
	return msgs, nil
}

// queryMessage runs QUERY_MESSAGE on every master of topic and keeps the messages that
// really carry key (the index is a hash and may return others).
func (a *Admin) queryMessage(ctx context.Context, topic, key string, uniq bool, begin, end time.Time, maxNum int) ([]*MessageExt, error) {
	wrapped := a.wrap(topic)
	r, err := a.inst.fetchRoute(ctx, wrapped)
	if err != nil {
		return nil, err
	}
	if maxNum <= 0 {
		maxNum = 32
	}
	h := header.QueryMessageRequest{
		Topic:          wrapped,
		Key:            key,
		MaxNum:         int32(min(maxNum, math.MaxInt32)),
		BeginTimestamp: 0,
		EndTimestamp:   math.MaxInt64,
	}
	if !begin.IsZero() {
		h.BeginTimestamp = begin.UnixMilli()
	}
	if !end.IsZero() {
		h.EndTimestamp = end.UnixMilli()
	}
	var (
		mu  sync.Mutex
		out []*MessageExt
	)
	err = a.eachBroker(ctx, routeMasters(r), func(ctx context.Context, addr string) error {
		ext := h.Encode()
		if uniq {
			ext["_UNIQUE_KEY_QUERY"] = "true"
		}
		resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.QueryMessage, ext, nil))
		if err != nil {
			return err
		}
		switch resp.Code {
		case code.Success:
		case code.QueryNotFound:
			return nil
		default:
			return brokerErr(resp.Code, resp.Remark)
		}
		msgs, err := DecodeMessages(resp.Body)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			match := m.Property(PropertyUniqKey) == key
			if !uniq {
				match = slices.Contains(m.Keys(), key)
			}
			if match && m.Topic == wrapped {
				m.Topic = a.unwrap(m.Topic)
				m.Queue.Topic = m.Topic
				out = append(out, m)
			}
		}
		return err
	}, "query message")
	return out, err
}

// ResetOffsetByTimestamp moves the committed offset of group on every queue of topic to
// the first message stored at or after ts: for each queue it asks the master for the
// offset (SEARCH_OFFSET_BY_TIMESTAMP, 29) and commits it (UPDATE_CONSUMER_OFFSET, 15).
// It returns the new offset of every queue it reset, and the failures joined.
//
// Stop the group's consumers first: a running consumer keeps its progress in memory and
// commits it every few seconds, overwriting the reset. (RocketMQ can also make the
// broker tell live consumers to jump — INVOKE_BROKER_TO_RESET_OFFSET — which rocketgo
// brokers do not implement, so this client uses the offset path only.)
func (a *Admin) ResetOffsetByTimestamp(ctx context.Context, group, topic string, ts time.Time) (map[MessageQueue]int64, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	wrapped, wgroup := a.wrap(topic), a.wrap(group)
	r, err := a.inst.fetchRoute(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("reset offsets of %s on %s: %w", group, topic, err)
	}
	masters := make(map[string]string, len(r.BrokerDatas))
	for _, b := range r.BrokerDatas {
		masters[b.BrokerName] = b.BrokerAddrs[0]
	}
	queues := newRouteEntry(wrapped, r, "", time.Time{}).sub
	out := make(map[MessageQueue]int64, len(queues))
	var errs []error
	for _, mq := range queues {
		off, err := a.resetQueue(ctx, masters[mq.BrokerName], wgroup, mq, ts)
		if err != nil {
			errs = append(errs, fmt.Errorf("reset %s: %w", mq, err))
			continue
		}
		mq.Topic = topic
		out[mq] = off
	}
	return out, errors.Join(errs...)
}

// resetQueue searches the offset of ts on one queue of the master at addr and commits
// it for group.
func (a *Admin) resetQueue(ctx context.Context, addr, group string, mq MessageQueue, ts time.Time) (int64, error) {
	if addr == "" {
		return 0, fmt.Errorf("%w: %s has no master", ErrBrokerNotFound, mq.BrokerName)
	}
	sh := header.SearchOffsetRequest{Topic: mq.Topic, QueueID: mq.QueueID, Timestamp: ts.UnixMilli()}
	resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.SearchOffsetByTimestamp, sh.Encode(), nil))
	if err != nil {
		return 0, err
	}
	if resp.Code != code.Success {
		return 0, brokerErr(resp.Code, resp.Remark)
	}
	var oh header.OffsetResponse
	if err := oh.Decode(resp.ExtFields); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	uh := header.UpdateConsumerOffsetRequest{ConsumerGroup: group, Topic: mq.Topic, QueueID: mq.QueueID, CommitOffset: oh.Offset}
	if err := a.expectSuccess(ctx, addr, codec.NewRequest(code.UpdateConsumerOffset, uh.Encode(), nil)); err != nil {
		return 0, err
	}
	return oh.Offset, nil
}
