package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Request/reply properties (MessageConst.java), docs/request-reply.md.
const (
	PropertyCorrelationID = message.PropCorrelationID
	PropertyReplyToClient = message.PropReplyToClient
	PropertyMessageTTL    = message.PropMessageTTL
	PropertyMsgType       = message.PropMsgType
	PropertyCluster       = message.PropCluster
)

// replyTopicSuffix names the topic every broker of a cluster creates for replies:
// <cluster>_REPLY_TOPIC.
const replyTopicSuffix = "_REPLY_TOPIC"

// ErrRequestTimeout is returned by Request, and given to a RequestAsync callback, when
// no reply arrived within the request's timeout.
var ErrRequestTimeout = errors.New("client: request timed out waiting for the reply")

// pendingRequest is one request waiting for its reply.
type pendingRequest struct {
	owner *Producer
	done  chan struct{} // closed once reply or err is set
	reply *MessageExt
	err   error
	cb    func(*MessageExt, error) // RequestAsync's callback, nil for Request
	timer *time.Timer
}

// requestTable holds the requests of an instance waiting for their reply, by
// correlation id. An entry leaves it exactly once: with its reply, at its timeout, when
// its send fails, or when its producer shuts down.
type requestTable struct {
	mu sync.Mutex
	m  map[string]*pendingRequest
}

// add registers a request and arms its timeout.
// The timer is set under the lock, so a resolve (which takes the lock first) always
// sees it.
func (t *requestTable) add(id string, p *pendingRequest, timeout time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*pendingRequest)
	}
	t.m[id] = p
	p.timer = time.AfterFunc(timeout, func() {
		t.resolve(id, nil, fmt.Errorf("%w: correlation id %s, %v", ErrRequestTimeout, id, timeout))
	})
}

// resolve removes the request id and completes it with reply or err; it reports false
// when the id is unknown (already resolved, or never ours).
func (t *requestTable) resolve(id string, reply *MessageExt, err error) bool {
	t.mu.Lock()
	p := t.m[id]
	delete(t.m, id)
	t.mu.Unlock()
	if p == nil {
		return false
	}
	p.timer.Stop()
	p.reply, p.err = reply, err
	close(p.done)
	if p.cb != nil {
		go p.cb(reply, err)
	}
	return true
}

// drop removes the request id without completing it.
func (t *requestTable) drop(id string) {
	t.mu.Lock()
	p := t.m[id]
	delete(t.m, id)
	t.mu.Unlock()
	if p != nil {
		p.timer.Stop()
	}
}

// failOwner completes every request of owner with err.
func (t *requestTable) failOwner(owner *Producer, err error) {
	t.mu.Lock()
	var ids []string
	for id, p := range t.m {
		if p.owner == owner {
			ids = append(ids, id)
		}
	}
	t.mu.Unlock()
	for _, id := range ids {
		t.resolve(id, nil, err)
	}
}

// waiting returns the number of requests waiting.
func (t *requestTable) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Request sends msg as a request and waits for its reply: the message gets a new
// CORRELATION_ID, REPLY_TO_CLIENT (this client's id) and TTL (timeout in ms), a
// responder answers it with SendReply (or the official clients' reply), and the broker
// pushes that reply back here. timeout bounds the whole round trip, the send included;
// ctx may end it sooner. Without a reply in time the error wraps ErrRequestTimeout.
// The caller's message is not modified.
func (p *Producer) Request(ctx context.Context, msg *Message, timeout time.Duration) (*MessageExt, error) {
	id, req, err := p.prepareRequest(ctx, msg, timeout)
	if err != nil {
		return nil, err
	}
	pr := &pendingRequest{owner: p, done: make(chan struct{})}
	p.inst.requests.add(id, pr, timeout)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := p.Send(sctx, req); err != nil {
		p.inst.requests.resolve(id, nil, err)
		return nil, fmt.Errorf("request %s: %w", id, err)
	}
	select {
	case <-pr.done:
		return pr.reply, pr.err
	case <-ctx.Done():
		p.inst.requests.resolve(id, nil, ctx.Err())
		<-pr.done
		return pr.reply, pr.err
	}
}

// RequestAsync sends msg as a request like Request without waiting: cb receives the
// reply, or the error (a failed send, ErrRequestTimeout, a shutdown), exactly once and
// on a goroutine of its own. RequestAsync returns an error, and never calls cb, when
// the request cannot start.
func (p *Producer) RequestAsync(ctx context.Context, msg *Message, timeout time.Duration, cb func(*MessageExt, error)) error {
	if cb == nil {
		return fmt.Errorf("%w: nil request callback", ErrInvalidOption)
	}
	id, req, err := p.prepareRequest(ctx, msg, timeout)
	if err != nil {
		return err
	}
	pr := &pendingRequest{owner: p, done: make(chan struct{}), cb: cb}
	p.inst.requests.add(id, pr, timeout)
	err = p.SendAsync(ctx, func(_ *SendResult, err error) {
		if err != nil {
			p.inst.requests.resolve(id, nil, fmt.Errorf("request %s: %w", id, err))
		}
	}, req)
	if err != nil {
		p.inst.requests.drop(id) // not started: cb must not run
		return fmt.Errorf("request %s: %w", id, err)
	}
	return nil
}

