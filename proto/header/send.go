package header

import (
	"fmt"

	"github.com/rocketgo/rocketgo/proto/code"
)

// Header is implemented by every typed header of the package: Encode produces the
// extFields map, Decode fills the header from one. Decode ignores keys it does not know
// (ACL signatures, keys of newer versions) and never keeps a reference to ext.
type Header interface {
	Encode() map[string]string
	Decode(ext map[string]string) error
}

// SendMessageRequest is the long (v1) header of SEND_MESSAGE (10) and SEND_REPLY_MESSAGE
// (324) — SendMessageRequestHeader.java. Every key but the last five is required.
type SendMessageRequest struct {
	ProducerGroup         string // producerGroup
	Topic                 string // topic
	DefaultTopic          string // defaultTopic: the template of auto-created topics ("TBW102")
	DefaultTopicQueueNums int32  // defaultTopicQueueNums
	QueueID               int32  // queueId; negative asks the broker to choose
	SysFlag               int32  // sysFlag: message sysflag bits (compressed, transaction type)
	BornTimestamp         int64  // bornTimestamp, ms since the epoch
	Flag                  int32  // flag: the user's int32
	Properties            string // properties (optional): the encoded property string
	ReconsumeTimes        int32  // reconsumeTimes (optional)
	UnitMode              bool   // unitMode (optional)
	Batch                 bool   // batch (optional): the body is a batch encoding
	// MaxReconsumeTimes (optional) overrides the group's retryMaxTimes for sends to a
	// %RETRY% topic; nil means the key was absent and the group's setting applies.
	MaxReconsumeTimes *int32
}

// Encode implements Header.
func (h *SendMessageRequest) Encode() map[string]string {
	m := make(map[string]string, 13)
	m["producerGroup"] = h.ProducerGroup
	m["topic"] = h.Topic
	m["defaultTopic"] = h.DefaultTopic
	m["defaultTopicQueueNums"] = itoa32(h.DefaultTopicQueueNums)
	m["queueId"] = itoa32(h.QueueID)
	m["sysFlag"] = itoa32(h.SysFlag)
	m["bornTimestamp"] = itoa64(h.BornTimestamp)
	m["flag"] = itoa32(h.Flag)
	putOpt(m, "properties", h.Properties)
	m["reconsumeTimes"] = itoa32(h.ReconsumeTimes)
	m["unitMode"] = btoa(h.UnitMode)
	m["batch"] = btoa(h.Batch)
	putPtrI32(m, "maxReconsumeTimes", h.MaxReconsumeTimes)
	return m
}

// Decode implements Header.
func (h *SendMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = SendMessageRequest{
		ProducerGroup:         r.str("producerGroup"),
		Topic:                 r.str("topic"),
		DefaultTopic:          r.str("defaultTopic"),
		DefaultTopicQueueNums: r.i32("defaultTopicQueueNums"),
		QueueID:               r.i32("queueId"),
		SysFlag:               r.i32("sysFlag"),
		BornTimestamp:         r.i64("bornTimestamp"),
		Flag:                  r.i32("flag"),
		Properties:            r.optStr("properties"),
		ReconsumeTimes:        r.optI32("reconsumeTimes"),
		UnitMode:              r.optBool("unitMode"),
		Batch:                 r.optBool("batch"),
		MaxReconsumeTimes:     r.ptrI32("maxReconsumeTimes"),
	}
	return r.err
}

// SendMessageRequestV2 is the short header of SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE
// (320) and SEND_REPLY_MESSAGE_V2 (325) — SendMessageRequestHeaderV2.java. It carries
// the long form's fields under one-letter keys, which saves bytes on every send:
//
//	a producerGroup   e queueId        i properties (opt)      m batch (opt)
//	b topic           f sysFlag        j reconsumeTimes (opt)  n brokerName (opt)
//	c defaultTopic    g bornTimestamp  k unitMode (opt)
//	d defaultTopicQueueNums  h flag    l maxReconsumeTimes (opt)
//
// The embedded SendMessageRequest is the conversion to the long form; building a
// SendMessageRequestV2{SendMessageRequest: long} is the conversion back.
type SendMessageRequestV2 struct {
	SendMessageRequest
	BrokerName string // n (optional): Java 4.9.7+ clients name the target broker
}

