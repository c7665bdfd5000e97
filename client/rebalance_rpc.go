package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// This file holds the broker requests of a consumer group member: membership, offsets,
// queue locks and send-back. Each checks the response code (the official client ignores
// several of them, docs/protocol.md §11) and returns a *BrokerError for anything else.

// masterOf returns the master address of brokerName, fetching topic's route once when
// the broker is not known yet (a queue can outlive the route cache entry that named it).
func (c *consumerCore) masterOf(ctx context.Context, brokerName, topic string) (string, error) {
	return c.inst.masterOf(ctx, brokerName, topic) // queue_rpc.go
}

// call sends one request and returns the answer when its code is one of ok.
func (c *consumerCore) call(ctx context.Context, addr string, req *codec.Command, ok ...int32) (*codec.Command, error) {
	resp, err := c.inst.invoke(ctx, addr, req)
	if err != nil {
		return nil, err
	}
	if len(ok) == 0 {
		ok = []int32{code.Success}
	}
	if !slices.Contains(ok, resp.Code) {
		return resp, fmt.Errorf("request %d to %s: %w", req.Code, addr, brokerErr(resp.Code, resp.Remark))
	}
	return resp, nil
}

// consumerIDs asks a broker of topic for the client ids of the group
// (GET_CONSUMER_LIST_BY_GROUP, 38). All members ask the same broker (the first by name
// that has a master), so they allocate from the same view of the group.
func (c *consumerCore) consumerIDs(ctx context.Context, topic string) ([]string, error) {
	r, err := c.inst.route(ctx, topic)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.BrokerDatas))
	for _, b := range r.BrokerDatas {
		names = append(names, b.BrokerName)
	}
	slices.Sort(names)
	addr := ""
	for _, n := range names {
		if addr = c.inst.masterAddr(n); addr != "" {
			break
		}
	}
	if addr == "" && len(names) > 0 {
		// No master anywhere: any member knows the group too.
		if a, _, ok := c.inst.brokerAddr(names[rand.IntN(len(names))], 0, false); ok {
			addr = a
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("consumer list of %s: %w", c.group, ErrBrokerNotFound)
	}
	h := header.GetConsumerListByGroupRequest{ConsumerGroup: c.group}
	resp, err := c.call(ctx, addr, codec.NewRequest(code.GetConsumerListByGroup, h.Encode(), nil))
	if err != nil {
		return nil, fmt.Errorf("consumer list of %s: %w", c.group, err)
	}
	list, err := body.DecodeConsumerList(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("consumer list of %s from %s: %w: %w", c.group, addr, ErrBadResponse, err)
	}
	return list.ConsumerIDList, nil
}

// queryOffset implements brokerOffsets: QUERY_CONSUMER_OFFSET (14); 22 is errNoOffset.
// It asks the master, or a slave (which holds a copy of the group's offsets) while the
// master is out of the route.
func (c *consumerCore) queryOffset(ctx context.Context, mq MessageQueue) (int64, error) {
	addr, _, err := c.readerOf(ctx, mq.BrokerName, mq.Topic)
	if err != nil {
		return 0, err
	}
	h := header.QueryConsumerOffsetRequest{ConsumerGroup: c.group, Topic: mq.Topic, QueueID: mq.QueueID}
	resp, err := c.call(ctx, addr, codec.NewRequest(code.QueryConsumerOffset, h.Encode(), nil), code.Success, code.QueryNotFound)
	if err != nil {
		return 0, fmt.Errorf("query offset of %s: %w", mq, err)
	}
	if resp.Code == code.QueryNotFound {
		return 0, errNoOffset
	}
	var rh header.OffsetResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return 0, fmt.Errorf("query offset of %s: %w: %w", mq, ErrBadResponse, err)
	}
	if rh.Offset < 0 {
		return 0, errNoOffset
	}
	return rh.Offset, nil
}

// commitOffset implements brokerOffsets: UPDATE_CONSUMER_OFFSET (15). Unlike the
// official client it waits for the answer, so a failed commit is seen and retried.
// While the master is out of the route the commit goes to a slave and onMaster is
// false: the offset store commits it again until a master has it (slaveread.go).
func (c *consumerCore) commitOffset(ctx context.Context, mq MessageQueue, offset int64) (onMaster bool, err error) {
	addr, onMaster, err := c.readerOf(ctx, mq.BrokerName, mq.Topic)
	if err != nil {
		return false, err
	}
	h := header.UpdateConsumerOffsetRequest{ConsumerGroup: c.group, Topic: mq.Topic, QueueID: mq.QueueID, CommitOffset: offset}
	if _, err := c.call(ctx, addr, codec.NewRequest(code.UpdateConsumerOffset, h.Encode(), nil)); err != nil {
		return false, fmt.Errorf("commit offset of %s: %w", mq, err)
	}
	return onMaster, nil
}