// prepareRequest validates a request and returns its correlation id and the message to
// send: a copy of msg with the request properties. The requester must be registered as
// a producer with the broker before the reply comes back, so the first request to a
// topic whose route is not cached yet fetches it and heartbeats at once, as the
// official clients do.
func (p *Producer) prepareRequest(ctx context.Context, msg *Message, timeout time.Duration) (string, *Message, error) {
	if p.state.Load() != producerRunning {
		return "", nil, ErrNotStarted
	}
	if msg == nil {
		return "", nil, fmt.Errorf("%w: no message", ErrInvalidMessage)
	}
	if timeout <= 0 {
		return "", nil, fmt.Errorf("%w: request timeout %v must be positive", ErrInvalidOption, timeout)
	}
	wrapped := p.wrap(msg.Topic)
	if p.inst.cachedRoute(wrapped) == nil {
		if _, err := p.inst.publishRoute(ctx, wrapped, p.o.createTopicKey); err != nil {
			return "", nil, fmt.Errorf("request to %s: %w", msg.Topic, err)
		}
		if err := p.inst.sendHeartbeat(ctx); err != nil {
			p.log.Warn().Err(err).Str("topic", msg.Topic).Msg("heartbeat before the first request failed; its reply may find no requester")
		}
	}
	id := message.NewUniqID()
	req := *msg
	req.Properties = maps.Clone(msg.propertyMap())
	req.WithProperty(PropertyCorrelationID, id).
		WithProperty(PropertyReplyToClient, p.inst.clientID).
		WithProperty(PropertyMessageTTL, strconv.FormatInt(timeout.Milliseconds(), 10))
	return id, &req, nil
}

// NewReplyMessage builds the reply to request carrying body: a message to
// <cluster>_REPLY_TOPIC of the request's cluster with MSG_TYPE=reply and the request's
// CORRELATION_ID, REPLY_TO_CLIENT and TTL. Send it with Producer.SendReply. It fails
// with ErrInvalidMessage when request is not a request (no CLUSTER, REPLY_TO_CLIENT or
// CORRELATION_ID).
func NewReplyMessage(request *MessageExt, body []byte) (*Message, error) {
	if request == nil {
		return nil, fmt.Errorf("%w: nil request message", ErrInvalidMessage)
	}
	var missing []string
	for _, k := range []string{PropertyCluster, PropertyReplyToClient, PropertyCorrelationID} {
		if request.Property(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: message %s is not a request: no %s", ErrInvalidMessage, request.MsgID, strings.Join(missing, ", "))
	}
	m := NewMessage(request.Property(PropertyCluster)+replyTopicSuffix, body)
	m.WithProperty(PropertyMsgType, message.MsgTypeReply).
		WithProperty(PropertyCorrelationID, request.Property(PropertyCorrelationID)).
		WithProperty(PropertyReplyToClient, request.Property(PropertyReplyToClient)).
		WithProperty(PropertyMessageTTL, request.Property(PropertyMessageTTL))
	return m, nil
}

// SendReply sends a reply built by NewReplyMessage with SEND_REPLY_MESSAGE (324). The
// broker pushes it to the requester and answers once the requester took it; when the
// requester is gone the error carries the broker's SYSTEM_ERROR and its remark. A
// reply is not retried after a broker's refusal (each attempt would store a copy); the
// reply topic is not put in the producer's namespace.
func (p *Producer) SendReply(ctx context.Context, reply *Message) (*SendResult, error) {
	if reply == nil || reply.Property(PropertyCorrelationID) == "" || reply.Property(PropertyReplyToClient) == "" {
		return nil, fmt.Errorf("%w: a reply needs %s and %s (build it with NewReplyMessage)", ErrInvalidMessage, PropertyCorrelationID, PropertyReplyToClient)
	}
	out, err := p.prepare([]*Message{reply})
	if err != nil {
		return nil, err
	}
	out.topic, out.reply = reply.Topic, true
	if !p.track.begin() {
		return nil, ErrNotStarted
	}
	defer p.track.end()
	return p.sendSync(ctx, out)
}

// onReplyPush serves PUSH_REPLY_MESSAGE_TO_CLIENT (326): it completes the request the
// reply's CORRELATION_ID names. A reply nobody waits for any more (its request timed
// out) is answered SUCCESS too, as the official clients do: the broker did its part.
func (c *instance) onReplyPush(addr string, req *codec.Command) *codec.Command {
	var h header.ReplyMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return req.NewResponse(code.SystemError, fmt.Sprintf("bad PUSH_REPLY_MESSAGE_TO_CLIENT header: %v", err))
	}
	m := &MessageExt{
		Message: Message{
			Topic:      h.Topic,
			Body:       req.Body,
			Flag:       h.Flag,
			Properties: message.DecodeProperties(h.Properties),
		},
		Queue:          MessageQueue{Topic: h.Topic, QueueID: h.QueueID},
		SysFlag:        h.SysFlag,
		BornTimestamp:  h.BornTimestamp,
		BornHost:       parseHost(h.BornHost),
		StoreTimestamp: h.StoreTimestamp,
		StoreHost:      parseHost(h.StoreHost),
		ReconsumeTimes: h.ReconsumeTimes,
	}
	if h.SysFlag&message.FlagCompressed != 0 {
		if inflated, err := message.Decompress(req.Body, MaxInflatedBody); err == nil {
			m.Body = inflated
		}
	}
	m.WithProperty(message.PropReplyArriveTime, strconv.FormatInt(c.o.now().UnixMilli(), 10))
	m.MsgID = m.Property(message.PropUniqKey)
	id := m.Property(message.PropCorrelationID)
	if !c.requests.resolve(id, m, nil) {
		c.log.Debug().Str("correlation_id", id).Str("broker", addr).Msg("reply for no waiting request (timed out or not ours)")
	}
	return req.NewResponse(code.Success, "")
}

// parseHost reads "ip:port" or Java's "/ip:port"; the zero AddrPort when neither.
func parseHost(s string) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(strings.TrimPrefix(s, "/"))
	return ap
}
