package grpcapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Bounds and defaults of a receive, as Apache's Proxy sets them.
const (
	defaultInvisibleDuration  = 30 * time.Second
	minInvisibleDuration      = time.Second
	maxInvisibleDuration      = 12 * time.Hour
	defaultLongPollingTimeout = 20 * time.Second
	maxLongPollingTimeout     = 30 * time.Second
	maxReceiveBatch           = 32
	// longPollingReserve is kept between the end of a long poll and the call's deadline,
	// for the answer to travel back.
	longPollingReserve = 500 * time.Millisecond
)

// receipt is what a gRPC receipt handle holds: the broker's POP extra info
// (ExtraInfoUtil: "ckOffset popTime invisibleTime reviveQid topicType brokerName queueId
// queueOffset", space separated) followed by the message's CommitLog offset, which
// ForwardMessageToDeadLetterQueue needs (docs/grpc.md).
type receipt struct {
	extraInfo       string
	retry           bool
	queueID         int32
	queueOffset     int64
	commitLogOffset int64
}

// parseReceipt decodes a receipt handle; it never panics on a hostile string.
func parseReceipt(h string) (receipt, error) {
	f := strings.Split(h, " ")
	if len(h) > 512 || len(f) != 9 {
		return receipt{}, fmt.Errorf("receipt handle %q is not one this endpoint issued", truncate(h, 64))
	}
	qid, err1 := strconv.ParseInt(f[6], 10, 32)
	qo, err2 := strconv.ParseInt(f[7], 10, 64)
	clo, err3 := strconv.ParseInt(f[8], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || qid < 0 || qo < 0 || clo < 0 {
		return receipt{}, fmt.Errorf("receipt handle %q has a bad queue id or offset", truncate(h, 64))
	}
	return receipt{extraInfo: strings.Join(f[:8], " "), retry: f[4] == "1", queueID: int32(qid), queueOffset: qo, commitLogOffset: clo}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ReceiveMessage pops messages from the requested queue (POP_MESSAGE, long-polled) and
// streams them: a status first, then each message with its receipt handle.
func (s *Server) ReceiveMessage(req *pb.ReceiveMessageRequest, stream pb.MessagingService_ReceiveMessageServer) error {
	ctx := stream.Context()
	m, st := s.meta(ctx)
	if st != nil {
		return stream.Send(&pb.ReceiveMessageResponse{Content: &pb.ReceiveMessageResponse_Status{Status: st}})
	}
	ss := s.session(m)
	msgs, st := s.pop(ctx, ss, req)
	if st != nil {
		return stream.Send(&pb.ReceiveMessageResponse{Content: &pb.ReceiveMessageResponse_Status{Status: st}})
	}
	if len(msgs) == 0 {
		return stream.Send(&pb.ReceiveMessageResponse{Content: &pb.ReceiveMessageResponse_Status{Status: statusOf(pb.Code_MESSAGE_NOT_FOUND, "no new message")}})
	}
	if err := stream.Send(&pb.ReceiveMessageResponse{Content: &pb.ReceiveMessageResponse_Status{Status: okStatus()}}); err != nil {
		return err
	}
	for _, pm := range msgs {
		if err := stream.Send(&pb.ReceiveMessageResponse{Content: &pb.ReceiveMessageResponse_Message{Message: pm}}); err != nil {
			return err
		}
	}
	return stream.Send(&pb.ReceiveMessageResponse{Content: &pb.ReceiveMessageResponse_DeliveryTimestamp{DeliveryTimestamp: timestamppb.New(s.o.Now())}})
}

// pop relays one POP_MESSAGE.
func (s *Server) pop(ctx context.Context, ss *session, req *pb.ReceiveMessageRequest) ([]*pb.Message, *pb.Status) {
	group := resourceName(req.GetGroup())
	if !meta.ValidName(group) {
		return nil, statusOf(pb.Code_ILLEGAL_CONSUMER_GROUP, "group "+strconv.Quote(group)+" is not a valid group name")
	}
	mq := req.GetMessageQueue()
	topic := resourceName(mq.GetTopic())
	if !meta.ValidName(topic) {
		return nil, statusOf(pb.Code_ILLEGAL_TOPIC, "topic "+strconv.Quote(topic)+" is not a valid topic name")
	}
	batch := req.GetBatchSize()
	if batch <= 0 || batch > maxReceiveBatch {
		return nil, statusOf(pb.Code_BAD_REQUEST, fmt.Sprintf("batch size %d: want 1 to %d", batch, maxReceiveBatch))
	}
	inv := defaultInvisibleDuration
	if d := req.GetInvisibleDuration(); d != nil {
		inv = d.AsDuration()
	}
	if inv < minInvisibleDuration || inv > maxInvisibleDuration {
		return nil, statusOf(pb.Code_ILLEGAL_INVISIBLE_TIME, fmt.Sprintf("invisible duration %v: want %v to %v", inv, minInvisibleDuration, maxInvisibleDuration))
	}
	// The long-polling time is the request's, else the client's settings', else 20 s,
	// and always ends before the call's own deadline (Apache's ReceiveMessageActivity
	// keeps the same reserve): the SDK gives ReceiveMessage only its await duration
	// plus its request timeout.
	ss.mu.Lock()
	poll := ss.settings.GetSubscription().GetLongPollingTimeout().AsDuration()
	ss.mu.Unlock()
	if d := req.GetLongPollingTimeout(); d != nil {
		poll = d.AsDuration()
	} else if poll <= 0 {
		poll = defaultLongPollingTimeout
	}
	if poll < 0 || poll > maxLongPollingTimeout {
		return nil, statusOf(pb.Code_ILLEGAL_POLLING_TIME, fmt.Sprintf("long polling timeout %v: want 0 to %v", poll, maxLongPollingTimeout))
	}
	if dl, ok := ctx.Deadline(); ok {
		poll = min(poll, time.Until(dl)-longPollingReserve)
		if poll < 0 {
			poll = 0
		}
	}
	ext := map[string]string{
		"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(int(mq.GetId())),
		"maxMsgNums": strconv.Itoa(int(batch)), "invisibleTime": strconv.FormatInt(inv.Milliseconds(), 10),
		"pollTime": strconv.FormatInt(poll.Milliseconds(), 10), "bornTime": strconv.FormatInt(s.o.Now().UnixMilli(), 10),
		"initMode": "0", // CONSUME_FROM_LAST_OFFSET for a new group, as Apache's Proxy
	}
	if fe := req.GetFilterExpression(); fe != nil && strings.TrimSpace(fe.GetExpression()) != "" {
		ext["exp"] = fe.GetExpression()
		ext["expType"] = "TAG"
		if fe.GetType() == pb.FilterType_SQL {
			ext["expType"] = "SQL92"
		}
	}
	ss.mu.Lock()
	fifo := ss.settings.GetSubscription().GetFifo()
	ss.mu.Unlock()
	if fifo {
		ext["order"] = "true"
	}
	if a := req.GetAttemptId(); a != "" {
		ext["attemptId"] = a
	}
	cctx, cancel := context.WithTimeout(ctx, poll+5*time.Second)
	defer cancel()
	resp, err := ss.call(cctx, codec.NewRequest(code.PopMessage, ext, nil))
	if err != nil {
		return nil, statusOf(pb.Code_INTERNAL_SERVER_ERROR, "broker: "+err.Error())
	}
	switch resp.Code {
	case code.Success:
	case code.PullNotFound, code.PullRetryImmediately, code.PollingTimeout:
		return nil, nil
	default:
		return nil, statusOf(codeOf(resp.Code), resp.Remark)
	}
	recs, err := decodeRecords(resp.Body)
	if err != nil {
		return nil, statusOf(pb.Code_INTERNAL_SERVER_ERROR, "broker answer: "+err.Error())
	}
	pi, err := parsePopInfo(resp.ExtFields)
	if err != nil {
		return nil, statusOf(pb.Code_INTERNAL_SERVER_ERROR, "broker answer: "+err.Error())
	}
	firstSeen := map[string]int64{}
	out := make([]*pb.Message, 0, len(recs))
	for _, r := range recs {
		ck := r.Properties[propPopCK]
		if ck == "" {
			ck = pi.extraInfo(r, s.be.BrokerName, firstSeen)
		}
		pm := toProto(r, s.be.BrokerName, ck+" "+strconv.FormatInt(r.PhysicalOffset, 10))
		pm.SystemProperties.InvisibleDuration = durationpb.New(time.Duration(pi.invisibleTime) * time.Millisecond)
		out = append(out, pm)
	}
	return out, nil
}

// AckMessage acknowledges each entry with ACK_MESSAGE and answers one result per entry.
func (s *Server) AckMessage(ctx context.Context, req *pb.AckMessageRequest) (*pb.AckMessageResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.AckMessageResponse{Status: st}, nil
	}
	ss := s.session(m)
	group, topic := resourceName(req.GetGroup()), resourceName(req.GetTopic())
	if len(req.GetEntries()) == 0 || len(req.GetEntries()) > maxMessagesPerSend {
		return &pb.AckMessageResponse{Status: statusOf(pb.Code_BAD_REQUEST, fmt.Sprintf("%d entries: want 1 to %d", len(req.GetEntries()), maxMessagesPerSend))}, nil
	}
	var first *pb.Status
	res := make([]*pb.AckMessageResultEntry, 0, len(req.GetEntries()))
	for _, e := range req.GetEntries() {
		st := ss.ack(ctx, group, topic, e.GetReceiptHandle())
		if st == nil {
			st = okStatus()
		} else if first == nil {
			first = st
		}
		res = append(res, &pb.AckMessageResultEntry{MessageId: e.GetMessageId(), ReceiptHandle: e.GetReceiptHandle(), Status: st})
	}
	if first == nil {
		first = okStatus()
	} else if len(res) > 1 {
		first = statusOf(pb.Code_MULTIPLE_RESULTS, "some entries failed; see each entry's status")
	}
	return &pb.AckMessageResponse{Status: first, Entries: res}, nil
}

// ackTopic is the topic an ACK names: the group's retry topic for a message popped from
// it, the message's topic otherwise.
func ackTopic(rc receipt, group, topic string) string {
	if rc.retry {
		return meta.RetryGroupTopicPrefix + group
	}
	return topic
}

func (ss *session) ack(ctx context.Context, group, topic, handle string) *pb.Status {
	rc, err := parseReceipt(handle)
	if err != nil {
		return statusOf(pb.Code_INVALID_RECEIPT_HANDLE, err.Error())
	}
	ext := map[string]string{
		"consumerGroup": group, "topic": ackTopic(rc, group, topic), "queueId": strconv.Itoa(int(rc.queueID)),
		"extraInfo": rc.extraInfo, "offset": strconv.FormatInt(rc.queueOffset, 10),
	}
	resp, err := ss.call(ctx, codec.NewRequest(code.AckMessage, ext, nil))
	return remotingStatus(resp, err)
}

// ChangeInvisibleDuration relays CHANGE_MESSAGE_INVISIBLETIME and answers the new
// receipt handle.
func (s *Server) ChangeInvisibleDuration(ctx context.Context, req *pb.ChangeInvisibleDurationRequest) (*pb.ChangeInvisibleDurationResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.ChangeInvisibleDurationResponse{Status: st}, nil
	}
	ss := s.session(m)
	rc, err := parseReceipt(req.GetReceiptHandle())
	if err != nil {
		return &pb.ChangeInvisibleDurationResponse{Status: statusOf(pb.Code_INVALID_RECEIPT_HANDLE, err.Error())}, nil
	}
	d := req.GetInvisibleDuration().AsDuration()
	if d < 0 || d > maxInvisibleDuration {
		return &pb.ChangeInvisibleDurationResponse{Status: statusOf(pb.Code_ILLEGAL_INVISIBLE_TIME, fmt.Sprintf("invisible duration %v: want 0 to %v", d, maxInvisibleDuration))}, nil
	}
	group, topic := resourceName(req.GetGroup()), resourceName(req.GetTopic())
	ext := map[string]string{
		"consumerGroup": group, "topic": ackTopic(rc, group, topic), "queueId": strconv.Itoa(int(rc.queueID)),
		"extraInfo": rc.extraInfo, "offset": strconv.FormatInt(rc.queueOffset, 10),
		"invisibleTime": strconv.FormatInt(d.Milliseconds(), 10),
	}
	resp, err := ss.call(ctx, codec.NewRequest(code.ChangeMessageInvisibleTime, ext, nil))
	if st := remotingStatus(resp, err); st != nil {
		return &pb.ChangeInvisibleDurationResponse{Status: st}, nil
	}
	// The new checkpoint's extra info: the old one with the answer's popTime,
	// invisibleTime and reviveQid (ChangeInvisibleTimeResponseHeader), as Apache's Proxy
	// rebuilds the handle.
	f := strings.Split(rc.extraInfo, " ")
	if v := resp.ExtFields["popTime"]; v != "" {
		f[1] = v
	}
	if v := resp.ExtFields["invisibleTime"]; v != "" {
		f[2] = v
	}
	if v := resp.ExtFields["reviveQid"]; v != "" {
		f[3] = v
	}
	if v := resp.ExtFields["extraInfo"]; v != "" { // a broker that answers the whole new extra info
		f = strings.Split(v, " ")
	}
	h := strings.Join(f, " ") + " " + strconv.FormatInt(rc.commitLogOffset, 10)
	return &pb.ChangeInvisibleDurationResponse{Status: okStatus(), ReceiptHandle: h}, nil
}