// queueOffset asks the master of mq (a slave while the master is down, slaveread.go)
// for one of its offsets (queue_rpc.go).
func (c *consumerCore) queueOffset(ctx context.Context, mq MessageQueue, reqCode int32, timestampMS int64) (int64, error) {
	addr, _, err := c.readerOf(ctx, mq.BrokerName, mq.Topic)
	if err != nil {
		return 0, err
	}
	return c.inst.queueOffsetAt(ctx, addr, mq, reqCode, timestampMS)
}

// lockQueues asks the master of brokerName to lease mqs to this member
// (LOCK_BATCH_MQ, 41) and returns the ones it now holds.
func (c *consumerCore) lockQueues(ctx context.Context, brokerName string, mqs []MessageQueue) ([]MessageQueue, error) {
	if len(mqs) == 0 {
		return nil, nil
	}
	addr, err := c.masterOf(ctx, brokerName, mqs[0].Topic)
	if err != nil {
		return nil, err
	}
	b := body.LockBatchRequestBody{ConsumerGroup: c.group, ClientID: c.inst.clientID, MQSet: mqs}
	resp, err := c.call(ctx, addr, codec.NewRequest(code.LockBatchMQ, nil, b.Encode()))
	if err != nil {
		return nil, fmt.Errorf("lock %d queues on %s: %w", len(mqs), brokerName, err)
	}
	r, err := body.DecodeLockBatchResponse(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("lock queues on %s: %w: %w", brokerName, ErrBadResponse, err)
	}
	return r.LockOKMQSet, nil
}

// unlockQueues releases mqs on the master of brokerName (UNLOCK_BATCH_MQ, 42), so the
// next owner need not wait for the lease to run out.
func (c *consumerCore) unlockQueues(ctx context.Context, brokerName string, mqs []MessageQueue) error {
	if len(mqs) == 0 {
		return nil
	}
	addr, err := c.masterOf(ctx, brokerName, mqs[0].Topic)
	if err != nil {
		return err
	}
	b := body.UnlockBatchRequestBody{ConsumerGroup: c.group, ClientID: c.inst.clientID, MQSet: mqs}
	if _, err := c.call(ctx, addr, codec.NewRequest(code.UnlockBatchMQ, nil, b.Encode())); err != nil {
		return fmt.Errorf("unlock %d queues on %s: %w", len(mqs), brokerName, err)
	}
	return nil
}

// sendBack hands a message the listener failed to the broker (CONSUMER_SEND_MSG_BACK,
// 36): delayLevel 0 lets the broker pick the next retry delay, -1 sends it straight to
// the dead-letter topic. mq is the queue the message was pulled from; the request goes
// to that broker's master, or to the message's store host when the master is unknown.
// The answer's code is checked: only SUCCESS means the broker has the message.
func (c *consumerCore) sendBack(ctx context.Context, mq MessageQueue, m *MessageExt, delayLevel, maxReconsume int32) error {
	addr := c.inst.masterAddr(mq.BrokerName)
	if addr == "" && m.StoreHost.IsValid() {
		addr = m.StoreHost.String()
	}
	if addr == "" {
		return fmt.Errorf("send back %s: %w", m.MsgID, ErrBrokerNotFound)
	}
	h := header.ConsumerSendMsgBackRequest{
		Offset:            m.CommitLogOffset,
		Group:             c.group,
		DelayLevel:        delayLevel,
		OriginMsgID:       m.MsgID,
		OriginTopic:       c.wrap(m.Topic),
		MaxReconsumeTimes: header.Int32(maxReconsume),
	}
	if _, err := c.call(ctx, addr, codec.NewRequest(code.ConsumerSendMsgBack, h.Encode(), nil)); err != nil {
		return fmt.Errorf("send back %s (offset %d of %s): %w", m.MsgID, m.QueueOffset, mq, err)
	}
	return nil
}

// unregister tells every broker that this member left the group (UNREGISTER_CLIENT,
// 35), so the others rebalance at once rather than after the broker's 120 s channel
// expiry — which matters when the connection stays open for a producer sharing the
// client instance. Failures are only logged: expiry cleans up eventually.
func (c *consumerCore) unregister(ctx context.Context) {
	h := header.UnregisterClientRequest{ClientID: c.inst.clientID, ConsumerGroup: c.group}
	for _, addr := range c.inst.brokerAddrs(false) {
		if _, err := c.call(ctx, addr, codec.NewRequest(code.UnregisterClient, h.Encode(), nil)); err != nil {
			c.log.Debug().Err(err).Str("addr", addr).Msg("unregister client")
		}
	}
}
