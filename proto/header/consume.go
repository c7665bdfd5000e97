package header

// PullSysFlag bits of PullMessageRequest.SysFlag (PullSysFlag.java).
const (
	PullCommitOffset int32 = 1 << 0 // commitOffset is valid: store it for (group, topic, queue)
	PullSuspend      int32 = 1 << 1 // long poll: park the request when nothing is there
	PullSubscription int32 = 1 << 2 // subscription carries the expression to filter with
	PullClassFilter  int32 = 1 << 3 // class filter mode (unsupported by 4.x brokers too)
	PullLitePull     int32 = 1 << 4 // lite pull consumer (unused by the Go client)
)

// PullMessageRequest is the header of PULL_MESSAGE (11) — PullMessageRequestHeader.java.
// The Go client sends every key; only subscription and expressionType are optional.
type PullMessageRequest struct {
	ConsumerGroup        string // consumerGroup
	Topic                string // topic, or %RETRY%group
	QueueID              int32  // queueId
	QueueOffset          int64  // queueOffset: the logical offset to read from
	MaxMsgNums           int32  // maxMsgNums
	SysFlag              int32  // sysFlag: PullCommitOffset | PullSuspend | ...
	CommitOffset         int64  // commitOffset: the consumer's progress, stored if PullCommitOffset
	SuspendTimeoutMillis int64  // suspendTimeoutMillis: how long a long poll may be parked
	Subscription         string // subscription (optional): the expression, "" from Go push consumers
	SubVersion           int64  // subVersion
	ExpressionType       string // expressionType (optional): "TAG" (also when empty) or "SQL92"
}

// Encode implements Header.
func (h *PullMessageRequest) Encode() map[string]string {
	m := make(map[string]string, 11)
	m["consumerGroup"] = h.ConsumerGroup
	m["topic"] = h.Topic
	m["queueId"] = itoa32(h.QueueID)
	m["queueOffset"] = itoa64(h.QueueOffset)
	m["maxMsgNums"] = itoa32(h.MaxMsgNums)
	m["sysFlag"] = itoa32(h.SysFlag)
	m["commitOffset"] = itoa64(h.CommitOffset)
	m["suspendTimeoutMillis"] = itoa64(h.SuspendTimeoutMillis)
	// Always sent, even empty, as the Go client does: a Java broker reads a missing
	// subscription as null and rejects it when the subscription bit is set.
	m["subscription"] = h.Subscription
	m["subVersion"] = itoa64(h.SubVersion)
	putOpt(m, "expressionType", h.ExpressionType)
	return m
}

// Decode implements Header.
func (h *PullMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = PullMessageRequest{
		ConsumerGroup:        r.str("consumerGroup"),
		Topic:                r.str("topic"),
		QueueID:              r.i32("queueId"),
		QueueOffset:          r.i64("queueOffset"),
		MaxMsgNums:           r.i32("maxMsgNums"),
		SysFlag:              r.i32("sysFlag"),
		CommitOffset:         r.i64("commitOffset"),
		SuspendTimeoutMillis: r.i64("suspendTimeoutMillis"),
		Subscription:         r.optStr("subscription"),
		SubVersion:           r.i64("subVersion"),
		ExpressionType:       r.optStr("expressionType"),
	}
	return r.err
}

// PullMessageResponse is the header of a pull response — PullMessageResponseHeader.java.
// Every pull response, PULL_NOT_FOUND included, must carry all four keys: the Go client
// reads a missing nextBeginOffset as 0 and rewinds the queue.
type PullMessageResponse struct {
	SuggestWhichBrokerID int64 // suggestWhichBrokerId: the broker id to pull from next
	NextBeginOffset      int64 // nextBeginOffset
	MinOffset            int64 // minOffset
	MaxOffset            int64 // maxOffset
}

// Encode implements Header.
func (h *PullMessageResponse) Encode() map[string]string {
	m := make(map[string]string, 4)
	m["suggestWhichBrokerId"] = itoa64(h.SuggestWhichBrokerID)
	m["nextBeginOffset"] = itoa64(h.NextBeginOffset)
	m["minOffset"] = itoa64(h.MinOffset)
	m["maxOffset"] = itoa64(h.MaxOffset)
	return m
}

// Decode implements Header.
func (h *PullMessageResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = PullMessageResponse{
		SuggestWhichBrokerID: r.i64("suggestWhichBrokerId"),
		NextBeginOffset:      r.i64("nextBeginOffset"),
		MinOffset:            r.i64("minOffset"),
		MaxOffset:            r.i64("maxOffset"),
	}
	return r.err
}

