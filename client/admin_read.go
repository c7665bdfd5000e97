package client

import (
	"context"
	"fmt"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// This file reads queues for the admin tools, as RocketMQ's tools do with a
// DefaultMQPullConsumer of group TOOLS_CONSUMER: one pull at a given offset, the
// queue's offsets, an offset by time. Nothing is committed.

// ToolsConsumerGroup is MixAll.TOOLS_CONSUMER_GROUP, the group the admin reads under.
const ToolsConsumerGroup = "TOOLS_CONSUMER"

// ReadStatus is a pull's outcome, named as Java's PullStatus.
type ReadStatus string

// The outcomes of ReadQueue.
const (
	ReadFound         ReadStatus = "FOUND"          // messages at the offset
	ReadNoNewMsg      ReadStatus = "NO_NEW_MSG"     // the offset is the end of the queue
	ReadNoMatchedMsg  ReadStatus = "NO_MATCHED_MSG" // messages there, none matching the expression
	ReadOffsetIllegal ReadStatus = "OFFSET_ILLEGAL" // the offset is outside the queue
)

// QueueRead is one read of a queue.
type QueueRead struct {
	Status          ReadStatus
	NextBeginOffset int64 // where the next read starts
	MinOffset       int64
	MaxOffset       int64
	// Messages are the records read that match the expression, oldest first.
	Messages []*MessageExt
}

// ReadQueue reads up to maxNums messages of mq from offset on, those whose tags match
// subExpression ("*" or "" for all, else "TagA || TagB"), from the queue's master
// without parking (PULL_MESSAGE, 11, as DefaultMQPullConsumer.pull sends it). The
// broker's answer codes map to ReadStatus as PullAPIWrapper does.
func (a *Admin) ReadQueue(ctx context.Context, mq MessageQueue, subExpression string, offset int64, maxNums int32) (*QueueRead, error) {
	return a.ReadQueueAs(ctx, ToolsConsumerGroup, mq, subExpression, offset, maxNums)
}

// ReadQueueAs is ReadQueue under consumerGroup instead of TOOLS_CONSUMER (mqadmin
// consumeMessage -g). It commits nothing either.
func (a *Admin) ReadQueueAs(ctx context.Context, consumerGroup string, mq MessageQueue, subExpression string, offset int64, maxNums int32) (*QueueRead, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	topic := a.wrap(mq.Topic)
	sub, err := parseSelector(topic, MessageSelector{Expression: subExpression}, 0)
	if err != nil {
		return nil, err
	}
	addr, err := a.inst.masterOf(ctx, mq.BrokerName, topic)
	if err != nil {
		return nil, err
	}
	h := header.PullMessageRequest{
		ConsumerGroup: a.wrap(consumerGroup),
		Topic:         topic,
		QueueID:       mq.QueueID,
		QueueOffset:   offset,
		MaxMsgNums:    maxNums,
		SysFlag:       header.PullSubscription,
		Subscription:  sub.expr,
		SubVersion:    time.Now().UnixMilli(),
	}
	resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.PullMessage, h.Encode(), nil))
	if err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", mq, offset, err)
	}
	r := &QueueRead{}
	switch resp.Code {
	case code.Success:
		r.Status = ReadFound
	case code.PullNotFound:
		r.Status = ReadNoNewMsg
	case code.PullRetryImmediately:
		r.Status = ReadNoMatchedMsg
	case code.PullOffsetMoved:
		r.Status = ReadOffsetIllegal
	default:
		return nil, fmt.Errorf("read %s at %d: %w", mq, offset, brokerErr(resp.Code, resp.Remark))
	}
	var rh header.PullMessageResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return nil, fmt.Errorf("read %s at %d: %w: %w", mq, offset, ErrBadResponse, err)
	}
	r.NextBeginOffset, r.MinOffset, r.MaxOffset = rh.NextBeginOffset, rh.MinOffset, rh.MaxOffset
	if r.Status != ReadFound {
		return r, nil
	}
	msgs, err := DecodeMessages(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", mq, offset, err)
	}
	added := queueOffsets(rh.MinOffset, rh.MaxOffset)
	for _, m := range msgs {
		// The broker filters by tag hash; the tag itself is checked here, as
		// PullAPIWrapper.processPullResult does. A FOUND answer all of whose records
		// fail the check stays FOUND, with no message, as in Java.
		if !sub.matches(m.Tags()) {
			continue
		}
		m.Topic = a.unwrap(m.Topic)
		m.Queue = mq
		m.stored.added = added
		r.Messages = append(r.Messages, m)
	}
	return r, nil
}

// QueueOffsets returns the smallest offset still stored in mq and its next offset
// (GET_MIN_OFFSET 31, GET_MAX_OFFSET 30).
func (a *Admin) QueueOffsets(ctx context.Context, mq MessageQueue) (minOffset, maxOffset int64, err error) {
	if minOffset, err = a.queueOffset(ctx, mq, code.GetMinOffset, 0); err != nil {
		return 0, 0, err
	}
	if maxOffset, err = a.queueOffset(ctx, mq, code.GetMaxOffset, 0); err != nil {
		return 0, 0, err
	}
	return minOffset, maxOffset, nil
}

// SearchQueueOffset returns the offset of the first message of mq stored at or after
// ts (SEARCH_OFFSET_BY_TIMESTAMP, 29).
func (a *Admin) SearchQueueOffset(ctx context.Context, mq MessageQueue, ts time.Time) (int64, error) {
	return a.queueOffset(ctx, mq, code.SearchOffsetByTimestamp, ts.UnixMilli())
}

// SubscribeQueues returns the readable queues of topic's route, sorted by broker name
// and queue id (fetchSubscribeMessageQueues).
func (a *Admin) SubscribeQueues(ctx context.Context, topic string) ([]MessageQueue, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	qs, err := a.inst.subscribeQueues(ctx, a.wrap(topic))
	if err != nil {
		return nil, err
	}
	out := make([]MessageQueue, len(qs))
	for i, q := range qs {
		q.Topic = a.unwrap(q.Topic)
		out[i] = q
	}
	return out, nil
}

func (a *Admin) queueOffset(ctx context.Context, mq MessageQueue, reqCode int32, timestampMS int64) (int64, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	mq.Topic = a.wrap(mq.Topic)
	return a.inst.queueOffset(ctx, mq, reqCode, timestampMS) // queue_rpc.go
}
