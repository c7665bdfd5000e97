package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// callClientTimeout bounds a request relayed to a client (Broker2Client.callClient's
// 10 s).
const callClientTimeout = 10 * time.Second

// handleQueryTopicConsumeByWho serves QUERY_TOPIC_CONSUME_BY_WHO (300) as
// AdminBrokerProcessor.queryTopicConsumeByWho: the online groups subscribing to the
// topic and the groups holding committed offsets on it, as {"groupList":[...]}.
func (b *Broker) handleQueryTopicConsumeByWho(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.TopicRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	groups := append(b.clients.TopicConsumers(h.Topic), b.offsets.Groups(h.Topic)...)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	if groups == nil {
		groups = []string{}
	}
	data, err := json.Marshal(struct {
		GroupList []string `json:"groupList"`
	}{groups})
	if err != nil {
		return errorResponse(req, err)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = data
	return resp
}

// handleGetConsumerRunningInfo serves GET_CONSUMER_RUNNING_INFO (307): the request is
// relayed to the client's connection and its answer returned (AdminBrokerProcessor
// .getConsumerRunningInfo, callConsumer).
func (b *Broker) handleGetConsumerRunningInfo(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumerRunningInfoRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	return b.callConsumer(req, h.ConsumerGroup, h.ClientID, nil)
}

// handleConsumeMessageDirectly serves CONSUME_MESSAGE_DIRECTLY (309): the broker reads
// the message of msgId (an offset message id) from its CommitLog, puts it in the body,
// names itself in brokerName and relays the request to the client, which consumes the
// message at once and answers a ConsumeMessageDirectlyResult.
func (b *Broker) handleConsumeMessageDirectly(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ConsumeMessageDirectlyRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	_, phys, err := message.ParseOffsetMsgID(h.MsgID)
	if err != nil {
		return req.NewResponse(code.SystemError, fmt.Sprintf("msgId %q is not an offset message id: %v", h.MsgID, err))
	}
	rec, err := b.store.ReadRecord(phys)
	if err != nil {
		return req.NewResponse(code.SystemError, fmt.Sprintf("can not find message %s: %v", h.MsgID, err))
	}
	return b.callConsumer(req, h.ConsumerGroup, h.ClientID, rec)
}

// callConsumer relays req (with body, when given) to client clientID of group and
// returns the client's answer; a client that is not online or does not answer in time
// is a SYSTEM_ERROR naming it, with Java's remarks.
func (b *Broker) callConsumer(req *codec.Command, group, clientID string, body []byte) *codec.Command {
	conn, _, ok := b.clients.FindConsumer(group, clientID)
	if !ok {
		return req.NewResponse(code.SystemError, fmt.Sprintf("The Consumer <%s> <%s> not online", group, clientID))
	}
	ext := make(map[string]string, len(req.ExtFields)+1)
	for k, v := range req.ExtFields {
		ext[k] = v
	}
	if req.Code == code.ConsumeMessageDirectly {
		ext["brokerName"] = b.opts.BrokerName
	}
	if body == nil {
		body = req.Body
	}
	ctx, cancel := context.WithTimeout(context.Background(), callClientTimeout)
	defer cancel()
	answer, err := conn.Invoke(ctx, codec.NewRequest(req.Code, ext, body))
	switch {
	case errors.Is(err, codec.ErrTimeout):
		return req.NewResponse(code.SystemError, fmt.Sprintf("consumer <%s> <%s> Timeout: %v", group, clientID, err))
	case err != nil:
		return req.NewResponse(code.SystemError, fmt.Sprintf("invoke consumer <%s> <%s> Exception: %v", group, clientID, err))
	}
	resp := req.NewResponse(answer.Code, answer.Remark)
	resp.ExtFields = answer.ExtFields
	resp.Body = answer.Body
	return resp
}
