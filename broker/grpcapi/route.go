package grpcapi

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/msgtype"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/message"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Perm bits of a topic (docs/protocol.md §3.2).
const (
	permRead  = 4
	permWrite = 2
)

// QueryRoute answers with the queues of the topic on this broker, each pointing at this
// endpoint. The endpoint serves the broker it runs in (docs/grpc.md): a topic the broker
// does not hold is TOPIC_NOT_FOUND.
func (s *Server) QueryRoute(ctx context.Context, req *pb.QueryRouteRequest) (*pb.QueryRouteResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.QueryRouteResponse{Status: st}, nil
	}
	s.session(m)
	topic := resourceName(req.GetTopic())
	qs, st := s.queues(topic)
	if st != nil {
		return &pb.QueryRouteResponse{Status: st}, nil
	}
	return &pb.QueryRouteResponse{Status: okStatus(), MessageQueues: qs}, nil
}

// queues lists a topic's queues as routes carry them: max(read, write) queues, each
// with the permission its id has (a queue below both counts is read-write).
func (s *Server) queues(topic string) ([]*pb.MessageQueue, *pb.Status) {
	if !meta.ValidName(topic) {
		return nil, statusOf(pb.Code_ILLEGAL_TOPIC, "topic "+strconv.Quote(topic)+" is not a valid topic name")
	}
	ti, ok := s.be.Topic(topic)
	if !ok {
		return nil, statusOf(pb.Code_TOPIC_NOT_FOUND, "topic "+topic+" does not exist on broker "+s.be.BrokerName)
	}
	n := max(ti.ReadQueues, ti.WriteQueues)
	broker := &pb.Broker{Name: s.be.BrokerName, Id: 0, Endpoints: s.advertised()}
	types := acceptTypes(ti.MessageType)
	qs := make([]*pb.MessageQueue, 0, n)
	for i := range n {
		r := i < ti.ReadQueues && ti.Perm&permRead != 0
		w := i < ti.WriteQueues && ti.Perm&permWrite != 0
		p := pb.Permission_NONE
		switch {
		case r && w:
			p = pb.Permission_READ_WRITE
		case r:
			p = pb.Permission_READ
		case w:
			p = pb.Permission_WRITE
		}
		qs = append(qs, &pb.MessageQueue{
			Topic: &pb.Resource{Name: topic}, Id: int32(i), Permission: p, Broker: broker, AcceptMessageTypes: types,
		})
	}
	return qs, nil
}

// acceptTypes maps the topic's message type (its message.type attribute; NORMAL when
// absent, as in Apache) to the types its queues accept; MIXED accepts every type.
func acceptTypes(t msgtype.Type) []pb.MessageType {
	switch t {
	case msgtype.Normal:
		return []pb.MessageType{pb.MessageType_NORMAL}
	case msgtype.FIFO:
		return []pb.MessageType{pb.MessageType_FIFO}
	case msgtype.Delay:
		return []pb.MessageType{pb.MessageType_DELAY}
	case msgtype.Transaction:
		return []pb.MessageType{pb.MessageType_TRANSACTION}
	default:
		return []pb.MessageType{pb.MessageType_NORMAL, pb.MessageType_FIFO, pb.MessageType_DELAY, pb.MessageType_TRANSACTION}
	}
}

// QueryAssignment answers with one assignment per readable queue: POP consumers share
// every queue, so there is nothing to balance (docs/grpc.md).
func (s *Server) QueryAssignment(ctx context.Context, req *pb.QueryAssignmentRequest) (*pb.QueryAssignmentResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.QueryAssignmentResponse{Status: st}, nil
	}
	s.session(m)
	if g := resourceName(req.GetGroup()); !meta.ValidName(g) {
		return &pb.QueryAssignmentResponse{Status: statusOf(pb.Code_ILLEGAL_CONSUMER_GROUP, "group "+strconv.Quote(g)+" is not a valid group name")}, nil
	}
	qs, st := s.queues(resourceName(req.GetTopic()))
	if st != nil {
		return &pb.QueryAssignmentResponse{Status: st}, nil
	}
	var as []*pb.Assignment
	for _, q := range qs {
		if q.Permission == pb.Permission_READ || q.Permission == pb.Permission_READ_WRITE {
			as = append(as, &pb.Assignment{MessageQueue: q})
		}
	}
	return &pb.QueryAssignmentResponse{Status: okStatus(), Assignments: as}, nil
}

// Heartbeat relays the client's registration to the broker as a HEART_BEAT on the
// session's connection: a producer under each topic it publishes to (Apache's Proxy uses
// the topic as the producer group, and check-backs find the producer by it), a consumer
// group with the subscriptions its settings carry.
func (s *Server) Heartbeat(ctx context.Context, req *pb.HeartbeatRequest) (*pb.HeartbeatResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.HeartbeatResponse{Status: st}, nil
	}
	ss := s.session(m)
	if st := ss.heartbeat(ctx, req.GetClientType(), resourceName(req.GetGroup())); st != nil {
		return &pb.HeartbeatResponse{Status: st}, nil
	}
	return &pb.HeartbeatResponse{Status: okStatus()}, nil
}

