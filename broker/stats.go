package broker

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/broker/clients"
	"github.com/rocketgo/rocketgo/broker/internal/runstats"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// brokerVersion is the MQVersion rocketgo reports in GET_BROKER_RUNTIME_INFO: the Java
// release whose protocol it speaks (V4_9_7, ordinal 407).
const (
	brokerVersionDesc = "V4_9_7"
	brokerVersion     = 407
)

// countPulled records n messages served by a pull (FOUND); the pull path calls it so
// msgGetTotalTodayNow and getTransferedTps count deliveries. One atomic add.
func (b *Broker) countPulled(n int) {
	b.stats.CountPulled(n)
}

// sampleStats is the housekeeping step of the statistics: it records the store's put
// total and the committed-offset sums of online consumer groups.
func (b *Broker) sampleStats() {
	now := b.now()
	b.stats.Sample(now, b.store.Stats().PutMessages)
	sums := make(map[clients.GroupTopic]int64)
	for _, gt := range b.clients.OnlineSubscriptions() {
		if tc, ok := b.topics.Get(gt.Topic); ok {
			sums[gt] = b.committedSum(gt.Group, gt.Topic, tc.GetReadQueueNums())
		}
	}
	b.stats.SampleGroups(now, sums)
	b.bstats.Sample()
}

// committedSum adds up group's committed offsets over topic's first queues queues.
func (b *Broker) committedSum(group, topic string, queues int32) int64 {
	var sum int64
	for q := int32(0); q < queues; q++ {
		if off, ok := b.offsets.Get(group, topic, q); ok && off > 0 {
			sum += off
		}
	}
	return sum
}

// storeTimeAt returns the store timestamp of the message at logical offset off of the
// queue, or 0 if it is not readable (deleted, or past the end).
func storeTimeAt(st *store.Store, topic string, queueID int32, off int64) int64 {
	if off < 0 {
		return 0
	}
	r := st.GetMessages(topic, queueID, off, 1, math.MaxInt32, nil)
	if r.Status != store.Found || len(r.Records) == 0 {
		return 0
	}
	return message.RecordStoreTimestamp(r.Records[0])
}

// handleRuntimeInfo serves GET_BROKER_RUNTIME_INFO (28): a KVTable of the figures
// Java's mqadmin brokerStatus and clusterList read. The Java thread-pool figures have
// no counterpart (requests run on event loops and one worker pool) and are reported as
// 0 so the tools' parsing holds.
func (b *Broker) handleRuntimeInfo(_ *server.Conn, req *codec.Command) *codec.Command {
	now := b.now()
	ss := b.store.Stats()
	rs := b.stats
	putTps, getTps := rs.TPS(now, ss.PutMessages)
	today, yesterday := rs.Mornings()
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	ratio := string(runstats.AppendJavaDouble(nil, ss.DiskUsage))
	t := map[string]string{
		"brokerVersionDesc":                     brokerVersionDesc,
		"brokerVersion":                         strconv.Itoa(brokerVersion),
		"bootTimestamp":                         i64(rs.Boot().UnixMilli()),
		"runtime":                               runstats.FormatRuntime(now.Sub(rs.Boot())),
		"msgPutTotalTodayNow":                   i64(ss.PutMessages),
		"msgPutTotalTodayMorning":               i64(today.Puts),
		"msgPutTotalYesterdayMorning":           i64(yesterday.Puts),
		"msgGetTotalTodayNow":                   i64(rs.Gets()),
		"msgGetTotalTodayMorning":               i64(today.Gets),
		"msgGetTotalYesterdayMorning":           i64(yesterday.Gets),
		"putTps":                                putTps,
		"getTransferedTps":                      getTps,
		"putMessageTimesTotal":                  i64(ss.PutMessages),
		"putMessageSizeTotal":                   i64(ss.PutBytes),
		"commitLogMinOffset":                    i64(ss.MinPhysicalOffset),
		"commitLogMaxOffset":                    i64(ss.MaxPhysicalOffset),
		"commitLogDiskRatio":                    ratio,
		"consumeQueueDiskRatio":                 ratio,
		"earliestMessageTimeStamp":              i64(b.earliestMessageTime()),
		"sendThreadPoolQueueSize":               "0",
		"pullThreadPoolQueueSize":               "0",
		"queryThreadPoolQueueSize":              "0",
		"pageCacheLockTimeMills":                "0",
		"dispatchBehindBytes":                   i64(max(ss.MaxPhysicalOffset-ss.DispatchedOffset, 0)),
		"sendThreadPoolQueueHeadWaitTimeMills":  "0",
		"pullThreadPoolQueueHeadWaitTimeMills":  "0",
		"queryThreadPoolQueueHeadWaitTimeMills": "0",
		"diskFull":                              strconv.FormatBool(ss.DiskFull),
		"unconsumedMessagesDeleted":             i64(ss.UnconsumedDeleted),
	}
	resp := req.NewResponse(code.Success, "")
	b.addReplicationInfo(t) // role.go
	resp.Body = (&body.KVTable{Table: t}).Encode()
	return resp
}

// earliestMessageTime is the store time of the oldest record in the log, 0 if empty.
func (b *Broker) earliestMessageTime() int64 {
	st := b.store
	if st.MaxPhysicalOffset() <= st.MinPhysicalOffset() {
		return 0
	}
	rec, err := st.ReadRecord(st.MinPhysicalOffset())
	if err != nil {
		return 0
	}
	return message.RecordStoreTimestamp(rec)
}

