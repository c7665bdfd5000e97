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
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// This file holds the Admin operations on consumer offsets through the brokers' admin
// codes 222, 223 and 314, and the broker maintenance codes 315, 317, 321, 306 and 316
// (docs/mqadmin.md).

// ErrConsumerNotOnline matches a CONSUMER_NOT_ONLINE (206) answer: the group has no live
// consumer on that broker.
var ErrConsumerNotOnline = errors.New("client: consumer not online")

// ResetTimestampMax is the timestamp that resets to the queues' max offsets: skip every
// message accumulated so far (mqadmin skipAccumulatedMessage, resetOffsetByTime -s now).
const ResetTimestampMax = -1

// topicMasters returns the master addresses serving topic (wrapped), sorted.
func (a *Admin) topicMasters(ctx context.Context, topic string) ([]string, error) {
	r, err := a.inst.fetchRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	masters := routeMasters(r)
	if len(masters) == 0 {
		return nil, fmt.Errorf("%w: no master serves %s", ErrBrokerNotFound, topic)
	}
	return masters, nil
}

// ResetOffsetOnline resets group's offsets on topic while its consumers run
// (INVOKE_BROKER_TO_RESET_OFFSET, 222, to every master of the topic): each broker picks
// the offset of the first message stored at or after timestampMS (ResetTimestampMax:
// the queue's max) — not moving a queue forward past the committed offset unless force
// — commits it and tells every live consumer of the group to jump there. It returns the
// new offset of every queue. A broker where the group has no live consumer answers
// CONSUMER_NOT_ONLINE: the error then matches ErrConsumerNotOnline, and
// ResetOffsetOffline is the way (as Apache's mqadmin falls back).
func (a *Admin) ResetOffsetOnline(ctx context.Context, group, topic string, timestampMS int64, force bool) (map[MessageQueue]int64, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	wtopic := a.wrap(topic)
	masters, err := a.topicMasters(ctx, wtopic)
	if err != nil {
		return nil, fmt.Errorf("reset offsets of %s on %s: %w", group, topic, err)
	}
	h := header.ResetOffsetRequest{Topic: wtopic, Group: a.wrap(group), Timestamp: timestampMS, IsForce: force}
	out := map[MessageQueue]int64{}
	var mu sync.Mutex
	err = a.eachBroker(ctx, masters, func(ctx context.Context, addr string) error {
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.InvokeBrokerToResetOffset, h.Encode(), nil))
		if err != nil {
			if c, ok := CodeOf(err); ok && c == code.ConsumerNotOnline {
				return fmt.Errorf("%w: %w", ErrConsumerNotOnline, err)
			}
			return err
		}
		rb, err := body.DecodeResetOffsetBody(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for mq, off := range rb.OffsetTable {
			mq.Topic = a.unwrap(mq.Topic)
			out[mq] = off
		}
		return nil
	}, "reset offsets of "+group)
	return out, err
}

// RollbackStats is one queue of an offline reset (RollbackStats.java): the queue's max,
// the group's offset before, the offset found for the timestamp and the offset committed.
type RollbackStats struct {
	BrokerName      string `json:"brokerName"`
	QueueID         int32  `json:"queueId"`
	BrokerOffset    int64  `json:"brokerOffset"`
	ConsumerOffset  int64  `json:"consumerOffset"`
	TimestampOffset int64  `json:"timestampOffset"`
	RollbackOffset  int64  `json:"rollbackOffset"`
}