// heartbeat sends HEART_BEAT for what the session's settings say the client is.
func (ss *session) heartbeat(ctx context.Context, ct pb.ClientType, group string) *pb.Status {
	ss.mu.Lock()
	set := ss.settings
	ss.mu.Unlock()
	if ct == pb.ClientType_CLIENT_TYPE_UNSPECIFIED && set != nil {
		ct = set.GetClientType()
	}
	hb := body.HeartbeatData{ClientID: ss.id, ProducerDataSet: []body.ProducerData{}, ConsumerDataSet: []body.ConsumerData{}}
	switch ct {
	case pb.ClientType_PRODUCER:
		for _, t := range set.GetPublishing().GetTopics() {
			hb.ProducerDataSet = append(hb.ProducerDataSet, body.ProducerData{GroupName: resourceName(t)})
		}
	case pb.ClientType_SIMPLE_CONSUMER, pb.ClientType_PUSH_CONSUMER:
		if group == "" {
			group = resourceName(set.GetSubscription().GetGroup())
		}
		if !meta.ValidName(group) {
			return statusOf(pb.Code_ILLEGAL_CONSUMER_GROUP, "group "+strconv.Quote(group)+" is not a valid group name")
		}
		cd := body.ConsumerData{
			GroupName: group, ConsumeType: consumePop, MessageModel: body.Clustering,
			ConsumeFromWhere: body.ConsumeFromLastOffset, SubscriptionDataSet: []body.SubscriptionData{},
		}
		for _, e := range set.GetSubscription().GetSubscriptions() {
			cd.SubscriptionDataSet = append(cd.SubscriptionDataSet, subscriptionData(resourceName(e.GetTopic()), e.GetExpression()))
		}
		hb.ConsumerDataSet = append(hb.ConsumerDataSet, cd)
	case pb.ClientType_CLIENT_TYPE_UNSPECIFIED:
		// The SDK sends an empty heartbeat while recovering its Telemetry stream: a
		// liveness probe, answered OK.
		return nil
	default:
		return statusOf(pb.Code_UNRECOGNIZED_CLIENT_TYPE, "client type "+ct.String()+" is not supported")
	}
	b, err := json.Marshal(hb)
	if err != nil {
		return statusOf(pb.Code_INTERNAL_ERROR, err.Error())
	}
	resp, err := ss.call(ctx, codec.NewRequest(code.HeartBeat, map[string]string{}, b))
	return remotingStatus(resp, err)
}

// consumePop is RocketMQ 5's consume type of a POP consumer group (ConsumeType.java).
const consumePop = "CONSUME_POP"

// subscriptionData builds a HEART_BEAT subscription from a gRPC filter expression.
func subscriptionData(topic string, fe *pb.FilterExpression) body.SubscriptionData {
	expr := strings.TrimSpace(fe.GetExpression())
	d := body.SubscriptionData{Topic: topic, SubString: expr, TagsSet: []string{}, CodeSet: body.CodeSet{},
		SubVersion: time.Now().UnixMilli(), ExpressionType: body.ExpressionTag}
	if fe.GetType() == pb.FilterType_SQL {
		d.ExpressionType = "SQL92"
		return d
	}
	if expr == "" {
		d.SubString = body.SubAll
	}
	if d.SubString == body.SubAll {
		return d
	}
	for _, t := range strings.Split(expr, "||") {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(d.TagsSet, t) {
			d.TagsSet = append(d.TagsSet, t)
			d.CodeSet = append(d.CodeSet, strconv.FormatInt(int64(int32(message.TagsHash(t))), 10))
		}
	}
	return d
}

// NotifyClientTermination ends the client's session: its broker connection closes and
// the broker unregisters it at once.
func (s *Server) NotifyClientTermination(ctx context.Context, req *pb.NotifyClientTerminationRequest) (*pb.NotifyClientTerminationResponse, error) {
	m, st := s.meta(ctx)
	if st != nil {
		return &pb.NotifyClientTerminationResponse{Status: st}, nil
	}
	s.mu.Lock()
	ss := s.sessions[m.clientID]
	delete(s.sessions, m.clientID)
	s.mu.Unlock()
	if ss != nil {
		ss.close()
	}
	return &pb.NotifyClientTerminationResponse{Status: okStatus()}, nil
}

// remotingStatus maps the broker's answer to a gRPC status: nil for success.
func remotingStatus(resp *codec.Command, err error) *pb.Status {
	if err != nil {
		return statusOf(pb.Code_INTERNAL_SERVER_ERROR, "broker: "+err.Error())
	}
	if resp.Code == code.Success {
		return nil
	}
	return statusOf(codeOf(resp.Code), resp.Remark)
}

// codeOf maps a remoting response code to the gRPC API's (as Apache's Proxy does in
// ResponseBuilder).
func codeOf(c int32) pb.Code {
	switch c {
	case code.Success:
		return pb.Code_OK
	case code.TopicNotExist:
		return pb.Code_TOPIC_NOT_FOUND
	case code.SubscriptionGroupNotExist:
		return pb.Code_CONSUMER_GROUP_NOT_FOUND
	case code.NoPermission:
		return pb.Code_FORBIDDEN
	case code.MessageIllegal:
		return pb.Code_BAD_REQUEST
	case code.SystemBusy:
		return pb.Code_TOO_MANY_REQUESTS
	case code.RequestCodeNotSupported:
		return pb.Code_NOT_IMPLEMENTED
	case code.FlushDiskTimeout:
		return pb.Code_MASTER_PERSISTENCE_TIMEOUT
	case code.FlushSlaveTimeout:
		return pb.Code_SLAVE_PERSISTENCE_TIMEOUT
	case code.SlaveNotAvailable:
		return pb.Code_HA_NOT_AVAILABLE
	case code.SubscriptionParseFailed, code.SubscriptionNotExist, code.SubscriptionNotLatest:
		return pb.Code_ILLEGAL_FILTER_EXPRESSION
	default:
		return pb.Code_INTERNAL_SERVER_ERROR
	}
}