// Encode implements Header with the short keys.
func (h *SendMessageRequestV2) Encode() map[string]string {
	m := make(map[string]string, 14)
	m["a"] = h.ProducerGroup
	m["b"] = h.Topic
	m["c"] = h.DefaultTopic
	m["d"] = itoa32(h.DefaultTopicQueueNums)
	m["e"] = itoa32(h.QueueID)
	m["f"] = itoa32(h.SysFlag)
	m["g"] = itoa64(h.BornTimestamp)
	m["h"] = itoa32(h.Flag)
	putOpt(m, "i", h.Properties)
	m["j"] = itoa32(h.ReconsumeTimes)
	m["k"] = btoa(h.UnitMode)
	putPtrI32(m, "l", h.MaxReconsumeTimes)
	m["m"] = btoa(h.Batch)
	putOpt(m, "n", h.BrokerName)
	return m
}

// Decode implements Header with the short keys.
func (h *SendMessageRequestV2) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = SendMessageRequestV2{
		SendMessageRequest: SendMessageRequest{
			ProducerGroup:         r.str("a"),
			Topic:                 r.str("b"),
			DefaultTopic:          r.str("c"),
			DefaultTopicQueueNums: r.i32("d"),
			QueueID:               r.i32("e"),
			SysFlag:               r.i32("f"),
			BornTimestamp:         r.i64("g"),
			Flag:                  r.i32("h"),
			Properties:            r.optStr("i"),
			ReconsumeTimes:        r.optI32("j"),
			UnitMode:              r.optBool("k"),
			MaxReconsumeTimes:     r.ptrI32("l"),
			Batch:                 r.optBool("m"),
		},
		BrokerName: r.optStr("n"),
	}
	return r.err
}

// DecodeSend decodes the header of any send request code the way the Java broker does:
// the short form for SEND_MESSAGE_V2, SEND_BATCH_MESSAGE and SEND_REPLY_MESSAGE_V2, the
// long form for SEND_MESSAGE and SEND_REPLY_MESSAGE. The result always holds the long
// form; BrokerName is set only by the short form. Other codes are an error.
func DecodeSend(reqCode int16, ext map[string]string) (SendMessageRequestV2, error) {
	var h SendMessageRequestV2
	switch reqCode {
	case code.SendMessageV2, code.SendBatchMessage, code.SendReplyMessageV2:
		err := h.Decode(ext)
		return h, err
	case code.SendMessage, code.SendReplyMessage:
		err := h.SendMessageRequest.Decode(ext)
		return h, err
	}
	return h, fmt.Errorf("header: request code %d is not a send code", reqCode)
}

// SendMessageResponse is the header of a send response — SendMessageResponseHeader.java
// plus the two keys the Java broker adds to every send response (MSG_REGION, TRACE_ON).
type SendMessageResponse struct {
	MsgID         string // msgId: the offset message id(s); comma-joined for a batch
	QueueID       int32  // queueId
	QueueOffset   int64  // queueOffset: the consume-queue offset of the (first) message
	TransactionID string // transactionId (optional)
	Region        string // MSG_REGION (optional): the broker's region id
	TraceOn       bool   // TRACE_ON (optional)
}

// Encode implements Header.
func (h *SendMessageResponse) Encode() map[string]string {
	m := make(map[string]string, 6)
	m["msgId"] = h.MsgID
	m["queueId"] = itoa32(h.QueueID)
	m["queueOffset"] = itoa64(h.QueueOffset)
	putOpt(m, "transactionId", h.TransactionID)
	putOpt(m, "MSG_REGION", h.Region)
	m["TRACE_ON"] = btoa(h.TraceOn)
	return m
}

// Decode implements Header.
func (h *SendMessageResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = SendMessageResponse{
		MsgID:         r.str("msgId"),
		QueueID:       r.i32("queueId"),
		QueueOffset:   r.i64("queueOffset"),
		TransactionID: r.optStr("transactionId"),
		Region:        r.optStr("MSG_REGION"),
		TraceOn:       r.optBool("TRACE_ON"),
	}
	return r.err
}