// ResetOffsetOffline rewrites group's committed offsets on topic as Apache's
// resetOffsetByTimestampOld: per queue the offset of timestampMS (ResetTimestampMax: the
// max offset) is committed when force is set or it is not past the committed offset.
// Live consumers keep their own position and overwrite it; use ResetOffsetOnline for them.
func (a *Admin) ResetOffsetOffline(ctx context.Context, group, topic string, timestampMS int64, force bool) ([]RollbackStats, error) {
	before, err := a.ConsumerProgress(ctx, group, topic)
	if err != nil && before == nil {
		return nil, err
	}
	stats, err := a.TopicStats(ctx, topic)
	if err != nil {
		return nil, err
	}
	consumed := map[MessageQueue]int64{}
	for _, q := range before.Queues {
		if q.Queue.Topic == topic {
			consumed[q.Queue] = q.ConsumerOffset
		}
	}
	var out []RollbackStats
	var errs []error
	for _, s := range stats {
		mq := s.Queue
		target := s.MaxOffset
		addr, err := a.masterOf(ctx, topic, mq.BrokerName)
		if err == nil && timestampMS != ResetTimestampMax {
			target, err = a.searchOffset(ctx, addr, MessageQueue{Topic: a.wrap(topic), BrokerName: mq.BrokerName, QueueID: mq.QueueID}, time.UnixMilli(timestampMS)) // admin_browse.go
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reset %s: %w", mq, err))
			continue
		}
		r := RollbackStats{BrokerName: mq.BrokerName, QueueID: mq.QueueID, BrokerOffset: s.MaxOffset,
			ConsumerOffset: consumed[mq], TimestampOffset: target, RollbackOffset: consumed[mq]}
		if force || target <= r.ConsumerOffset {
			r.RollbackOffset = target
			uh := header.UpdateConsumerOffsetRequest{ConsumerGroup: a.wrap(group), Topic: a.wrap(topic), QueueID: mq.QueueID, CommitOffset: target}
			if err := a.expectSuccess(ctx, addr, codec.NewRequest(code.UpdateConsumerOffset, uh.Encode(), nil)); err != nil {
				errs = append(errs, fmt.Errorf("reset %s: %w", mq, err))
				continue
			}
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// masterOf returns the master address of brokerName in topic's route.
func (a *Admin) masterOf(ctx context.Context, topic, brokerName string) (string, error) {
	r, err := a.inst.fetchRoute(ctx, a.wrap(topic))
	if err != nil {
		return "", err
	}
	for _, b := range r.BrokerDatas {
		if b.BrokerName == brokerName && b.BrokerAddrs[0] != "" {
			return b.BrokerAddrs[0], nil
		}
	}
	return "", fmt.Errorf("%w: %s has no master", ErrBrokerNotFound, brokerName)
}

// ConsumerStatus asks every master of topic for the offsets the live consumers of group
// hold in memory (INVOKE_BROKER_TO_GET_CONSUMER_STATUS, 223, which asks each client
// GET_CONSUMER_STATUS_FROM_CLIENT, 221): by client id, each queue's offset. clientID ""
// asks every client.
func (a *Admin) ConsumerStatus(ctx context.Context, group, topic, clientID string) (map[string]map[MessageQueue]int64, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	wtopic := a.wrap(topic)
	masters, err := a.topicMasters(ctx, wtopic)
	if err != nil {
		return nil, fmt.Errorf("consumer status of %s: %w", group, err)
	}
	h := header.GetConsumerStatusRequest{Topic: wtopic, Group: a.wrap(group), ClientAddr: clientID}
	out := map[string]map[MessageQueue]int64{}
	var mu sync.Mutex
	err = a.eachBroker(ctx, masters, func(ctx context.Context, addr string) error {
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.InvokeBrokerToGetConsumerStatus, h.Encode(), nil))
		if err != nil {
			return err
		}
		st, err := body.DecodeGetConsumerStatusBody(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for id, t := range st.ConsumerTable {
			if out[id] == nil {
				out[id] = map[MessageQueue]int64{}
			}
			for mq, off := range t {
				mq.Topic = a.unwrap(mq.Topic)
				out[id][mq] = off
			}
		}
		return nil
	}, "consumer status of "+group)
	return out, err
}

// CloneGroupOffset copies srcGroup's committed offsets on topic to destGroup on every
// master of the topic (CLONE_GROUP_OFFSET, 314). offline skips the brokers' check that a
// running srcGroup subscribes to the topic.
func (a *Admin) CloneGroupOffset(ctx context.Context, srcGroup, destGroup, topic string, offline bool) error {
	if err := a.check(); err != nil {
		return err
	}
	wtopic := a.wrap(topic)
	masters, err := a.topicMasters(ctx, wtopic)
	if err != nil {
		return fmt.Errorf("clone offsets of %s: %w", srcGroup, err)
	}
	h := header.CloneGroupOffsetRequest{SrcGroup: a.wrap(srcGroup), DestGroup: a.wrap(destGroup), Topic: wtopic, Offline: offline}
	return a.eachBroker(ctx, masters, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.CloneGroupOffset, h.Encode(), nil))
	}, "clone offsets of "+srcGroup)
}