// handleTopicStats serves GET_TOPIC_STATS_INFO (202): min and max offset and the store
// time of the newest message of every write queue of the topic.
func (b *Broker) handleTopicStats(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetTopicStatsInfoRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		return errorResponse(req, reject(errTopicNotExist, "topic[%s] not exist", h.Topic))
	}
	t := &body.TopicStatsTable{OffsetTable: make(map[body.MessageQueue]body.TopicOffset, tc.GetWriteQueueNums())}
	for q := int32(0); q < tc.GetWriteQueueNums(); q++ {
		minOff := max(b.store.MinOffset(h.Topic, q), 0)
		maxOff := max(b.store.MaxOffset(h.Topic, q), 0)
		var last int64
		if maxOff > 0 {
			last = storeTimeAt(b.store, h.Topic, q, maxOff-1)
		}
		t.OffsetTable[body.MessageQueue{Topic: h.Topic, BrokerName: b.opts.BrokerName, QueueID: q}] =
			body.TopicOffset{MinOffset: minOff, MaxOffset: maxOff, LastUpdateTimestamp: last}
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = t.Encode()
	return resp
}

// handleConsumeStats serves GET_CONSUME_STATS (208): for the named topic, or every topic
// the group has committed offsets on, each read queue's max offset, the group's
// committed offset and the store time of the last consumed message, plus the group's
// consumeTps (committed messages per second over the last minute).
//
// A named topic that does not exist answers TOPIC_NOT_EXIST, and a group the broker has
// never heard of (no config, no offsets, not online) SUBSCRIPTION_GROUP_NOT_EXIST, so the
// operator's typo gets a clear answer; a known group with nothing consumed yet gets an
// empty table, as from Java.
func (b *Broker) handleConsumeStats(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumeStatsRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	var topics []string
	if h.Topic != "" {
		if _, ok := b.topics.Get(h.Topic); !ok {
			return errorResponse(req, reject(errTopicNotExist, "topic[%s] not exist", h.Topic))
		}
		topics = []string{h.Topic}
	} else {
		topics = b.topicsConsumedBy(h.ConsumerGroup)
	}
	_, known := b.groups.Get(h.ConsumerGroup)
	if !known && len(topics) == 0 && len(b.clients.ConsumerIDs(h.ConsumerGroup)) == 0 && h.Topic == "" {
		return errorResponse(req, reject(errGroupNotExist, "subscription group[%s] not exist", h.ConsumerGroup))
	}
	now := b.now()
	cs := &body.ConsumeStats{OffsetTable: make(map[body.MessageQueue]body.OffsetWrapper)}
	subscribed := b.clients.SubscriptionCount(h.ConsumerGroup) > 0
	for _, topic := range topics {
		tc, ok := b.topics.Get(topic)
		if !ok {
			continue
		}
		// An online group that does not subscribe to the topic (leftover offsets) is
		// left out, as Java does.
		if _, ok := b.clients.Subscription(h.ConsumerGroup, topic); subscribed && !ok {
			continue
		}
		b.addQueueStats(cs, h.ConsumerGroup, topic, tc.GetReadQueueNums(), now)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = cs.Encode()
	return resp
}

// addQueueStats adds to cs the first queues queues of topic as group consumes them:
// the queue's max offset, the committed offset (0 if none) and the store time of the
// last consumed message, and the group's consumeTps on the topic.
func (b *Broker) addQueueStats(cs *body.ConsumeStats, group, topic string, queues int32, now time.Time) {
	var sum int64
	for q := int32(0); q < queues; q++ {
		brokerOff := max(b.store.MaxOffset(topic, q), 0)
		consumerOff, ok := b.offsets.Get(group, topic, q)
		if !ok || consumerOff < 0 {
			consumerOff = 0
		}
		sum += consumerOff
		cs.OffsetTable[body.MessageQueue{Topic: topic, BrokerName: b.opts.BrokerName, QueueID: q}] = body.OffsetWrapper{
			BrokerOffset:   brokerOff,
			ConsumerOffset: consumerOff,
			LastTimestamp:  storeTimeAt(b.store, topic, q, consumerOff-1),
		}
	}
	cs.ConsumeTps += b.stats.ConsumeTps(clients.GroupTopic{Group: group, Topic: topic}, now, sum)
}

// topicsConsumedBy lists the topics on which group has committed offsets, sorted.
func (b *Broker) topicsConsumedBy(group string) []string {
	all, _ := b.topics.All()
	var out []string
	for _, tc := range all {
		if slices.Contains(b.offsets.Groups(tc.GetTopicName()), group) {
			out = append(out, tc.GetTopicName())
		}
	}
	slices.Sort(out)
	return out
}

// handleConsumerConnections serves GET_CONSUMER_CONNECTION_LIST (203); a group with no
// live connection answers CONSUMER_NOT_ONLINE (206).
func (b *Broker) handleConsumerConnections(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumerConnectionListRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	cc, ok := b.clients.ConsumerConnection(h.ConsumerGroup)
	if !ok {
		return req.NewResponse(code.ConsumerNotOnline, "the consumer group["+h.ConsumerGroup+"] not online")
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = cc.Encode()
	return resp
}

// handleProducerConnections serves GET_PRODUCER_CONNECTION_LIST (204); a group with no
// live connection answers SYSTEM_ERROR, as Java does.
func (b *Broker) handleProducerConnections(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetProducerConnectionListRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	pc, ok := b.clients.ProducerConnection(h.ProducerGroup)
	if !ok {
		return req.NewResponse(code.SystemError, "the producer group["+h.ProducerGroup+"] not exist")
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = pc.Encode()
	return resp
}
