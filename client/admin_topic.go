package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Defaults of topics created through Admin (the official Go admin's defaults).
const (
	DefaultTopicQueues = 8
	DefaultTopicPerm   = body.PermRead | body.PermWrite
)

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
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetTopicStatsInfo, h.Encode(), nil))
		if err != nil {
			return err
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