// BrokerStatsData returns one statistic of the broker at addr (VIEW_BROKER_STATS_DATA,
// 315): statsName TOPIC_PUT_NUMS with a topic, or GROUP_GET_NUMS with "topic@group".
func (a *Admin) BrokerStatsData(ctx context.Context, addr, statsName, statsKey string) (*body.BrokerStatsData, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	h := header.ViewBrokerStatsDataRequest{StatsName: statsName, StatsKey: statsKey}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.ViewBrokerStatsData, h.Encode(), nil))
	if err != nil {
		return nil, fmt.Errorf("stats %s %s of %s: %w", statsName, statsKey, addr, err)
	}
	d, err := body.DecodeBrokerStatsData(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	return d, nil
}

// BrokerConsumeStats returns the consumption of every group of the broker at addr
// (GET_BROKER_CONSUME_STATS, 317); isOrder keeps only order topics.
func (a *Admin) BrokerConsumeStats(ctx context.Context, addr string, isOrder bool) (*body.ConsumeStatsList, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	h := header.GetConsumeStatsInBrokerRequest{IsOrder: isOrder}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetBrokerConsumeStats, h.Encode(), nil))
	if err != nil {
		return nil, fmt.Errorf("consume stats of %s: %w", addr, err)
	}
	l, err := body.DecodeConsumeStatsList(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	return l, nil
}

// QueryConsumeQueue reads up to count ConsumeQueue units of (topic, queueID) from
// logical offset index on the broker at addr (QUERY_CONSUME_QUEUE, 321); group, when
// not empty, adds its registered subscription. An index the queue does not hold is a
// nil body with the broker's remark.
func (a *Admin) QueryConsumeQueue(ctx context.Context, addr, topic string, queueID int32, index int64, count int32, group string) (*body.QueryConsumeQueueResponseBody, string, error) {
	if err := a.check(); err != nil {
		return nil, "", err
	}
	h := header.QueryConsumeQueueRequest{Topic: a.wrap(topic), QueueID: queueID, Index: index, Count: count}
	if group != "" {
		h.ConsumerGroup = a.wrap(group)
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.QueryConsumeQueue, h.Encode(), nil))
	if err != nil {
		return nil, "", fmt.Errorf("consume queue %d@%s of %s: %w", queueID, topic, addr, err)
	}
	if len(resp.Body) == 0 {
		return nil, resp.Remark, nil
	}
	q, err := body.DecodeQueryConsumeQueueResponseBody(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	return q, resp.Remark, nil
}

// CleanExpiredConsumeQueue makes every broker of target delete its ConsumeQueue files
// that lie wholly behind its CommitLog (CLEAN_EXPIRED_CONSUMEQUEUE, 306).
func (a *Admin) CleanExpiredConsumeQueue(ctx context.Context, target Target) error {
	return a.onEveryBroker(ctx, target, code.CleanExpiredConsumeQueue, "clean expired consume queues")
}

// CleanUnusedTopic makes every broker of target delete the queues of topics it has no
// configuration for (CLEAN_UNUSED_TOPIC, 316).
func (a *Admin) CleanUnusedTopic(ctx context.Context, target Target) error {
	return a.onEveryBroker(ctx, target, code.CleanUnusedTopic, "clean unused topics")
}

