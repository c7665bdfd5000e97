package header

// This file holds the headers of the broker administration requests 314, 315, 317 and
// 321 (common/protocol/header of apache/rocketmq 4.9). INVOKE_BROKER_TO_RESET_OFFSET
// (222) uses ResetOffsetRequest and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223)
// GetConsumerStatusRequest (client.go).

// CloneGroupOffsetRequest is the header of CLONE_GROUP_OFFSET (314) —
// CloneGroupOffsetRequestHeader.java. Without Topic every topic SrcGroup has offsets on
// is cloned; Offline skips the check that an online SrcGroup subscribes to the topic.
type CloneGroupOffsetRequest struct {
	SrcGroup  string // srcGroup
	DestGroup string // destGroup
	Topic     string // topic (optional)
	Offline   bool   // offline (optional)
}

// Encode implements Header.
func (h *CloneGroupOffsetRequest) Encode() map[string]string {
	m := make(map[string]string, 4)
	m["srcGroup"] = h.SrcGroup
	m["destGroup"] = h.DestGroup
	putOpt(m, "topic", h.Topic)
	m["offline"] = btoa(h.Offline)
	return m
}

// Decode implements Header.
func (h *CloneGroupOffsetRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = CloneGroupOffsetRequest{
		SrcGroup:  r.str("srcGroup"),
		DestGroup: r.str("destGroup"),
		Topic:     r.optStr("topic"),
		Offline:   r.optBool("offline"),
	}
	return r.err
}

// ViewBrokerStatsDataRequest is the header of VIEW_BROKER_STATS_DATA (315) —
// ViewBrokerStatsDataRequestHeader.java. StatsName is a BrokerStatsManager name
// (TOPIC_PUT_NUMS, GROUP_GET_NUMS, ...); StatsKey the topic, or "topic@group".
type ViewBrokerStatsDataRequest struct {
	StatsName string // statsName
	StatsKey  string // statsKey
}

// Encode implements Header.
func (h *ViewBrokerStatsDataRequest) Encode() map[string]string {
	return map[string]string{"statsName": h.StatsName, "statsKey": h.StatsKey}
}

// Decode implements Header.
func (h *ViewBrokerStatsDataRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ViewBrokerStatsDataRequest{StatsName: r.str("statsName"), StatsKey: r.str("statsKey")}
	return r.err
}

// GetConsumeStatsInBrokerRequest is the header of GET_BROKER_CONSUME_STATS (317) —
// GetConsumeStatsInBrokerHeader.java. IsOrder keeps only order topics.
type GetConsumeStatsInBrokerRequest struct {
	IsOrder bool // isOrder
}

// Encode implements Header.
func (h *GetConsumeStatsInBrokerRequest) Encode() map[string]string {
	return map[string]string{"isOrder": btoa(h.IsOrder)}
}

// Decode implements Header.
func (h *GetConsumeStatsInBrokerRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetConsumeStatsInBrokerRequest{IsOrder: r.boolean("isOrder")}
	return r.err
}

// QueryConsumeQueueRequest is the header of QUERY_CONSUME_QUEUE (321) —
// QueryConsumeQueueRequestHeader.java, where every field is optional. ConsumerGroup,
// when given, adds that group's subscription to the answer.
type QueryConsumeQueueRequest struct {
	Topic         string // topic
	QueueID       int32  // queueId
	Index         int64  // index: the first logical offset to read
	Count         int32  // count: how many units at most
	ConsumerGroup string // consumerGroup (optional)
}

// Encode implements Header.
func (h *QueryConsumeQueueRequest) Encode() map[string]string {
	m := make(map[string]string, 5)
	m["topic"] = h.Topic
	m["queueId"] = itoa32(h.QueueID)
	m["index"] = itoa64(h.Index)
	m["count"] = itoa32(h.Count)
	putOpt(m, "consumerGroup", h.ConsumerGroup)
	return m
}

// Decode implements Header.
func (h *QueryConsumeQueueRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = QueryConsumeQueueRequest{
		Topic:         r.optStr("topic"),
		QueueID:       r.optI32("queueId"),
		Index:         r.optI64("index"),
		Count:         r.optI32("count"),
		ConsumerGroup: r.optStr("consumerGroup"),
	}
	return r.err
}
