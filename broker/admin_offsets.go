package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/rocketgo/rocketgo/broker/clients"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// This file serves the admin requests that move or read a group's offsets through its
// live consumers: INVOKE_BROKER_TO_RESET_OFFSET (222), INVOKE_BROKER_TO_GET_CONSUMER_STATUS
// (223) and CLONE_GROUP_OFFSET (314) — AdminBrokerProcessor.java and Broker2Client.java
// of apache/rocketmq 4.9 (docs/protocol.md §13).

// consumerStatusTimeout bounds one GET_CONSUMER_STATUS_FROM_CLIENT (221) call
// (Broker2Client.getConsumeStatus's 5 s).
const consumerStatusTimeout = 5 * time.Second

// handleInvokeResetOffset serves INVOKE_BROKER_TO_RESET_OFFSET (222) as
// Broker2Client.resetOffset: for each write queue of the topic the offset of the first
// message stored at or after timestamp (-1: the queue's max), kept at the group's
// committed offset when that is smaller and isForce is false. A group with a live
// consumer gets the table committed here and pushed to every connection as a oneway
// RESET_CONSUMER_CLIENT_OFFSET (220); the answer is SUCCESS with the table as a
// ResetOffsetBody. A group with no live consumer answers CONSUMER_NOT_ONLINE with
// Apache's remark, and the admin tool rewrites the committed offsets itself.
func (b *Broker) handleInvokeResetOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ResetOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		return req.NewResponse(code.SystemError, "[reset-offset] reset offset failed, no topic in this broker. topic="+h.Topic)
	}
	// Apache looks at the committed offsets first and refuses a group without any;
	// rocketgo asks about live consumers first, so that a group nobody has consumed
	// with yet gets CONSUMER_NOT_ONLINE and the tool's offline reset creates its offsets.
	members := b.clients.ConsumerMembers(h.Group)
	if len(members) == 0 {
		return req.NewResponse(code.ConsumerNotOnline, fmt.Sprintf(
			"Consumer not online, so can not reset offset, Group: %s Topic: %s Timestamp: %d", h.Group, h.Topic, h.Timestamp))
	}
	table := make(map[body.MessageQueue]int64, tc.GetWriteQueueNums())
	known := false
	for q := int32(0); q < tc.GetWriteQueueNums(); q++ {
		target := b.store.OffsetByTime(h.Topic, q, h.Timestamp)
		if h.Timestamp == -1 {
			target = b.store.MaxOffset(h.Topic, q)
		}
		target = max(target, 0)
		// A queue the group never committed has nothing to keep; Apache refuses the
		// whole reset then, rocketgo only when the group has no offset on the topic.
		committed, has := b.offsets.Get(h.Group, h.Topic, q)
		known = known || has
		if has && !h.IsForce && target >= committed {
			target = committed
		}
		table[body.MessageQueue{Topic: h.Topic, BrokerName: b.opts.BrokerName, QueueID: q}] = target
	}
	if !known {
		return req.NewResponse(code.SystemError, fmt.Sprintf("THe consumer group <%s> not exist", h.Group))
	}
	// Committed first: a consumer that rebalances before it reads the push starts from
	// the new offsets too.
	for mq, off := range table {
		if err := b.offsets.Commit(h.Group, h.Topic, mq.QueueID, off); err != nil {
			return errorResponse(req, err)
		}
	}
	rb := (&body.ResetOffsetBody{OffsetTable: table}).Encode()
	push := header.ResetOffsetRequest{Topic: h.Topic, Group: h.Group, Timestamp: h.Timestamp}
	for _, m := range members {
		// Oneway, as Java sends it: the official Go client answers nothing.
		if err := m.Conn.InvokeOneway(codec.NewRequest(code.ResetConsumerClientOffset, push.Encode(), rb)); err != nil {
			b.log.Warn().Err(err).Str("group", h.Group).Str("client", m.Channel.ClientID).Msg("reset offset push")
			continue
		}
		b.log.Info().Str("group", h.Group).Str("topic", h.Topic).Str("client", m.Channel.ClientID).
			Int64("timestamp", h.Timestamp).Msg("reset offset pushed")
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = rb
	return resp
}

// handleInvokeGetConsumerStatus serves INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) as
// Broker2Client.getConsumeStatus: every live connection of the group (or only the one
// whose client id is clientAddr) is asked GET_CONSUMER_STATUS_FROM_CLIENT (221), and the
// answers are collected by client id in a GetConsumerStatusBody. A client that fails or
// does not answer in 5 s is left out, as in Java.
func (b *Broker) handleInvokeGetConsumerStatus(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumerStatusRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	members := b.clients.ConsumerMembers(h.Group)
	if len(members) == 0 {
		return req.NewResponse(code.SystemError, fmt.Sprintf("No Any Consumer online in the consumer group: [%s]", h.Group))
	}
	out := &body.GetConsumerStatusBody{ConsumerTable: map[string]map[body.MessageQueue]int64{}}
	ask := header.GetConsumerStatusRequest{Topic: h.Topic, Group: h.Group}
	for _, m := range members {
		if h.ClientAddr != "" && h.ClientAddr != m.Channel.ClientID {
			continue
		}
		if t, ok := b.askConsumerStatus(m, ask); ok {
			out.ConsumerTable[m.Channel.ClientID] = t
		}
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = out.Encode()
	return resp
}

// askConsumerStatus sends 221 to one member and decodes its messageQueueTable.
func (b *Broker) askConsumerStatus(m clients.Member, ask header.GetConsumerStatusRequest) (map[body.MessageQueue]int64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), consumerStatusTimeout)
	defer cancel()
	answer, err := m.Conn.Invoke(ctx, codec.NewRequest(code.GetConsumerStatusFromClient, ask.Encode(), nil))
	if err == nil && answer.Code != code.Success {
		err = fmt.Errorf("code %d: %s", answer.Code, answer.Remark)
	}
	var st *body.GetConsumerStatusBody
	if err == nil {
		st, err = body.DecodeGetConsumerStatusBody(answer.Body)
	}
	if err != nil {
		b.log.Warn().Err(err).Str("group", ask.Group).Str("client", m.Channel.ClientID).Msg("get consumer status")
		return nil, false
	}
	return st.MessageQueueTable, true
}

// handleCloneGroupOffset serves CLONE_GROUP_OFFSET (314) as
// AdminBrokerProcessor.cloneGroupOffset: srcGroup's committed offsets on the topic (or
// on every topic it has offsets on) are copied to destGroup. A topic without config is
// skipped, and so, unless offline, is a topic an online srcGroup does not subscribe to.
func (b *Broker) handleCloneGroupOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.CloneGroupOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	topics := []string{h.Topic}
	if h.Topic == "" {
		topics = b.topicsConsumedBy(h.SrcGroup)
	}
	subscribed := b.clients.SubscriptionCount(h.SrcGroup) > 0
	for _, topic := range topics {
		tc, ok := b.topics.Get(topic)
		if !ok {
			continue
		}
		if _, sub := b.clients.Subscription(h.SrcGroup, topic); !h.Offline && subscribed && !sub {
			continue
		}
		for q := int32(0); q < max(tc.GetReadQueueNums(), tc.GetWriteQueueNums()); q++ {
			off, ok := b.offsets.Get(h.SrcGroup, topic, q)
			if !ok {
				continue
			}
			if err := b.offsets.Commit(h.DestGroup, topic, q, off); err != nil {
				return errorResponse(req, err)
			}
		}
	}
	return req.NewResponse(code.Success, "")
}
