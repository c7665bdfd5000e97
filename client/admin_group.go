package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

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
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetConsumeStats, h.Encode(), nil))
		if err != nil {
			return err
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

// ResetOffsetByTimestamp moves the committed offset of group on every queue of topic to
// the first message stored at or after ts: for each queue it asks the master for the
// offset (SEARCH_OFFSET_BY_TIMESTAMP, 29) and commits it (UPDATE_CONSUMER_OFFSET, 15).
// It returns the new offset of every queue it reset, and the failures joined.
//
// Stop the group's consumers first: a running consumer keeps its progress in memory and
// commits it every few seconds, overwriting the reset. ResetOffsetOnline
// (INVOKE_BROKER_TO_RESET_OFFSET) makes the brokers tell live consumers to jump instead.
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
	off, err := a.searchOffset(ctx, addr, mq, ts) // admin_browse.go
	if err != nil {
		return 0, err
	}
	uh := header.UpdateConsumerOffsetRequest{ConsumerGroup: group, Topic: mq.Topic, QueueID: mq.QueueID, CommitOffset: off}
	if err := a.expectSuccess(ctx, addr, codec.NewRequest(code.UpdateConsumerOffset, uh.Encode(), nil)); err != nil {
		return 0, err
	}
	return off, nil
}

// SubscriptionGroupConfig is a consumer group's broker-side configuration
// (SubscriptionGroupConfig.java): what UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) carries.
type SubscriptionGroupConfig struct {
	GroupName                      string `json:"groupName"`
	ConsumeEnable                  bool   `json:"consumeEnable"`
	ConsumeFromMinEnable           bool   `json:"consumeFromMinEnable"`
	ConsumeBroadcastEnable         bool   `json:"consumeBroadcastEnable"`
	RetryQueueNums                 int32  `json:"retryQueueNums"`
	RetryMaxTimes                  int32  `json:"retryMaxTimes"`
	BrokerID                       int64  `json:"brokerId"`
	WhichBrokerWhenConsumeSlowly   int64  `json:"whichBrokerWhenConsumeSlowly"`
	NotifyConsumerIDsChangedEnable bool   `json:"notifyConsumerIdsChangedEnable"`
}

// DefaultSubscriptionGroupConfig returns RocketMQ's defaults for group: consume enabled,
// one retry queue, 16 retries, read from the master.
func DefaultSubscriptionGroupConfig(group string) SubscriptionGroupConfig {
	return SubscriptionGroupConfig{
		GroupName: group, ConsumeEnable: true, ConsumeFromMinEnable: true, ConsumeBroadcastEnable: true,
		RetryQueueNums: 1, RetryMaxTimes: 16, WhichBrokerWhenConsumeSlowly: 1, NotifyConsumerIDsChangedEnable: true,
	}
}

// UpdateSubscriptionGroup creates or replaces the group's configuration on every broker
// of target (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 200).
func (a *Admin) UpdateSubscriptionGroup(ctx context.Context, cfg SubscriptionGroupConfig, target Target) error {
	if err := a.check(); err != nil {
		return err
	}
	if cfg.GroupName == "" {
		return fmt.Errorf("update subscription group: %w: empty group", ErrInvalidOption)
	}
	addrs, err := a.targetAddrs(ctx, target)
	if err != nil {
		return fmt.Errorf("update subscription group %s: %w", cfg.GroupName, err)
	}
	cfg.GroupName = a.wrap(cfg.GroupName)
	data, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return a.eachBroker(ctx, addrs, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.UpdateAndCreateSubGroup, nil, data))
	}, "update subscription group "+a.unwrap(cfg.GroupName))
}

// ConsumerConnection returns the live connections and subscriptions of a consumer group
// (GET_CONSUMER_CONNECTION_LIST, 203) from the broker at addr, or, with addr "", from
// the first master serving the group's retry topic that knows the group. A group
// without live consumers fails with a *BrokerError of code CONSUMER_NOT_ONLINE (206).
func (a *Admin) ConsumerConnection(ctx context.Context, group, addr string) (*body.ConsumerConnection, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	addrs := []string{addr}
	if addr == "" {
		r, err := a.inst.fetchRoute(ctx, RetryTopic(a.wrap(group)))
		if err != nil {
			return nil, fmt.Errorf("consumer connection of %s: %w", group, err)
		}
		addrs = routeMasters(r)
	}
	h := map[string]string{"consumerGroup": a.wrap(group)}
	var lastErr error
	for _, addr := range addrs {
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetConsumerConnectionList, h, nil))
		if err != nil {
			lastErr = err
			continue
		}
		cc, err := body.DecodeConsumerConnection(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("consumer connection of %s: %w: %w", group, ErrBadResponse, err)
		}
		return cc, nil
	}
	return nil, fmt.Errorf("consumer connection of %s: %w", group, lastErr)
}

