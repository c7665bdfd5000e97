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

// sendForm picks a spelling of the send header keys: the long keys of
// SendMessageRequestHeader or the one-letter keys of SendMessageRequestHeaderV2.
type sendForm int

const (
	longForm sendForm = iota
	shortForm
)

// sendKey names a field of the send header; sendKeys gives its two spellings.
type sendKey int

const (
	sendProducerGroup sendKey = iota
	sendTopic
	sendDefaultTopic
	sendDefaultTopicQueueNums
	sendQueueID
	sendSysFlag
	sendBornTimestamp
	sendFlag
	sendProperties
	sendReconsumeTimes
	sendUnitMode
	sendMaxReconsumeTimes
	sendBatch
)

// sendKeys is the one table of send header keys, indexed by field and then by form.
var sendKeys = [...][2]string{
	sendProducerGroup:         {"producerGroup", "a"},
	sendTopic:                 {"topic", "b"},
	sendDefaultTopic:          {"defaultTopic", "c"},
	sendDefaultTopicQueueNums: {"defaultTopicQueueNums", "d"},
	sendQueueID:               {"queueId", "e"},
	sendSysFlag:               {"sysFlag", "f"},
	sendBornTimestamp:         {"bornTimestamp", "g"},
	sendFlag:                  {"flag", "h"},
	sendProperties:            {"properties", "i"},
	sendReconsumeTimes:        {"reconsumeTimes", "j"},
	sendUnitMode:              {"unitMode", "k"},
	sendMaxReconsumeTimes:     {"maxReconsumeTimes", "l"},
	sendBatch:                 {"batch", "m"},
}

// brokerNameKey is the short form's key for BrokerName, which the long form lacks.
const brokerNameKey = "n"

// Encode implements Header.
func (h *SendMessageRequest) Encode() map[string]string { return h.encode(longForm, len(sendKeys)) }

// encode returns the extFields of h spelled in form f, in a map with room for size keys.
func (h *SendMessageRequest) encode(f sendForm, size int) map[string]string {
	k := func(key sendKey) string { return sendKeys[key][f] }
	m := make(map[string]string, size)
	m[k(sendProducerGroup)] = h.ProducerGroup
	m[k(sendTopic)] = h.Topic
	m[k(sendDefaultTopic)] = h.DefaultTopic
	m[k(sendDefaultTopicQueueNums)] = itoa32(h.DefaultTopicQueueNums)
	m[k(sendQueueID)] = itoa32(h.QueueID)
	m[k(sendSysFlag)] = itoa32(h.SysFlag)
	m[k(sendBornTimestamp)] = itoa64(h.BornTimestamp)
	m[k(sendFlag)] = itoa32(h.Flag)
	putOpt(m, k(sendProperties), h.Properties)
	m[k(sendReconsumeTimes)] = itoa32(h.ReconsumeTimes)
	m[k(sendUnitMode)] = btoa(h.UnitMode)
	m[k(sendBatch)] = btoa(h.Batch)
	putPtrI32(m, k(sendMaxReconsumeTimes), h.MaxReconsumeTimes)
	return m
}

// Decode implements Header.
func (h *SendMessageRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	h.decode(&r, longForm)
	return r.err
}

// decode fills h from r's extFields spelled in form f.
func (h *SendMessageRequest) decode(r *reader, f sendForm) {
	k := func(key sendKey) string { return sendKeys[key][f] }
	*h = SendMessageRequest{
		ProducerGroup:         r.str(k(sendProducerGroup)),
		Topic:                 r.str(k(sendTopic)),
		DefaultTopic:          r.str(k(sendDefaultTopic)),
		DefaultTopicQueueNums: r.i32(k(sendDefaultTopicQueueNums)),
		QueueID:               r.i32(k(sendQueueID)),
		SysFlag:               r.i32(k(sendSysFlag)),
		BornTimestamp:         r.i64(k(sendBornTimestamp)),
		Flag:                  r.i32(k(sendFlag)),
		Properties:            r.optStr(k(sendProperties)),
		ReconsumeTimes:        r.optI32(k(sendReconsumeTimes)),
		UnitMode:              r.optBool(k(sendUnitMode)),
	}
	// Each form reads its last two keys in its own key order, which decides the error
	// reported when both are malformed.
	if f == shortForm {
		h.MaxReconsumeTimes = r.ptrI32(k(sendMaxReconsumeTimes))
		h.Batch = r.optBool(k(sendBatch))
		return
	}
	h.Batch = r.optBool(k(sendBatch))
	h.MaxReconsumeTimes = r.ptrI32(k(sendMaxReconsumeTimes))
}

// SendMessageRequestV2 is the short header of SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE
// (320) and SEND_REPLY_MESSAGE_V2 (325) — SendMessageRequestHeaderV2.java. It carries
// the long form's fields under the one-letter keys of sendKeys ("a" producerGroup
// through "m" batch), which saves bytes on every send, plus "n" brokerName.
//
// The embedded SendMessageRequest is the conversion to the long form; building a
// SendMessageRequestV2{SendMessageRequest: long} is the conversion back.
type SendMessageRequestV2 struct {
	SendMessageRequest
	BrokerName string // n (optional): Java 4.9.7+ clients name the target broker
}

// Encode implements Header with the short keys.
func (h *SendMessageRequestV2) Encode() map[string]string {
	m := h.SendMessageRequest.encode(shortForm, len(sendKeys)+1)
	putOpt(m, brokerNameKey, h.BrokerName)
	return m
}

// Decode implements Header with the short keys.
func (h *SendMessageRequestV2) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	h.SendMessageRequest.decode(&r, shortForm)
	h.BrokerName = r.optStr(brokerNameKey)
	return r.err
}

// DecodeSend decodes the header of any send request code the way the Java broker does:
// the short form for SEND_MESSAGE_V2, SEND_BATCH_MESSAGE and SEND_REPLY_MESSAGE_V2, the
// long form for SEND_MESSAGE and SEND_REPLY_MESSAGE. The result always holds the long
// form; BrokerName is set only by the short form. Other codes are an error.
func DecodeSend(reqCode int32, ext map[string]string) (SendMessageRequestV2, error) {
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
