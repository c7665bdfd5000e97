package header

// POP consumption headers of RocketMQ 5 (docs/protocol.md §14, docs/pop.md). The
// field names are those of PopMessageRequestHeader.java, PopMessageResponseHeader.java,
// AckMessageRequestHeader.java, ChangeInvisibleTimeRequestHeader.java and
// ChangeInvisibleTimeResponseHeader.java.

// PopMessageRequest is the header of POP_MESSAGE (200050).
type PopMessageRequest struct {
	ConsumerGroup string // consumerGroup
	Topic         string // topic
	QueueID       int32  // queueId: a queue, or -1 for any queue of the topic
	MaxMsgNums    int32  // maxMsgNums: at most 32
	InvisibleTime int64  // invisibleTime (ms): how long popped messages stay invisible
	PollTime      int64  // pollTime (ms): how long the request may wait for a message
	BornTime      int64  // bornTime (ms): when the client sent the request
	InitMode      int32  // initMode: 0 starts a new group at the queue's max, 1 at its min
	ExpType       string // expType (optional): TAG (also when empty) or SQL92
	Exp           string // exp (optional): the filter expression; empty is "*"
	Order         bool   // order (optional): FIFO consumption of the queue
	AttemptID     string // attemptId (optional): the client's id of this attempt
}

// Encode implements Header.
func (h *PopMessageRequest) Encode() map[string]string {
	m := make(map[string]string, 12)
	m["consumerGroup"] = h.ConsumerGroup
	m["topic"] = h.Topic
	m["queueId"] = itoa32(h.QueueID)
	m["maxMsgNums"] = itoa32(h.MaxMsgNums)
	m["invisibleTime"] = itoa64(h.InvisibleTime)
	m["pollTime"] = itoa64(h.PollTime)
	m["bornTime"] = itoa64(h.BornTime)
	m["initMode"] = itoa32(h.InitMode)
	putOpt(m, "expType", h.ExpType)
	putOpt(m, "exp", h.Exp)
	m["order"] = btoa(h.Order)
	putOpt(m, "attemptId", h.AttemptID)
	return m
}

// Decode implements Header. Every @CFNotNull field of the Java header is required.
func (h *PopMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = PopMessageRequest{
		ConsumerGroup: r.str("consumerGroup"),
		Topic:         r.str("topic"),
		QueueID:       r.i32("queueId"),
		MaxMsgNums:    r.i32("maxMsgNums"),
		InvisibleTime: r.i64("invisibleTime"),
		PollTime:      r.i64("pollTime"),
		BornTime:      r.i64("bornTime"),
		InitMode:      r.i32("initMode"),
		ExpType:       r.optStr("expType"),
		Exp:           r.optStr("exp"),
		Order:         r.optBool("order"),
		AttemptID:     r.optStr("attemptId"),
	}
	return r.err
}

// PopMessageResponse is the header of a POP_MESSAGE answer. The three info strings
// are ExtraInfoUtil's: startOffsetInfo "retry queueId startOffset" per queue,
// msgOffsetInfo "retry queueId o1,o2,..." per queue, orderCountInfo
// "retry qo<queueId>%<offset> count" per message of a FIFO pop; entries are joined
// with ';'.
type PopMessageResponse struct {
	PopTime         int64  // popTime (ms)
	InvisibleTime   int64  // invisibleTime (ms)
	ReviveQid       int32  // reviveQid: 999 for a FIFO pop
	RestNum         int64  // restNum: messages left behind the ones returned
	StartOffsetInfo string // startOffsetInfo (optional)
	MsgOffsetInfo   string // msgOffsetInfo (optional)
	OrderCountInfo  string // orderCountInfo (optional)
}

// Encode implements Header.
func (h *PopMessageResponse) Encode() map[string]string {
	m := make(map[string]string, 7)
	m["popTime"] = itoa64(h.PopTime)
	m["invisibleTime"] = itoa64(h.InvisibleTime)
	m["reviveQid"] = itoa32(h.ReviveQid)
	m["restNum"] = itoa64(h.RestNum)
	putOpt(m, "startOffsetInfo", h.StartOffsetInfo)
	putOpt(m, "msgOffsetInfo", h.MsgOffsetInfo)
	putOpt(m, "orderCountInfo", h.OrderCountInfo)
	return m
}