// QueryConsumerOffsetRequest is the header of QUERY_CONSUMER_OFFSET (14) —
// QueryConsumerOffsetRequestHeader.java.
type QueryConsumerOffsetRequest struct {
	ConsumerGroup string // consumerGroup
	Topic         string // topic
	QueueID       int32  // queueId
	// SetZeroIfNotFound (optional, 5.x clients): false asks for QUERY_NOT_FOUND rather
	// than offset 0 when nothing is stored; nil means the key was absent (4.x: true).
	SetZeroIfNotFound *bool
}

// Encode implements Header.
func (h *QueryConsumerOffsetRequest) Encode() map[string]string {
	m := make(map[string]string, 4)
	m["consumerGroup"] = h.ConsumerGroup
	m["topic"] = h.Topic
	m["queueId"] = itoa32(h.QueueID)
	putPtrBool(m, "setZeroIfNotFound", h.SetZeroIfNotFound)
	return m
}

// Decode implements Header.
func (h *QueryConsumerOffsetRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = QueryConsumerOffsetRequest{
		ConsumerGroup:     r.str("consumerGroup"),
		Topic:             r.str("topic"),
		QueueID:           r.i32("queueId"),
		SetZeroIfNotFound: r.ptrBool("setZeroIfNotFound"),
	}
	return r.err
}

// OffsetResponse is the header of every response that answers one offset: the
// responses of QUERY_CONSUMER_OFFSET (14), SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET
// (30) and GET_MIN_OFFSET (31) (QueryConsumerOffsetResponseHeader.java and its three
// twins). The Go client ignores the response code of 29 and 30 and reads only this key,
// so it must be present on every answer.
type OffsetResponse struct {
	Offset int64 // offset
}

// Names of OffsetResponse per request, for readers who look for them by request.
type (
	QueryConsumerOffsetResponse = OffsetResponse // QUERY_CONSUMER_OFFSET (14)
	SearchOffsetResponse        = OffsetResponse // SEARCH_OFFSET_BY_TIMESTAMP (29)
	GetMaxOffsetResponse        = OffsetResponse // GET_MAX_OFFSET (30)
	GetMinOffsetResponse        = OffsetResponse // GET_MIN_OFFSET (31)
)

// Encode implements Header.
func (h *OffsetResponse) Encode() map[string]string {
	return map[string]string{"offset": itoa64(h.Offset)}
}

// Decode implements Header.
func (h *OffsetResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = OffsetResponse{Offset: r.i64("offset")}
	return r.err
}

// UpdateConsumerOffsetRequest is the header of UPDATE_CONSUMER_OFFSET (15) —
// UpdateConsumerOffsetRequestHeader.java. Its response has no header.
type UpdateConsumerOffsetRequest struct {
	ConsumerGroup string // consumerGroup
	Topic         string // topic
	QueueID       int32  // queueId
	CommitOffset  int64  // commitOffset: the next offset to consume
}

// Encode implements Header.
func (h *UpdateConsumerOffsetRequest) Encode() map[string]string {
	m := make(map[string]string, 4)
	m["consumerGroup"] = h.ConsumerGroup
	m["topic"] = h.Topic
	m["queueId"] = itoa32(h.QueueID)
	m["commitOffset"] = itoa64(h.CommitOffset)
	return m
}

// Decode implements Header.
func (h *UpdateConsumerOffsetRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = UpdateConsumerOffsetRequest{
		ConsumerGroup: r.str("consumerGroup"),
		Topic:         r.str("topic"),
		QueueID:       r.i32("queueId"),
		CommitOffset:  r.i64("commitOffset"),
	}
	return r.err
}

// SearchOffsetRequest is the header of SEARCH_OFFSET_BY_TIMESTAMP (29) —
// SearchOffsetRequestHeader.java. The answer is an OffsetResponse.
type SearchOffsetRequest struct {
	Topic     string // topic
	QueueID   int32  // queueId
	Timestamp int64  // timestamp, ms since the epoch
}

// Encode implements Header.
func (h *SearchOffsetRequest) Encode() map[string]string {
	m := make(map[string]string, 3)
	m["topic"] = h.Topic
	m["queueId"] = itoa32(h.QueueID)
	m["timestamp"] = itoa64(h.Timestamp)
	return m
}

// Decode implements Header.
func (h *SearchOffsetRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = SearchOffsetRequest{
		Topic:     r.str("topic"),
		QueueID:   r.i32("queueId"),
		Timestamp: r.i64("timestamp"),
	}
	return r.err
}

