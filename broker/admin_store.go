package broker

import (
	"fmt"
	"slices"

	"github.com/rocketgo/rocketgo/broker/schedule"
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// This file serves the admin requests that read or clean the store's queues:
// GET_BROKER_CONSUME_STATS (317), QUERY_CONSUME_QUEUE (321), CLEAN_EXPIRED_CONSUMEQUEUE
// (306) and CLEAN_UNUSED_TOPIC (316) — AdminBrokerProcessor.java of apache/rocketmq 4.9
// (docs/protocol.md §13).

// handleBrokerConsumeStats serves GET_BROKER_CONSUME_STATS (317) as
// AdminBrokerProcessor.fetchAllConsumeStatsInBroker: for every subscription group (in
// name order), a ConsumeStats per topic it has committed offsets on, over the topic's
// write queues — only order topics when isOrder — and the broker's total lag. As for
// GET_CONSUME_STATS, an online group's topics it does not subscribe to are left out.
func (b *Broker) handleBrokerConsumeStats(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumeStatsInBrokerRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	groups, _ := b.groups.All()
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.GetGroupName())
	}
	slices.Sort(names)
	now := b.now()
	out := &body.ConsumeStatsList{BrokerAddr: b.Addr()}
	for _, group := range names {
		gs := body.GroupConsumeStats{Group: group, Stats: []*body.ConsumeStats{}}
		subscribed := b.clients.SubscriptionCount(group) > 0
		for _, topic := range b.topicsConsumedBy(group) {
			tc, ok := b.topics.Get(topic)
			if !ok || (h.IsOrder && !tc.GetOrder()) {
				continue
			}
			if _, sub := b.clients.Subscription(group, topic); subscribed && !sub {
				continue
			}
			cs := &body.ConsumeStats{OffsetTable: map[body.MessageQueue]body.OffsetWrapper{}}
			b.addQueueStats(cs, group, topic, tc.GetWriteQueueNums(), now)
			out.TotalDiff += cs.TotalDiff()
			gs.Stats = append(gs.Stats, cs)
		}
		out.List = append(out.List, gs)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = out.Encode()
	return resp
}

// handleQueryConsumeQueue serves QUERY_CONSUME_QUEUE (321) as
// AdminBrokerProcessor.queryConsumeQueue: up to count units of one ConsumeQueue from
// logical offset index on, with the queue's min and max, and — when consumerGroup is
// given — that group's registered subscription. An index the queue does not hold
// answers SUCCESS with Apache's remark and no body.
func (b *Broker) handleQueryConsumeQueue(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.QueryConsumeQueueRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	count := int(min(max(h.Count, 0), maxQueryConsumeQueueUnits))
	qu, ok := b.store.ConsumeQueueUnits(h.Topic, h.QueueID, h.Index, count)
	if !ok {
		return req.NewResponse(code.SystemError, fmt.Sprintf("%d@%s is not exist!", h.QueueID, h.Topic))
	}
	out := &body.QueryConsumeQueueResponseBody{MaxQueueIndex: qu.Max, MinQueueIndex: qu.Min}
	if h.ConsumerGroup != "" {
		if sub, ok := b.clients.Subscription(h.ConsumerGroup, h.Topic); ok {
			out.SubscriptionData = sub
			// Java prints the group's ConsumerFilterData, which exists only for SQL92
			// and class filters; rocketgo keeps none, so this is fastjson's null.
			out.FilterData = "null"
		} else {
			out.FilterData = fmt.Sprintf("%s@%s is not online!", h.ConsumerGroup, h.Topic)
		}
	}
	if h.Index < qu.Min || h.Index >= qu.Max {
		return req.NewResponse(code.Success, fmt.Sprintf("Index %d of %d@%s is not exist!", h.Index, h.QueueID, h.Topic))
	}
	for _, u := range qu.Units {
		out.QueueData = append(out.QueueData, body.ConsumeQueueData{PhysicOffset: u.Offset, PhysicSize: u.Size, TagsCode: u.TagsCode})
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = out.Encode()
	return resp
}

// maxQueryConsumeQueueUnits bounds one QUERY_CONSUME_QUEUE answer (Java reads at most
// one mapped file's worth; 20 bytes a unit, this is 640 KiB of units).
const maxQueryConsumeQueueUnits = 32 << 10

// handleCleanExpiredConsumeQueue serves CLEAN_EXPIRED_CONSUMEQUEUE (306): ConsumeQueue
// files wholly behind the CommitLog's smallest offset are deleted now (the queues keep
// their offsets; docs/mqadmin.md).
func (b *Broker) handleCleanExpiredConsumeQueue(_ *server.Conn, req *codec.Command) *codec.Command {
	n := b.store.CleanExpiredConsumeQueues()
	b.log.Warn().Int("files", n).Msg("cleanExpiredConsumeQueue done")
	return req.NewResponse(code.Success, "")
}

// handleCleanUnusedTopic serves CLEAN_UNUSED_TOPIC (316) as
// DefaultMessageStore.cleanUnusedTopic: the queues of every topic the broker has no
// config for are deleted, except the scheduler's and the transactions' system topics.
func (b *Broker) handleCleanUnusedTopic(_ *server.Conn, req *codec.Command) *codec.Command {
	deleted, err := b.store.CleanUnusedTopics(func(topic string) bool {
		switch topic {
		case schedule.TopicSchedule, txn.HalfTopic, txn.OpTopic, txn.CheckMaxTopic:
			return true
		}
		_, ok := b.topics.Get(topic)
		return ok || b.topics.IsSystem(topic)
	})
	b.log.Warn().Strs("topics", deleted).Msg("cleanUnusedTopic done")
	if err != nil {
		return errorResponse(req, err)
	}
	return req.NewResponse(code.Success, "")
}
