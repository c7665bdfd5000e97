package client

import (
	"context"
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
