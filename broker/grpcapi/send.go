package grpcapi

import (
	"context"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/msgtype"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Limits on what one message may carry, as Apache's Proxy sets them (ProxyConfig).
const (
	maxUserProperties    = 128
	maxUserPropertyBytes = 16 << 10
	maxMessageGroupBytes = 64
	maxMessagesPerSend   = 1024
)

// reservedProperties are the property names the broker and clients give meaning to; a
// user property may not use one (MessageConst.STRING_HASH_SET).
var reservedProperties = map[string]bool{
	message.PropTags: true, message.PropKeys: true, message.PropUniqKey: true, message.PropWait: true,
	message.PropDelay: true, message.PropRetryTopic: true, message.PropRealTopic: true,
	message.PropRealQueueID: true, message.PropTranMsg: true, message.PropProducerGroup: true,
	message.PropMinOffset: true, message.PropMaxOffset: true, message.PropOriginMsgID: true,
	message.PropReconsumeTime: true, message.PropMsgRegion: true, message.PropTraceOn: true,
	message.PropMaxReconsume: true, message.PropCluster: true, message.PropTxCheckTimes: true,
	message.PropCheckImmunity: true, message.PropTimerDeliverMS: true, message.PropTimerDelaySec: true,
	message.PropTimerDelayMS: true, message.PropTimerOutMS: true, message.PropCorrelationID: true,
	message.PropReplyToClient: true, message.PropMessageTTL: true, message.PropMsgType: true,
	msgtype.PropShardingKey: true, propTraceContext: true, propPopCK: true,
}

// Properties the 5.x protocol adds (MessageConst.java).
const (
	propTraceContext = "TRACE_CONTEXT"
	propPopCK        = "POP_CK" // the POP checkpoint's extra info on a popped message
)

// rr spreads messages without a message group over a topic's writable queues.
var rr atomic.Uint32

// SendMessage relays each message as a SEND_MESSAGE_V2 to the broker and answers one
// entry per message, in order.
func (s *Server) SendMessage(ctx context.Context, req *pb.SendMessageRequest) (*pb.SendMessageResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.SendMessageResponse{Status: st}, nil
	}
	ss := s.session(m)
	msgs := req.GetMessages()
	if len(msgs) == 0 {
		return &pb.SendMessageResponse{Status: statusOf(pb.Code_BAD_REQUEST, "no message to send")}, nil
	}
	if len(msgs) > maxMessagesPerSend {
		return &pb.SendMessageResponse{Status: statusOf(pb.Code_BAD_REQUEST, fmt.Sprintf("%d messages in one request, at most %d", len(msgs), maxMessagesPerSend))}, nil
	}
	topic := resourceName(msgs[0].GetTopic())
	entries := make([]*pb.SendResultEntry, 0, len(msgs))
	var first *pb.Status
	for _, msg := range msgs {
		e := s.sendOne(ctx, ss, topic, msg)
		if first == nil && e.Status.Code != pb.Code_OK {
			first = e.Status
		}
		entries = append(entries, e)
	}
	if first == nil {
		first = okStatus()
	}
	return &pb.SendMessageResponse{Status: first, Entries: entries}, nil
}

