package header

// This file holds the headers between brokers and the namesrv, and those of the topic
// and group administration requests.

// RegisterBrokerRequest is the header of REGISTER_BROKER (103), broker → namesrv —
// RegisterBrokerRequestHeader.java. The body is the RegisterBrokerBody JSON (or its
// zlib form when Compressed).
type RegisterBrokerRequest struct {
	BrokerName   string // brokerName
	BrokerAddr   string // brokerAddr: "ip:port" clients dial
	ClusterName  string // clusterName
	HAServerAddr string // haServerAddr: "ip:haPort"
	BrokerID     int64  // brokerId: 0 for a master
	Compressed   bool   // compressed (optional): the body is the zlib form
	BodyCRC32    int32  // bodyCrc32 (optional): CRC32 of the body as a signed int; 0 skips the check
}

// Encode implements Header.
func (h *RegisterBrokerRequest) Encode() map[string]string {
	m := make(map[string]string, 7)
	m["brokerName"] = h.BrokerName
	m["brokerAddr"] = h.BrokerAddr
	m["clusterName"] = h.ClusterName
	m["haServerAddr"] = h.HAServerAddr
	m["brokerId"] = itoa64(h.BrokerID)
	m["compressed"] = btoa(h.Compressed)
	m["bodyCrc32"] = itoa32(h.BodyCRC32)
	return m
}

// Decode implements Header.
func (h *RegisterBrokerRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = RegisterBrokerRequest{
		BrokerName:   r.str("brokerName"),
		BrokerAddr:   r.str("brokerAddr"),
		ClusterName:  r.str("clusterName"),
		HAServerAddr: r.str("haServerAddr"),
		BrokerID:     r.i64("brokerId"),
		Compressed:   r.optBool("compressed"),
		BodyCRC32:    r.optI32("bodyCrc32"),
	}
	return r.err
}

// RegisterBrokerResponse is the header of the REGISTER_BROKER (103) response —
// RegisterBrokerResponseHeader.java. Both keys are set only when a slave registers and
// its master is alive.
type RegisterBrokerResponse struct {
	HAServerAddr string // haServerAddr (optional): the master's HA address
	MasterAddr   string // masterAddr (optional): the master's address
}

// Encode implements Header.
func (h *RegisterBrokerResponse) Encode() map[string]string {
	m := make(map[string]string, 2)
	putOpt(m, "haServerAddr", h.HAServerAddr)
	putOpt(m, "masterAddr", h.MasterAddr)
	return m
}

// Decode implements Header.
func (h *RegisterBrokerResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = RegisterBrokerResponse{
		HAServerAddr: r.optStr("haServerAddr"),
		MasterAddr:   r.optStr("masterAddr"),
	}
	return r.err
}

// UnregisterBrokerRequest is the header of UNREGISTER_BROKER (104), broker → namesrv —
// UnRegisterBrokerRequestHeader.java.
type UnregisterBrokerRequest struct {
	BrokerName  string // brokerName
	BrokerAddr  string // brokerAddr
	ClusterName string // clusterName
	BrokerID    int64  // brokerId
}

// Encode implements Header.
func (h *UnregisterBrokerRequest) Encode() map[string]string {
	m := make(map[string]string, 4)
	m["brokerName"] = h.BrokerName
	m["brokerAddr"] = h.BrokerAddr
	m["clusterName"] = h.ClusterName
	m["brokerId"] = itoa64(h.BrokerID)
	return m
}

// Decode implements Header.
func (h *UnregisterBrokerRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = UnregisterBrokerRequest{
		BrokerName:  r.str("brokerName"),
		BrokerAddr:  r.str("brokerAddr"),
		ClusterName: r.str("clusterName"),
		BrokerID:    r.i64("brokerId"),
	}
	return r.err
}

// GetRouteInfoRequest is the header of GET_ROUTEINFO_BY_TOPIC (105) —
// GetRouteInfoRequestHeader.java.
type GetRouteInfoRequest struct {
	Topic string // topic
	// AcceptStandardJSONOnly (optional, Java 4.9.4+ clients) asks for quoted brokerAddrs
	// keys. The Go client never sends it.
	AcceptStandardJSONOnly bool
}

// Encode implements Header. acceptStandardJsonOnly is written only when true, as the
// clients that know it do.
func (h *GetRouteInfoRequest) Encode() map[string]string {
	m := make(map[string]string, 2)
	m["topic"] = h.Topic
	if h.AcceptStandardJSONOnly {
		m["acceptStandardJsonOnly"] = "true"
	}
	return m
}

// Decode implements Header.
func (h *GetRouteInfoRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetRouteInfoRequest{
		Topic:                  r.str("topic"),
		AcceptStandardJSONOnly: r.optBool("acceptStandardJsonOnly"),
	}
	return r.err
}

// TopicRequest is the header of the requests that name one topic and nothing else:
// GET_TOPIC_STATS_INFO (202) and QUERY_TOPIC_CONSUME_BY_WHO (300)
// (GetTopicStatsInfoRequestHeader.java, QueryTopicConsumeByWhoRequestHeader.java).
type TopicRequest struct {
	Topic string // topic
}

// Names of TopicRequest per request.
type (
	GetTopicStatsInfoRequest      = TopicRequest // GET_TOPIC_STATS_INFO (202)
	QueryTopicConsumeByWhoRequest = TopicRequest // QUERY_TOPIC_CONSUME_BY_WHO (300)
)

// Encode implements Header.
func (h *TopicRequest) Encode() map[string]string {
	return map[string]string{"topic": h.Topic}
}

// Decode implements Header.
func (h *TopicRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = TopicRequest{Topic: r.str("topic")}
	return r.err
}