// ConsumerSendMsgBackRequest is the header of CONSUMER_SEND_MSG_BACK (36) —
// ConsumerSendMsgBackRequestHeader.java.
type ConsumerSendMsgBackRequest struct {
	Offset      int64  // offset: commitlog physical offset of the consumed message
	Group       string // group: the consumer group
	DelayLevel  int32  // delayLevel: 0 lets the broker choose, -1 goes straight to the DLQ
	OriginMsgID string // originMsgId (optional)
	OriginTopic string // originTopic (optional)
	UnitMode    bool   // unitMode (optional)
	// MaxReconsumeTimes (optional); nil means absent: the group's retryMaxTimes applies.
	MaxReconsumeTimes *int32
}

// Encode implements Header.
func (h *ConsumerSendMsgBackRequest) Encode() map[string]string {
	m := make(map[string]string, 7)
	m["offset"] = itoa64(h.Offset)
	m["group"] = h.Group
	m["delayLevel"] = itoa32(h.DelayLevel)
	putOpt(m, "originMsgId", h.OriginMsgID)
	putOpt(m, "originTopic", h.OriginTopic)
	m["unitMode"] = btoa(h.UnitMode)
	putPtrI32(m, "maxReconsumeTimes", h.MaxReconsumeTimes)
	return m
}

// Decode implements Header.
func (h *ConsumerSendMsgBackRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ConsumerSendMsgBackRequest{
		Offset:            r.i64("offset"),
		Group:             r.str("group"),
		DelayLevel:        r.i32("delayLevel"),
		OriginMsgID:       r.optStr("originMsgId"),
		OriginTopic:       r.optStr("originTopic"),
		UnitMode:          r.optBool("unitMode"),
		MaxReconsumeTimes: r.ptrI32("maxReconsumeTimes"),
	}
	return r.err
}

// ReplyMessageRequest is the header of PUSH_REPLY_MESSAGE_TO_CLIENT (326), with which
// the broker delivers a reply to the requesting client — ReplyMessageRequestHeader.java.
// The body is the reply's body.
type ReplyMessageRequest struct {
	ProducerGroup         string // producerGroup
	Topic                 string // topic
	DefaultTopic          string // defaultTopic
	DefaultTopicQueueNums int32  // defaultTopicQueueNums
	QueueID               int32  // queueId
	SysFlag               int32  // sysFlag
	BornTimestamp         int64  // bornTimestamp
	Flag                  int32  // flag
	Properties            string // properties (optional)
	ReconsumeTimes        int32  // reconsumeTimes (optional)
	UnitMode              bool   // unitMode (optional)
	BornHost              string // bornHost, "ip:port"
	StoreHost             string // storeHost, "ip:port"
	StoreTimestamp        int64  // storeTimestamp
}

// Encode implements Header.
func (h *ReplyMessageRequest) Encode() map[string]string {
	m := make(map[string]string, 14)
	m["producerGroup"] = h.ProducerGroup
	m["topic"] = h.Topic
	m["defaultTopic"] = h.DefaultTopic
	m["defaultTopicQueueNums"] = itoa32(h.DefaultTopicQueueNums)
	m["queueId"] = itoa32(h.QueueID)
	m["sysFlag"] = itoa32(h.SysFlag)
	m["bornTimestamp"] = itoa64(h.BornTimestamp)
	m["flag"] = itoa32(h.Flag)
	putOpt(m, "properties", h.Properties)
	m["reconsumeTimes"] = itoa32(h.ReconsumeTimes)
	m["unitMode"] = btoa(h.UnitMode)
	m["bornHost"] = h.BornHost
	m["storeHost"] = h.StoreHost
	m["storeTimestamp"] = itoa64(h.StoreTimestamp)
	return m
}

// Decode implements Header.
func (h *ReplyMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ReplyMessageRequest{
		ProducerGroup:         r.str("producerGroup"),
		Topic:                 r.str("topic"),
		DefaultTopic:          r.str("defaultTopic"),
		DefaultTopicQueueNums: r.i32("defaultTopicQueueNums"),
		QueueID:               r.i32("queueId"),
		SysFlag:               r.i32("sysFlag"),
		BornTimestamp:         r.i64("bornTimestamp"),
		Flag:                  r.i32("flag"),
		Properties:            r.optStr("properties"),
		ReconsumeTimes:        r.optI32("reconsumeTimes"),
		UnitMode:              r.optBool("unitMode"),
		BornHost:              r.str("bornHost"),
		StoreHost:             r.str("storeHost"),
		StoreTimestamp:        r.i64("storeTimestamp"),
	}
	return r.err
}