// sendOne validates and relays one message.
func (s *Server) sendOne(ctx context.Context, ss *session, topic string, msg *pb.Message) *pb.SendResultEntry {
	sp := msg.GetSystemProperties()
	fail := func(c pb.Code, format string, a ...any) *pb.SendResultEntry {
		return &pb.SendResultEntry{Status: statusOf(c, fmt.Sprintf(format, a...)), MessageId: sp.GetMessageId()}
	}
	if resourceName(msg.GetTopic()) != topic {
		return fail(pb.Code_MESSAGE_CORRUPTED, "messages of one request must share a topic: %q and %q", topic, resourceName(msg.GetTopic()))
	}
	if !meta.ValidName(topic) {
		return fail(pb.Code_ILLEGAL_TOPIC, "topic %q is not a valid topic name", topic)
	}
	ti, ok := s.be.Topic(topic)
	if !ok {
		return fail(pb.Code_TOPIC_NOT_FOUND, "topic %s does not exist on broker %s", topic, s.be.BrokerName)
	}
	if len(msg.GetBody()) == 0 {
		return fail(pb.Code_MESSAGE_BODY_EMPTY, "message body is empty")
	}
	if len(msg.GetBody()) > s.o.MaxMessageBytes {
		return fail(pb.Code_MESSAGE_BODY_TOO_LARGE, "message body of %d bytes, at most %d", len(msg.GetBody()), s.o.MaxMessageBytes)
	}
	if sp.GetMessageId() == "" {
		return fail(pb.Code_ILLEGAL_MESSAGE_ID, "message id cannot be empty")
	}
	props, c, err := buildProperties(topic, msg)
	if err != nil {
		return fail(c, "%v", err)
	}
	// The topic's message type, as Apache's Proxy checks it (TopicMessageTypeValidator).
	if ti.MessageTypeErr != nil {
		return fail(pb.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, "topic %s: %v", topic, ti.MessageTypeErr)
	}
	if err := msgtype.Check(ti.MessageType, msgtype.OfMessage(props)); err != nil {
		return fail(pb.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, "topic %s: %v", topic, err)
	}
	if ti.WriteQueues <= 0 || ti.Perm&permWrite == 0 {
		return fail(pb.Code_FORBIDDEN, "topic %s is not writable on broker %s", topic, s.be.BrokerName)
	}
	qid := int32(rr.Add(1) % uint32(ti.WriteQueues))
	if g := sp.GetMessageGroup(); g != "" {
		qid = int32(crc32.ChecksumIEEE([]byte(g)) % uint32(ti.WriteQueues))
	}
	var sysFlag int32
	if sp.GetMessageType() == pb.MessageType_TRANSACTION {
		sysFlag |= message.TxPreparedType
	}
	born := sp.GetBornTimestamp().AsTime().UnixMilli()
	if sp.GetBornTimestamp() == nil {
		born = s.o.Now().UnixMilli()
	}
	h := header.SendMessageRequest{
		ProducerGroup: topic, Topic: topic, DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
		QueueID: qid, SysFlag: sysFlag, BornTimestamp: born, Properties: message.EncodeProperties(props),
		ReconsumeTimes: sp.GetDeliveryAttempt(),
	}
	v2 := header.SendMessageRequestV2{SendMessageRequest: h}
	resp, err := ss.call(ctx, codec.NewRequest(code.SendMessageV2, v2.Encode(), msg.GetBody()))
	if st := remotingStatus(resp, err); st != nil {
		return &pb.SendResultEntry{Status: st, MessageId: sp.GetMessageId()}
	}
	var rh header.SendMessageResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return fail(pb.Code_INTERNAL_SERVER_ERROR, "broker answer: %v", err)
	}
	e := &pb.SendResultEntry{Status: okStatus(), MessageId: sp.GetMessageId(), Offset: rh.QueueOffset}
	if sysFlag&message.TxPreparedType != 0 {
		e.TransactionId = encodeTxID(rh.MsgID, rh.QueueOffset)
	}
	if sp.DeliveryTimestamp != nil {
		e.RecallHandle = sp.GetMessageId()
	}
	return e
}

// buildProperties turns a gRPC message into the remoting properties, as Apache's Proxy
// does (SendMessageActivity.buildMessageProperty): user properties (no reserved name,
// no control character), tag, keys, UNIQ_KEY, the transaction flags with the topic as
// producer group, the delivery time, the message group and the trace context.
func buildProperties(topic string, msg *pb.Message) (map[string]string, pb.Code, error) {
	sp := msg.GetSystemProperties()
	up := msg.GetUserProperties()
	if len(up) > maxUserProperties {
		return nil, pb.Code_MESSAGE_PROPERTIES_TOO_LARGE, fmt.Errorf("%d user properties, at most %d", len(up), maxUserProperties)
	}
	props := make(map[string]string, len(up)+8)
	size := 0
	for k, v := range up {
		if reservedProperties[k] {
			return nil, pb.Code_ILLEGAL_MESSAGE_PROPERTY_KEY, fmt.Errorf("property %s is used by the system", k)
		}
		if k == "" || hasControl(k) || hasControl(v) {
			return nil, pb.Code_ILLEGAL_MESSAGE_PROPERTY_KEY, fmt.Errorf("property %q: a key must be non-empty, and neither key nor value may hold a control character", k)
		}
		size += len(k) + len(v)
		props[k] = v
	}
	if tag := sp.GetTag(); tag != "" {
		if hasControl(tag) || strings.Contains(tag, "||") || strings.TrimSpace(tag) == "" {
			return nil, pb.Code_ILLEGAL_MESSAGE_TAG, fmt.Errorf("tag %q may not be blank, hold a control character or \"||\"", tag)
		}
		props[message.PropTags] = tag
		size += len(tag)
	}
	if keys := sp.GetKeys(); len(keys) > 0 {
		for _, k := range keys {
			if strings.TrimSpace(k) == "" || hasControl(k) {
				return nil, pb.Code_ILLEGAL_MESSAGE_KEY, fmt.Errorf("key %q may not be blank or hold a control character", k)
			}
			size += len(k)
		}
		props[message.PropKeys] = strings.Join(keys, message.KeySeparator)
	}
	if size > maxUserPropertyBytes {
		return nil, pb.Code_MESSAGE_PROPERTIES_TOO_LARGE, fmt.Errorf("properties of %d bytes, at most %d", size, maxUserPropertyBytes)
	}
	props[message.PropUniqKey] = sp.GetMessageId()
	if sp.GetMessageType() == pb.MessageType_TRANSACTION {
		props[message.PropTranMsg] = "true"
		if d := sp.GetOrphanedTransactionRecoveryDuration(); d != nil {
			props[message.PropCheckImmunity] = strconv.FormatInt(int64(d.AsDuration().Seconds()), 10)
		}
	}
	props[message.PropProducerGroup] = topic
	if ts := sp.DeliveryTimestamp; ts != nil {
		if sp.GetMessageType() == pb.MessageType_TRANSACTION {
			return nil, pb.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, fmt.Errorf("a transactional message cannot have a delivery time")
		}
		props[message.PropTimerDeliverMS] = strconv.FormatInt(ts.AsTime().UnixMilli(), 10)
	}
	if g := sp.GetMessageGroup(); g != "" {
		if len(g) > maxMessageGroupBytes || hasControl(g) {
			return nil, pb.Code_ILLEGAL_MESSAGE_GROUP, fmt.Errorf("message group of %d bytes (at most %d) or with a control character", len(g), maxMessageGroupBytes)
		}
		props[msgtype.PropShardingKey] = g
	}
	if tc := sp.GetTraceContext(); tc != "" {
		props[propTraceContext] = tc
	}
	return props, pb.Code_OK, nil
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// encodeTxID makes the transaction id a gRPC producer gets back: the half message's
// offset message id (which holds its CommitLog offset) and its half-queue offset, the two
// numbers END_TRANSACTION needs, so the endpoint keeps no per-transaction state and a
// restart loses nothing.
func encodeTxID(offsetMsgID string, queueOffset int64) string {
	return offsetMsgID + "-" + strconv.FormatInt(queueOffset, 10)
}

// decodeTxID reverses encodeTxID.
func decodeTxID(id string) (commitLogOffset, queueOffset int64, err error) {
	omid, qo, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, fmt.Errorf("transaction id %q is not one this endpoint issued", id)
	}
	_, off, err := message.ParseOffsetMsgID(omid)
	if err != nil {
		return 0, 0, fmt.Errorf("transaction id %q: %v", id, err)
	}
	q, err := strconv.ParseInt(qo, 10, 64)
	if err != nil || q < 0 {
		return 0, 0, fmt.Errorf("transaction id %q: bad queue offset", id)
	}
	return off, q, nil
}

