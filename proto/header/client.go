package header

// This file holds the headers about clients and their groups: the requests consumers and
// producers send about their group, the transaction pair, and the requests a broker sends
// to a connected client.

// ConsumerGroupRequest is the header of the requests that name one consumer group and
// nothing else: GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40, broker →
// consumer) and GET_CONSUMER_CONNECTION_LIST (203).
type ConsumerGroupRequest struct {
	ConsumerGroup string // consumerGroup
}

// Names of ConsumerGroupRequest per request.
type (
	GetConsumerListByGroupRequest    = ConsumerGroupRequest // GET_CONSUMER_LIST_BY_GROUP (38)
	NotifyConsumerIDsChangedRequest  = ConsumerGroupRequest // NOTIFY_CONSUMER_IDS_CHANGED (40)
	GetConsumerConnectionListRequest = ConsumerGroupRequest // GET_CONSUMER_CONNECTION_LIST (203)
)

// Encode implements Header.
func (h *ConsumerGroupRequest) Encode() map[string]string {
	return map[string]string{"consumerGroup": h.ConsumerGroup}
}

// Decode implements Header.
func (h *ConsumerGroupRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ConsumerGroupRequest{ConsumerGroup: r.str("consumerGroup")}
	return r.err
}

// UnregisterClientRequest is the header of UNREGISTER_CLIENT (35) —
// UnregisterClientRequestHeader.java. The Go client never sends it.
type UnregisterClientRequest struct {
	ClientID      string // clientID (note the capitals): "ip@pid"
	ProducerGroup string // producerGroup (optional)
	ConsumerGroup string // consumerGroup (optional)
}

// Encode implements Header.
func (h *UnregisterClientRequest) Encode() map[string]string {
	m := make(map[string]string, 3)
	m["clientID"] = h.ClientID
	putOpt(m, "producerGroup", h.ProducerGroup)
	putOpt(m, "consumerGroup", h.ConsumerGroup)
	return m
}

// Decode implements Header.
func (h *UnregisterClientRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = UnregisterClientRequest{
		ClientID:      r.str("clientID"),
		ProducerGroup: r.optStr("producerGroup"),
		ConsumerGroup: r.optStr("consumerGroup"),
	}
	return r.err
}

// Values of EndTransactionRequest.CommitOrRollback: the transaction type bits of the
// message sysflag.
const (
	TxUnknown  int32 = 0  // not decided: the broker logs it and does nothing
	TxCommit   int32 = 8  // commit the half message
	TxRollback int32 = 12 // roll it back
)

// EndTransactionRequest is the header of END_TRANSACTION (37), producer → broker —
// EndTransactionRequestHeader.java. The remark of the command, not a key, carries the
// producer's note.
type EndTransactionRequest struct {
	ProducerGroup        string // producerGroup
	TranStateTableOffset int64  // tranStateTableOffset: queue offset of the half message
	CommitLogOffset      int64  // commitLogOffset: physical offset of the half message
	CommitOrRollback     int32  // commitOrRollback: TxCommit, TxRollback or TxUnknown
	FromTransactionCheck bool   // fromTransactionCheck (optional): answers a CHECK_TRANSACTION_STATE
	MsgID                string // msgId: the message's UNIQ_KEY
	TransactionID        string // transactionId (optional)
}

// Encode implements Header.
func (h *EndTransactionRequest) Encode() map[string]string {
	m := make(map[string]string, 7)
	m["producerGroup"] = h.ProducerGroup
	m["tranStateTableOffset"] = itoa64(h.TranStateTableOffset)
	m["commitLogOffset"] = itoa64(h.CommitLogOffset)
	m["commitOrRollback"] = itoa32(h.CommitOrRollback)
	m["fromTransactionCheck"] = btoa(h.FromTransactionCheck)
	m["msgId"] = h.MsgID
	putOpt(m, "transactionId", h.TransactionID)
	return m
}

// Decode implements Header.
func (h *EndTransactionRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = EndTransactionRequest{
		ProducerGroup:        r.str("producerGroup"),
		TranStateTableOffset: r.i64("tranStateTableOffset"),
		CommitLogOffset:      r.i64("commitLogOffset"),
		CommitOrRollback:     r.i32("commitOrRollback"),
		FromTransactionCheck: r.optBool("fromTransactionCheck"),
		MsgID:                r.str("msgId"),
		TransactionID:        r.optStr("transactionId"),
	}
	return r.err
}

// CheckTransactionStateRequest is the header of CHECK_TRANSACTION_STATE (39), broker →
// producer — CheckTransactionStateRequestHeader.java. The body is the half message in v1
// record layout, with its real topic and queue. The Go client v2.1.2 reads all five keys
// (and, by a bug of its decoder, keeps the last of msgId/transactionId/offsetMsgId as its
// msgId), then answers with an END_TRANSACTION that echoes the two offsets.
type CheckTransactionStateRequest struct {
	TranStateTableOffset int64  // tranStateTableOffset: queue offset of the re-appended half message
	CommitLogOffset      int64  // commitLogOffset: physical offset of the re-appended half message
	MsgID                string // msgId (optional): UNIQ_KEY
	TransactionID        string // transactionId (optional): UNIQ_KEY
	OffsetMsgID          string // offsetMsgId (optional): the half copy's offset message id
}