// ForwardMessageToDeadLetterQueue sends the message to the group's DLQ
// (CONSUMER_SEND_MSG_BACK with delay level -1) and acknowledges it.
func (s *Server) ForwardMessageToDeadLetterQueue(ctx context.Context, req *pb.ForwardMessageToDeadLetterQueueRequest) (*pb.ForwardMessageToDeadLetterQueueResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.ForwardMessageToDeadLetterQueueResponse{Status: st}, nil
	}
	ss := s.session(m)
	rc, err := parseReceipt(req.GetReceiptHandle())
	if err != nil {
		return &pb.ForwardMessageToDeadLetterQueueResponse{Status: statusOf(pb.Code_INVALID_RECEIPT_HANDLE, err.Error())}, nil
	}
	group, topic := resourceName(req.GetGroup()), resourceName(req.GetTopic())
	ext := map[string]string{
		"offset": strconv.FormatInt(rc.commitLogOffset, 10), "group": group, "delayLevel": "-1",
		"originMsgId": req.GetMessageId(), "originTopic": topic, "unitMode": "false",
		"maxReconsumeTimes": strconv.Itoa(int(req.GetMaxDeliveryAttempts())),
	}
	resp, err := ss.call(ctx, codec.NewRequest(code.ConsumerSendMsgBack, ext, nil))
	if st := remotingStatus(resp, err); st != nil {
		return &pb.ForwardMessageToDeadLetterQueueResponse{Status: st}, nil
	}
	if st := ss.ack(ctx, group, topic, req.GetReceiptHandle()); st != nil {
		return &pb.ForwardMessageToDeadLetterQueueResponse{Status: st}, nil
	}
	return &pb.ForwardMessageToDeadLetterQueueResponse{Status: okStatus()}, nil
}