// QueueRequest is the header of the requests that name one queue and nothing else:
// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32)
// (GetMaxOffsetRequestHeader.java and its two twins).
type QueueRequest struct {
	Topic   string // topic
	QueueID int32  // queueId
}

// Names of QueueRequest per request.
type (
	GetMaxOffsetRequest            = QueueRequest // GET_MAX_OFFSET (30)
	GetMinOffsetRequest            = QueueRequest // GET_MIN_OFFSET (31)
	GetEarliestMsgStoretimeRequest = QueueRequest // GET_EARLIEST_MSG_STORETIME (32)
)

// Encode implements Header.
func (h *QueueRequest) Encode() map[string]string {
	return map[string]string{"topic": h.Topic, "queueId": itoa32(h.QueueID)}
}

// Decode implements Header.
func (h *QueueRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = QueueRequest{Topic: r.str("topic"), QueueID: r.i32("queueId")}
	return r.err
}

// GetEarliestMsgStoretimeResponse is the header of the GET_EARLIEST_MSG_STORETIME (32)
// response — GetEarliestMsgStoretimeResponseHeader.java.
type GetEarliestMsgStoretimeResponse struct {
	Timestamp int64 // timestamp: store time of the queue's oldest message, ms
}

// Encode implements Header.
func (h *GetEarliestMsgStoretimeResponse) Encode() map[string]string {
	return map[string]string{"timestamp": itoa64(h.Timestamp)}
}

// Decode implements Header.
func (h *GetEarliestMsgStoretimeResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetEarliestMsgStoretimeResponse{Timestamp: r.i64("timestamp")}
	return r.err
}

// ViewMessageRequest is the header of VIEW_MESSAGE_BY_ID (33) —
// ViewMessageRequestHeader.java. The response has no header; its body is the stored
// record.
type ViewMessageRequest struct {
	Offset int64 // offset: commitlog physical offset of the message
}

// Encode implements Header.
func (h *ViewMessageRequest) Encode() map[string]string {
	return map[string]string{"offset": itoa64(h.Offset)}
}

// Decode implements Header.
func (h *ViewMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ViewMessageRequest{Offset: r.i64("offset")}
	return r.err
}

// QueryMessageRequest is the header of QUERY_MESSAGE (12) — QueryMessageRequestHeader.java:
// the messages of a topic whose key is Key, stored within [begin, end].
type QueryMessageRequest struct {
	Topic          string // topic
	Key            string // key: a message key (KEYS) or unique key
	MaxNum         int32  // maxNum: at most this many messages
	BeginTimestamp int64  // beginTimestamp, ms
	EndTimestamp   int64  // endTimestamp, ms
}

// Encode implements Header.
func (h *QueryMessageRequest) Encode() map[string]string {
	m := make(map[string]string, 5)
	m["topic"] = h.Topic
	m["key"] = h.Key
	m["maxNum"] = itoa32(h.MaxNum)
	m["beginTimestamp"] = itoa64(h.BeginTimestamp)
	m["endTimestamp"] = itoa64(h.EndTimestamp)
	return m
}

// Decode implements Header.
func (h *QueryMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = QueryMessageRequest{
		Topic:          r.str("topic"),
		Key:            r.str("key"),
		MaxNum:         r.i32("maxNum"),
		BeginTimestamp: r.i64("beginTimestamp"),
		EndTimestamp:   r.i64("endTimestamp"),
	}
	return r.err
}

// QueryMessageResponse is the header of the QUERY_MESSAGE (12) response —
// QueryMessageResponseHeader.java. The body is the matching records.
type QueryMessageResponse struct {
	IndexLastUpdateTimestamp int64 // indexLastUpdateTimestamp
	IndexLastUpdatePhyoffset int64 // indexLastUpdatePhyoffset
}

// Encode implements Header.
func (h *QueryMessageResponse) Encode() map[string]string {
	return map[string]string{
		"indexLastUpdateTimestamp": itoa64(h.IndexLastUpdateTimestamp),
		"indexLastUpdatePhyoffset": itoa64(h.IndexLastUpdatePhyoffset),
	}
}

// Decode implements Header.
func (h *QueryMessageResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = QueryMessageResponse{
		IndexLastUpdateTimestamp: r.i64("indexLastUpdateTimestamp"),
		IndexLastUpdatePhyoffset: r.i64("indexLastUpdatePhyoffset"),
	}
	return r.err
}