// DeleteTopicRequest is the header of DELETE_TOPIC_IN_BROKER (215) and
// DELETE_TOPIC_IN_NAMESRV (216) — DeleteTopicRequestHeader.java and
// DeleteTopicFromNamesrvRequestHeader.java, which differ only by the namesrv's optional
// clusterName. The Go admin client sends only topic, to both.
type DeleteTopicRequest struct {
	Topic       string // topic
	ClusterName string // clusterName (optional): delete only the cluster's brokers' queue data
}

// Encode implements Header.
func (h *DeleteTopicRequest) Encode() map[string]string {
	m := make(map[string]string, 2)
	m["topic"] = h.Topic
	putOpt(m, "clusterName", h.ClusterName)
	return m
}

// Decode implements Header.
func (h *DeleteTopicRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = DeleteTopicRequest{Topic: r.str("topic"), ClusterName: r.optStr("clusterName")}
	return r.err
}

// CreateTopicRequest is the header of UPDATE_AND_CREATE_TOPIC (17) —
// CreateTopicRequestHeader.java; the Go admin client's createTopicRequestHeader sends
// every key.
type CreateTopicRequest struct {
	Topic           string // topic
	DefaultTopic    string // defaultTopic (required by Java, unused by the broker)
	ReadQueueNums   int32  // readQueueNums
	WriteQueueNums  int32  // writeQueueNums
	Perm            int32  // perm: 4 read | 2 write (| 1 inherit | 8 priority)
	TopicFilterType string // topicFilterType: "SINGLE_TAG" or "MULTI_TAG"
	TopicSysFlag    int32  // topicSysFlag (optional)
	Order           bool   // order
	Attributes      string // attributes (optional): RocketMQ 5's "+key=value,+key2=value2"
}

// Encode implements Header.
func (h *CreateTopicRequest) Encode() map[string]string {
	m := make(map[string]string, 8)
	m["topic"] = h.Topic
	m["defaultTopic"] = h.DefaultTopic
	m["readQueueNums"] = itoa32(h.ReadQueueNums)
	m["writeQueueNums"] = itoa32(h.WriteQueueNums)
	m["perm"] = itoa32(h.Perm)
	m["topicFilterType"] = h.TopicFilterType
	m["topicSysFlag"] = itoa32(h.TopicSysFlag)
	m["order"] = btoa(h.Order)
	putOpt(m, "attributes", h.Attributes)
	return m
}

// Decode implements Header.
func (h *CreateTopicRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = CreateTopicRequest{
		Topic:           r.str("topic"),
		DefaultTopic:    r.str("defaultTopic"),
		ReadQueueNums:   r.i32("readQueueNums"),
		WriteQueueNums:  r.i32("writeQueueNums"),
		Perm:            r.i32("perm"),
		TopicFilterType: r.str("topicFilterType"),
		TopicSysFlag:    r.optI32("topicSysFlag"),
		Order:           r.boolean("order"),
		Attributes:      r.optStr("attributes"),
	}
	return r.err
}

// GetConsumeStatsRequest is the header of GET_CONSUME_STATS (208) —
// GetConsumeStatsRequestHeader.java.
type GetConsumeStatsRequest struct {
	ConsumerGroup string // consumerGroup
	Topic         string // topic (optional): "" means every topic the group subscribes
}

// Encode implements Header.
func (h *GetConsumeStatsRequest) Encode() map[string]string {
	m := make(map[string]string, 2)
	m["consumerGroup"] = h.ConsumerGroup
	putOpt(m, "topic", h.Topic)
	return m
}

// Decode implements Header.
func (h *GetConsumeStatsRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetConsumeStatsRequest{ConsumerGroup: r.str("consumerGroup"), Topic: r.optStr("topic")}
	return r.err
}

// GetProducerConnectionListRequest is the header of GET_PRODUCER_CONNECTION_LIST (204) —
// GetProducerConnectionListRequestHeader.java.
type GetProducerConnectionListRequest struct {
	ProducerGroup string // producerGroup
}

// Encode implements Header.
func (h *GetProducerConnectionListRequest) Encode() map[string]string {
	return map[string]string{"producerGroup": h.ProducerGroup}
}

// Decode implements Header.
func (h *GetProducerConnectionListRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetProducerConnectionListRequest{ProducerGroup: r.str("producerGroup")}
	return r.err
}

// GetTopicsByClusterRequest is the header of GET_TOPICS_BY_CLUSTER (224) —
// GetTopicsByClusterRequestHeader.java.
type GetTopicsByClusterRequest struct {
	Cluster string // cluster
}

// Encode implements Header.
func (h *GetTopicsByClusterRequest) Encode() map[string]string {
	return map[string]string{"cluster": h.Cluster}
}

// Decode implements Header.
func (h *GetTopicsByClusterRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetTopicsByClusterRequest{Cluster: r.str("cluster")}
	return r.err
}

// DeleteSubscriptionGroupRequest is the header of DELETE_SUBSCRIPTIONGROUP (207) —
// DeleteSubscriptionGroupRequestHeader.java.
type DeleteSubscriptionGroupRequest struct {
	GroupName    string // groupName
	RemoveOffset bool   // removeOffset (optional): also drop the group's committed offsets
}

// Encode implements Header.
func (h *DeleteSubscriptionGroupRequest) Encode() map[string]string {
	m := make(map[string]string, 2)
	m["groupName"] = h.GroupName
	m["removeOffset"] = btoa(h.RemoveOffset)
	return m
}

// Decode implements Header.
func (h *DeleteSubscriptionGroupRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = DeleteSubscriptionGroupRequest{GroupName: r.str("groupName"), RemoveOffset: r.optBool("removeOffset")}
	return r.err
}