// Encode implements Header.
func (h *CheckTransactionStateRequest) Encode() map[string]string {
	m := make(map[string]string, 5)
	m["tranStateTableOffset"] = itoa64(h.TranStateTableOffset)
	m["commitLogOffset"] = itoa64(h.CommitLogOffset)
	putOpt(m, "msgId", h.MsgID)
	putOpt(m, "transactionId", h.TransactionID)
	putOpt(m, "offsetMsgId", h.OffsetMsgID)
	return m
}

// Decode implements Header.
func (h *CheckTransactionStateRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = CheckTransactionStateRequest{
		TranStateTableOffset: r.i64("tranStateTableOffset"),
		CommitLogOffset:      r.i64("commitLogOffset"),
		MsgID:                r.optStr("msgId"),
		TransactionID:        r.optStr("transactionId"),
		OffsetMsgID:          r.optStr("offsetMsgId"),
	}
	return r.err
}

// GetConsumerRunningInfoRequest is the header of GET_CONSUMER_RUNNING_INFO (307), admin →
// broker → consumer — GetConsumerRunningInfoRequestHeader.java. The Go client answers
// code 1 unless ClientID is its own client id.
type GetConsumerRunningInfoRequest struct {
	ConsumerGroup string // consumerGroup
	ClientID      string // clientId
	JstackEnable  bool   // jstackEnable (optional)
}

// Encode implements Header.
func (h *GetConsumerRunningInfoRequest) Encode() map[string]string {
	m := make(map[string]string, 3)
	m["consumerGroup"] = h.ConsumerGroup
	m["clientId"] = h.ClientID
	m["jstackEnable"] = btoa(h.JstackEnable)
	return m
}

// Decode implements Header.
func (h *GetConsumerRunningInfoRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetConsumerRunningInfoRequest{
		ConsumerGroup: r.str("consumerGroup"),
		ClientID:      r.str("clientId"),
		JstackEnable:  r.optBool("jstackEnable"),
	}
	return r.err
}

// ConsumeMessageDirectlyRequest is the header of CONSUME_MESSAGE_DIRECTLY (309), admin →
// broker → consumer — ConsumeMessageDirectlyResultRequestHeader.java. The body is the
// message in v1 record layout; the Go client panics on an empty body, so never send one.
type ConsumeMessageDirectlyRequest struct {
	ConsumerGroup string // consumerGroup
	ClientID      string // clientId (optional): the Go client answers code 1 unless it is its own
	MsgID         string // msgId (optional)
	BrokerName    string // brokerName (optional)
}

// Encode implements Header.
func (h *ConsumeMessageDirectlyRequest) Encode() map[string]string {
	m := make(map[string]string, 4)
	m["consumerGroup"] = h.ConsumerGroup
	putOpt(m, "clientId", h.ClientID)
	putOpt(m, "msgId", h.MsgID)
	putOpt(m, "brokerName", h.BrokerName)
	return m
}

// Decode implements Header.
func (h *ConsumeMessageDirectlyRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ConsumeMessageDirectlyRequest{
		ConsumerGroup: r.str("consumerGroup"),
		ClientID:      r.optStr("clientId"),
		MsgID:         r.optStr("msgId"),
		BrokerName:    r.optStr("brokerName"),
	}
	return r.err
}

// GetConsumerStatusRequest is the header of GET_CONSUMER_STATUS_FROM_CLIENT (221), broker
// → consumer — GetConsumerStatusRequestHeader.java.
type GetConsumerStatusRequest struct {
	Topic      string // topic
	Group      string // group
	ClientAddr string // clientAddr (optional)
}

// Encode implements Header.
func (h *GetConsumerStatusRequest) Encode() map[string]string {
	m := make(map[string]string, 3)
	m["topic"] = h.Topic
	m["group"] = h.Group
	putOpt(m, "clientAddr", h.ClientAddr)
	return m
}

// Decode implements Header.
func (h *GetConsumerStatusRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetConsumerStatusRequest{
		Topic:      r.str("topic"),
		Group:      r.str("group"),
		ClientAddr: r.optStr("clientAddr"),
	}
	return r.err
}

// ResetOffsetRequest is the header of INVOKE_BROKER_TO_RESET_OFFSET (222, admin → broker)
// and of RESET_CONSUMER_CLIENT_OFFSET (220, broker → consumer) —
// ResetOffsetRequestHeader.java. The Go client reads topic, group and timestamp; the body
// of 220 is the ResetOffsetBody with the new offsets.
type ResetOffsetRequest struct {
	Topic     string // topic
	Group     string // group
	Timestamp int64  // timestamp: reset to the first message stored at or after it, ms
	IsForce   bool   // isForce: also move offsets forward (not only back)
}

// Encode implements Header.
func (h *ResetOffsetRequest) Encode() map[string]string {
	m := make(map[string]string, 4)
	m["topic"] = h.Topic
	m["group"] = h.Group
	m["timestamp"] = itoa64(h.Timestamp)
	m["isForce"] = btoa(h.IsForce)
	return m
}

// Decode implements Header.
func (h *ResetOffsetRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ResetOffsetRequest{
		Topic:     r.str("topic"),
		Group:     r.str("group"),
		Timestamp: r.i64("timestamp"),
		IsForce:   r.boolean("isForce"),
	}
	return r.err
}