// ProducerConnection returns the live connections of a producer group
// (GET_PRODUCER_CONNECTION_LIST, 204) from the first master serving topic that knows
// the group.
func (a *Admin) ProducerConnection(ctx context.Context, group, topic string) (*body.ProducerConnection, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	r, err := a.inst.fetchRoute(ctx, a.wrap(topic))
	if err != nil {
		return nil, fmt.Errorf("producer connection of %s: %w", group, err)
	}
	h := header.GetProducerConnectionListRequest{ProducerGroup: a.wrap(group)}
	lastErr := fmt.Errorf("%w: topic %s has no master", ErrBrokerNotFound, topic)
	for _, addr := range routeMasters(r) {
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetProducerConnectionList, h.Encode(), nil))
		if err != nil {
			lastErr = err
			continue
		}
		pc, err := body.DecodeProducerConnection(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("producer connection of %s: %w: %w", group, ErrBadResponse, err)
		}
		return pc, nil
	}
	return nil, fmt.Errorf("producer connection of %s: %w", group, lastErr)
}

// TopicConsumers returns the consumer groups of topic known to the brokers serving it
// (QUERY_TOPIC_CONSUME_BY_WHO, 300), sorted. Brokers that do not implement the request
// answer REQUEST_CODE_NOT_SUPPORTED, reported as an error wrapping ErrNotSupported.
func (a *Admin) TopicConsumers(ctx context.Context, topic string) ([]string, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	r, err := a.inst.fetchRoute(ctx, a.wrap(topic))
	if err != nil {
		return nil, fmt.Errorf("consumers of %s: %w", topic, err)
	}
	h := header.TopicRequest{Topic: a.wrap(topic)}
	var out []string
	for _, addr := range routeMasters(r) {
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.QueryTopicConsumeByWho, h.Encode(), nil))
		if err != nil {
			return nil, fmt.Errorf("consumers of %s on %s: %w", topic, addr, err)
		}
		var gl struct {
			GroupList []string `json:"groupList"`
		}
		if err := json.Unmarshal(resp.Body, &gl); err != nil {
			return nil, fmt.Errorf("consumers of %s: %w: %w", topic, ErrBadResponse, err)
		}
		for _, g := range gl.GroupList {
			out = append(out, a.unwrap(g))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// DeleteSubscriptionGroup removes the group's configuration from every broker of target
// (DELETE_SUBSCRIPTIONGROUP, 207); with removeOffset the brokers also drop the group's
// committed offsets. Deleting an unknown group succeeds. The group's retry and
// dead-letter topics stay: delete them with DeleteTopic.
func (a *Admin) DeleteSubscriptionGroup(ctx context.Context, group string, removeOffset bool, target Target) error {
	if err := a.check(); err != nil {
		return err
	}
	if group == "" {
		return fmt.Errorf("delete subscription group: %w: empty group", ErrInvalidOption)
	}
	addrs, err := a.targetAddrs(ctx, target)
	if err != nil {
		return fmt.Errorf("delete subscription group %s: %w", group, err)
	}
	h := header.DeleteSubscriptionGroupRequest{GroupName: a.wrap(group), RemoveOffset: removeOffset}
	return a.eachBroker(ctx, addrs, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.DeleteSubscriptionGroup, h.Encode(), nil))
	}, "delete subscription group "+group)
}

// ConsumerRunningInfo asks consumer clientID of group, through the broker at addr that
// the client heartbeats, for its running state (GET_CONSUMER_RUNNING_INFO, 307): the
// broker relays the request and returns the client's ConsumerRunningInfo JSON as is.
func (a *Admin) ConsumerRunningInfo(ctx context.Context, addr, group, clientID string) ([]byte, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	h := header.GetConsumerRunningInfoRequest{ConsumerGroup: a.wrap(group), ClientID: clientID}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetConsumerRunningInfo, h.Encode(), nil))
	if err != nil {
		return nil, fmt.Errorf("running info of %s in %s: %w", clientID, group, err)
	}
	return resp.Body, nil
}

// ConsumeMessageDirectly makes consumer clientID of group consume the message of
// offsetMsgID, stored on the broker at addr, at once (CONSUME_MESSAGE_DIRECTLY, 309): the
// broker reads the message and relays it; the answer is the client's
// ConsumeMessageDirectlyResult JSON.
func (a *Admin) ConsumeMessageDirectly(ctx context.Context, addr, group, clientID, offsetMsgID string) ([]byte, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	h := header.ConsumeMessageDirectlyRequest{ConsumerGroup: a.wrap(group), ClientID: clientID, MsgID: offsetMsgID}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.ConsumeMessageDirectly, h.Encode(), nil))
	if err != nil {
		return nil, fmt.Errorf("consume %s directly on %s in %s: %w", offsetMsgID, clientID, group, err)
	}
	return resp.Body, nil
}