// Decode implements Header.
func (h *PopMessageResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = PopMessageResponse{
		PopTime:         r.i64("popTime"),
		InvisibleTime:   r.i64("invisibleTime"),
		ReviveQid:       r.i32("reviveQid"),
		RestNum:         r.i64("restNum"),
		StartOffsetInfo: r.optStr("startOffsetInfo"),
		MsgOffsetInfo:   r.optStr("msgOffsetInfo"),
		OrderCountInfo:  r.optStr("orderCountInfo"),
	}
	return r.err
}

// AckMessageRequest is the header of ACK_MESSAGE (200051).
type AckMessageRequest struct {
	ConsumerGroup string // consumerGroup
	Topic         string // topic: the real topic of the message
	QueueID       int32  // queueId
	ExtraInfo     string // extraInfo: the message's POP_CK (receipt handle)
	Offset        int64  // offset: the message's queue offset
}

// Encode implements Header.
func (h *AckMessageRequest) Encode() map[string]string {
	return map[string]string{
		"consumerGroup": h.ConsumerGroup,
		"topic":         h.Topic,
		"queueId":       itoa32(h.QueueID),
		"extraInfo":     h.ExtraInfo,
		"offset":        itoa64(h.Offset),
	}
}

// Decode implements Header.
func (h *AckMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = AckMessageRequest{
		ConsumerGroup: r.str("consumerGroup"),
		Topic:         r.str("topic"),
		QueueID:       r.i32("queueId"),
		ExtraInfo:     r.str("extraInfo"),
		Offset:        r.i64("offset"),
	}
	return r.err
}

// ChangeInvisibleTimeRequest is the header of CHANGE_MESSAGE_INVISIBLETIME (200053).
type ChangeInvisibleTimeRequest struct {
	ConsumerGroup string // consumerGroup
	Topic         string // topic
	QueueID       int32  // queueId
	ExtraInfo     string // extraInfo: the handle being changed
	Offset        int64  // offset: the message's queue offset
	InvisibleTime int64  // invisibleTime (ms): from now
}

// Encode implements Header.
func (h *ChangeInvisibleTimeRequest) Encode() map[string]string {
	return map[string]string{
		"consumerGroup": h.ConsumerGroup,
		"topic":         h.Topic,
		"queueId":       itoa32(h.QueueID),
		"extraInfo":     h.ExtraInfo,
		"offset":        itoa64(h.Offset),
		"invisibleTime": itoa64(h.InvisibleTime),
	}
}

// Decode implements Header.
func (h *ChangeInvisibleTimeRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ChangeInvisibleTimeRequest{
		ConsumerGroup: r.str("consumerGroup"),
		Topic:         r.str("topic"),
		QueueID:       r.i32("queueId"),
		ExtraInfo:     r.str("extraInfo"),
		Offset:        r.i64("offset"),
		InvisibleTime: r.i64("invisibleTime"),
	}
	return r.err
}

// ChangeInvisibleTimeResponse is the header of a CHANGE_MESSAGE_INVISIBLETIME answer:
// with the request's offset it makes the new handle.
type ChangeInvisibleTimeResponse struct {
	PopTime       int64 // popTime (ms)
	InvisibleTime int64 // invisibleTime (ms)
	ReviveQid     int32 // reviveQid
}

// Encode implements Header.
func (h *ChangeInvisibleTimeResponse) Encode() map[string]string {
	return map[string]string{
		"popTime":       itoa64(h.PopTime),
		"invisibleTime": itoa64(h.InvisibleTime),
		"reviveQid":     itoa32(h.ReviveQid),
	}
}

// Decode implements Header.
func (h *ChangeInvisibleTimeResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ChangeInvisibleTimeResponse{
		PopTime:       r.i64("popTime"),
		InvisibleTime: r.i64("invisibleTime"),
		ReviveQid:     r.i32("reviveQid"),
	}
	return r.err
}