// onEveryBroker sends a header-less request to every broker of target.
func (a *Admin) onEveryBroker(ctx context.Context, target Target, c int32, op string) error {
	if err := a.check(); err != nil {
		return err
	}
	addrs, err := a.targetAddrs(ctx, target)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	slices.Sort(addrs)
	return a.eachBroker(ctx, addrs, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(c, nil, nil))
	}, op)
}

// RunningInfo asks consumer clientID of group for its running state
// (GET_CONSUMER_RUNNING_INFO, 307) through the first master of the group's retry topic
// that has the client online, and decodes it.
func (a *Admin) RunningInfo(ctx context.Context, group, clientID string) (*body.ConsumerRunningInfo, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	masters, err := a.topicMasters(ctx, RetryTopic(a.wrap(group)))
	if err != nil {
		return nil, fmt.Errorf("running info of %s in %s: %w", clientID, group, err)
	}
	var errs []error
	for _, addr := range masters {
		raw, err := a.ConsumerRunningInfo(ctx, addr, group, clientID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		info, err := body.DecodeConsumerRunningInfo(raw)
		if err != nil {
			return nil, fmt.Errorf("running info of %s in %s: %w: %w", clientID, group, ErrBadResponse, err)
		}
		return info, nil
	}
	return nil, errors.Join(errs...)
}

// ConsumeDirectlyResult is a consumer's answer to CONSUME_MESSAGE_DIRECTLY
// (ConsumeMessageDirectlyResult.java). ConsumeResult is Java's CMResult name; the
// official Go client answers a number, mapped to the same names.
type ConsumeDirectlyResult struct {
	Order          bool   `json:"order"`
	AutoCommit     bool   `json:"autoCommit"`
	ConsumeResult  string `json:"consumeResult"`
	Remark         string `json:"remark"`
	SpentTimeMills int64  `json:"spentTimeMills"`
}

// String is ConsumeMessageDirectlyResult.toString, what mqadmin queryMsgById -g -d prints.
func (r *ConsumeDirectlyResult) String() string {
	remark := r.Remark
	if remark == "" {
		remark = "null"
	}
	return fmt.Sprintf("ConsumeMessageDirectlyResult [order=%t, autoCommit=%t, consumeResult=%s, remark=%s, spentTimeMills=%d]",
		r.Order, r.AutoCommit, r.ConsumeResult, remark, r.SpentTimeMills)
}

// goConsumeResults names the official Go client's ConsumeResult numbers as CMResult.
var goConsumeResults = []string{"CR_SUCCESS", "CR_LATER", "CR_COMMIT", "CR_ROLLBACK", "CR_LATER"}

// ConsumeDirectly makes consumer clientID of group consume the message of offsetMsgID at
// once (CONSUME_MESSAGE_DIRECTLY, 309, through the broker that stored it, whose address
// the offset id holds) and returns the consumer's result.
func (a *Admin) ConsumeDirectly(ctx context.Context, group, clientID, offsetMsgID string) (*ConsumeDirectlyResult, error) {
	host, _, err := message.ParseOffsetMsgID(offsetMsgID)
	if err != nil {
		return nil, fmt.Errorf("consume %s directly: %w: %w", offsetMsgID, ErrInvalidOption, err)
	}
	raw, err := a.ConsumeMessageDirectly(ctx, host.String(), group, clientID, offsetMsgID)
	if err != nil {
		return nil, err
	}
	var wire struct {
		ConsumeDirectlyResult
		ConsumeResult json.RawMessage `json:"consumeResult"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return nil, fmt.Errorf("consume %s directly: %w: %w", offsetMsgID, ErrBadResponse, err)
	}
	r := wire.ConsumeDirectlyResult
	var name string
	var n int
	switch {
	case json.Unmarshal(wire.ConsumeResult, &name) == nil:
		r.ConsumeResult = name
	case json.Unmarshal(wire.ConsumeResult, &n) == nil && n >= 0 && n < len(goConsumeResults):
		r.ConsumeResult = goConsumeResults[n]
	default:
		r.ConsumeResult = string(wire.ConsumeResult)
	}
	return &r, nil
}
