package client

import (
	"context"
	"fmt"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// masterOf returns the master address of brokerName, fetching topic's route once when
// the broker is not known yet (a queue can outlive the route cache entry that named it).
func (c *instance) masterOf(ctx context.Context, brokerName, topic string) (string, error) {
	if addr := c.masterAddr(brokerName); addr != "" {
		return addr, nil
	}
	if _, err := c.route(ctx, topic); err != nil {
		return "", fmt.Errorf("master of %s: %w", brokerName, err)
	}
	if addr := c.masterAddr(brokerName); addr != "" {
		return addr, nil
	}
	return "", fmt.Errorf("master of %s: %w", brokerName, ErrBrokerNotFound)
}

// queueOffset asks the master of mq (topic namespace-wrapped) for one of its offsets:
// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) or, with a timestamp,
// SEARCH_OFFSET_BY_TIMESTAMP (29).
func (c *instance) queueOffset(ctx context.Context, mq MessageQueue, reqCode int32, timestampMS int64) (int64, error) {
	addr, err := c.masterOf(ctx, mq.BrokerName, mq.Topic)
	if err != nil {
		return 0, err
	}
	return c.queueOffsetAt(ctx, addr, mq, reqCode, timestampMS)
}

// queueOffsetAt is queueOffset asking the broker at addr.
func (c *instance) queueOffsetAt(ctx context.Context, addr string, mq MessageQueue, reqCode int32, timestampMS int64) (int64, error) {
	var ext map[string]string
	if reqCode == code.SearchOffsetByTimestamp {
		h := header.SearchOffsetRequest{Topic: mq.Topic, QueueID: mq.QueueID, Timestamp: timestampMS}
		ext = h.Encode()
	} else {
		h := header.QueueRequest{Topic: mq.Topic, QueueID: mq.QueueID}
		ext = h.Encode()
	}
	resp, err := c.invoke(ctx, addr, codec.NewRequest(reqCode, ext, nil))
	if err == nil && resp.Code != code.Success {
		err = fmt.Errorf("request %d to %s: %w", reqCode, addr, brokerErr(resp.Code, resp.Remark))
	}
	if err != nil {
		return 0, fmt.Errorf("offset of %s: %w", mq, err)
	}
	var rh header.OffsetResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return 0, fmt.Errorf("offset of %s: %w: %w", mq, ErrBadResponse, err)
	}
	if rh.Offset < 0 {
		return 0, fmt.Errorf("offset of %s: %w: negative offset %d", mq, ErrBadResponse, rh.Offset)
	}
	return rh.Offset, nil
}