// EndTransaction commits or rolls back a half message through END_TRANSACTION.
func (s *Server) EndTransaction(ctx context.Context, req *pb.EndTransactionRequest) (*pb.EndTransactionResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.EndTransactionResponse{Status: st}, nil
	}
	ss := s.session(m)
	clo, qo, err := decodeTxID(req.GetTransactionId())
	if err != nil {
		return &pb.EndTransactionResponse{Status: statusOf(pb.Code_INVALID_TRANSACTION_ID, err.Error())}, nil
	}
	h := header.EndTransactionRequest{
		ProducerGroup: resourceName(req.GetTopic()), TranStateTableOffset: qo, CommitLogOffset: clo,
		FromTransactionCheck: req.GetSource() == pb.TransactionSource_SOURCE_SERVER_CHECK,
		MsgID:                req.GetMessageId(), TransactionID: req.GetMessageId(),
	}
	switch req.GetResolution() {
	case pb.TransactionResolution_COMMIT:
		h.CommitOrRollback = header.TxCommit
	case pb.TransactionResolution_ROLLBACK:
		h.CommitOrRollback = header.TxRollback
	default:
		return &pb.EndTransactionResponse{Status: statusOf(pb.Code_BAD_REQUEST, "resolution must be COMMIT or ROLLBACK")}, nil
	}
	resp, err := ss.call(ctx, codec.NewRequest(code.EndTransaction, h.Encode(), nil))
	if st := remotingStatus(resp, err); st != nil {
		return &pb.EndTransactionResponse{Status: st}, nil
	}
	return &pb.EndTransactionResponse{Status: okStatus()}, nil
}

// RecallMessage cancels a pending timer message (rocketgo's CANCEL_SCHEDULED_MESSAGE,
// 2202). The recall handle is the message id SendMessage answered for a message with a
// delivery time.
func (s *Server) RecallMessage(ctx context.Context, req *pb.RecallMessageRequest) (*pb.RecallMessageResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.RecallMessageResponse{Status: st}, nil
	}
	ss := s.session(m)
	id := req.GetRecallHandle()
	if !message.IsUniqIDHex(id) {
		return &pb.RecallMessageResponse{Status: statusOf(pb.Code_BAD_REQUEST, "recall handle "+strconv.Quote(id)+" is not one this endpoint issued")}, nil
	}
	resp, err := ss.call(ctx, codec.NewRequest(code.CancelScheduledMessage,
		map[string]string{"topic": resourceName(req.GetTopic()), "uniqKey": id}, nil))
	if err == nil && resp.Code == code.QueryNotFound {
		return &pb.RecallMessageResponse{Status: statusOf(pb.Code_MESSAGE_NOT_FOUND, resp.Remark)}, nil
	}
	if st := remotingStatus(resp, err); st != nil {
		return &pb.RecallMessageResponse{Status: st}, nil
	}
	return &pb.RecallMessageResponse{Status: okStatus(), MessageId: id}, nil
}
