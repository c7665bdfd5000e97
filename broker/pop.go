package broker

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/tags"
	"github.com/rocketgo/rocketgo/broker/pop"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// POP consumption for RocketMQ 5 remoting clients (docs/pop.md): POP_MESSAGE (200050),
// ACK_MESSAGE (200051), CHANGE_MESSAGE_INVISIBLETIME (200053) and BATCH_ACK_MESSAGE
// (200151) on the broker/pop state, which a gRPC endpoint shares.

// popTimeoutSlack is PopMessageRequestHeader.isTimeoutTooMuch's bound: a request whose
// born time plus poll time lies more than this in the past is answered POLLING_TIMEOUT.
const popTimeoutSlack = 500 * time.Millisecond

// openPop creates the POP service and replays the revive log into it.
func (b *Broker) openPop() error {
	s, err := pop.New(pop.Options{
		Store:       b.store,
		Offsets:     b.offsets,
		Dir:         filepath.Join(b.sopts.Dir, "pop"),
		ClusterName: b.opts.ClusterName,
		BrokerName:  b.opts.BrokerName,
		StoreHost:   b.storeHost,
		Now:         b.now,
		MaxAttempts: func(group string) int32 {
			if sg, ok := b.groups.Get(group); ok {
				return sg.GetRetryMaxTimes() + 1
			}
			return 16 + 1
		},
		DLQ: func(group string) (string, int32, error) {
			tc, err := b.topics.EnsureDLQ(group)
			if err != nil {
				return "", 0, err
			}
			return tc.GetTopicName(), tc.GetWriteQueueNums(), nil
		},
		Durable:          b.popDurable,
		MaxTransferBytes: b.opts.MaxTransferBytes,
		Logger:           b.log,
	})
	if err != nil {
		return err
	}
	if err := b.store.AddProjection(s.Projection()); err != nil {
		return err
	}
	b.pop = s
	return nil
}

// popDurable waits until end is as durable as an acknowledgement promises.
func (b *Broker) popDurable(ctx context.Context, end int64) error {
	if !b.waitsForDurability() {
		return nil
	}
	done := make(chan error, 1)
	b.onDurable(end, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refusePopOnSlave refuses POP requests on a slave: each one writes to the log, which
// only the master may do. A slave keeps applying the master's POP records it replicates
// (its service is never started), so it holds the state if restarted as master.
func (b *Broker) refusePopOnSlave(req *codec.Command) *codec.Command {
	if !b.isSlave() {
		return nil
	}
	return req.NewResponse(code.ServiceNotAvailable, "broker "+b.opts.BrokerName+" is a slave: POP consumption is served by its master")
}

// popError turns a broker/pop error into a response.
func popError(req *codec.Command, err error) *codec.Command {
	switch {
	case errors.Is(err, pop.ErrBadRequest), errors.Is(err, pop.ErrBadHandle):
		return req.NewResponse(code.InvalidParameter, err.Error())
	case errors.Is(err, pop.ErrBusy):
		return req.NewResponse(code.PollingFull, err.Error())
	case errors.Is(err, pop.ErrClosed):
		return req.NewResponse(code.ServiceNotAvailable, err.Error())
	}
	return errorResponse(req, err)
}

// handlePopMessage serves POP_MESSAGE (200050). The checks are PopMessageProcessor's;
// the read runs on its own goroutine because it may wait up to pollTime.
func (b *Broker) handlePopMessage(conn *server.Conn, req *codec.Command) *codec.Command {
	var h header.PopMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if resp := b.refusePopOnSlave(req); resp != nil {
		return resp
	}
	now := b.now()
	if h.BornTime == 0 {
		h.BornTime = now.UnixMilli()
	}
	if now.UnixMilli()-h.BornTime-h.PollTime > popTimeoutSlack.Milliseconds() {
		return req.NewResponse(code.PollingTimeout, "the broker["+b.opts.BrokerName+"] pop message is timeout too much")
	}
	if h.MaxMsgNums > pop.MaxReceiveNum {
		return req.NewResponse(code.InvalidParameter, "the broker["+b.opts.BrokerName+"] pop message's num is greater than 32")
	}
	rr, err := b.popRequest(&h)
	if err != nil {
		return errorResponse(req, err)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), pop.MaxLongPoll+5*time.Second)
		defer cancel()
		var resp *codec.Command
		if res, err := b.pop.Receive(ctx, rr); err != nil {
			resp = popError(req, err)
		} else {
			resp = popResponse(req, &h, res)
		}
		if rerr := conn.Reply(resp); rerr != nil {
			b.log.Debug().Err(rerr).Uint64("conn", conn.ID()).Msg("pop answer dropped")
		}
	}()
	return nil
}

// popRequest validates a POP_MESSAGE against the topic and group configs.
func (b *Broker) popRequest(h *header.PopMessageRequest) (pop.ReceiveRequest, error) {
	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		return pop.ReceiveRequest{}, reject(errTopicNotExist, "topic[%s] not exist, apply first please!", h.Topic)
	}
	if tc.GetPerm()&body.PermRead == 0 {
		return pop.ReceiveRequest{}, reject(errNoPermission, "the topic[%s] peeking message is forbidden", h.Topic)
	}
	if h.QueueID >= tc.GetReadQueueNums() || h.QueueID < -1 {
		return pop.ReceiveRequest{}, reject(errBadRequest, "queueId[%d] is illegal, topic:[%s] topicConfig.readQueueNums:[%d] consumer:[%s]",
			h.QueueID, h.Topic, tc.GetReadQueueNums(), h.ConsumerGroup)
	}
	sg, err := b.groups.Ensure(h.ConsumerGroup)
	if err != nil {
		return pop.ReceiveRequest{}, err
	}
	if !sg.GetConsumeEnable() {
		return pop.ReceiveRequest{}, reject(errNoPermission, "subscription group no permission, %s", h.ConsumerGroup)
	}
	var match func(int64) bool
	if h.Exp != "" {
		switch strings.ToUpper(h.ExpType) {
		case "", exprTag:
			match = tags.Matcher(tags.Parse(h.Exp))
		default:
			return pop.ReceiveRequest{}, reject(errSubscriptionParse, "POP with expression type %q is not supported; use TAG", h.ExpType)
		}
	}
	return pop.ReceiveRequest{
		Group: h.ConsumerGroup, Topic: h.Topic, QueueID: h.QueueID, Queues: tc.GetReadQueueNums(),
		MaxNum: int(max(h.MaxMsgNums, 1)), InvisibleTime: time.Duration(h.InvisibleTime) * time.Millisecond,
		Filter: match, LongPoll: time.Duration(max(h.PollTime, 0)) * time.Millisecond, FIFO: h.Order, InitMode: h.InitMode,
	}, nil
}

// popResponse builds the answer of a receive: the records back to back in the body
// (as a pull), and the header fields the client builds each message's extraInfo from.
func popResponse(req *codec.Command, h *header.PopMessageRequest, res *pop.ReceiveResult) *codec.Command {
	rh := header.PopMessageResponse{PopTime: res.PopTime, InvisibleTime: res.InvisibleTime, ReviveQid: res.ReviveQid, RestNum: res.RestNum}
	var start, offs, orders []string
	for _, run := range res.Runs {
		q := strconv.FormatInt(int64(run.QueueID), 10)
		start = append(start, pop.RetryNormal+" "+q+" "+strconv.FormatInt(run.StartOffset, 10))
		list := make([]string, len(run.Offsets))
		minCount := int32(1 << 30)
		for i, o := range run.Offsets {
			list[i] = strconv.FormatInt(o, 10)
			if h.Order {
				orders = append(orders, pop.RetryNormal+" qo"+q+"%"+list[i]+" "+strconv.FormatInt(int64(run.Attempts[i]-1), 10))
				minCount = min(minCount, run.Attempts[i]-1)
			}
		}
		if h.Order {
			orders = append(orders, pop.RetryNormal+" "+q+" "+strconv.FormatInt(int64(minCount), 10))
		}
		offs = append(offs, pop.RetryNormal+" "+q+" "+strings.Join(list, ","))
	}
	rh.StartOffsetInfo, rh.MsgOffsetInfo, rh.OrderCountInfo = strings.Join(start, ";"), strings.Join(offs, ";"), strings.Join(orders, ";")
	c, remark := int32(code.Success), "FOUND"
	if len(res.Messages) == 0 {
		c, remark = code.PollingTimeout, "NO_MESSAGE_IN_QUEUE"
	}
	resp := req.NewResponse(c, remark)
	resp.ExtFields = rh.Encode()
	for _, m := range res.Messages {
		resp.BodyParts = append(resp.BodyParts, m.Record)
	}
	return resp
}

// popHandle parses the extraInfo of an ACK or CHANGE request and checks it names
// this broker's queue; the request's offset and queue id win, as in Apache.
func (b *Broker) popHandle(topic string, queueID int32, offset int64, extra string) (pop.Handle, error) {
	tc, ok := b.topics.Get(topic)
	if !ok {
		return pop.Handle{}, reject(errTopicNotExist, "topic[%s] not exist, apply first please!", topic)
	}
	if queueID < 0 || queueID >= tc.GetReadQueueNums() {
		return pop.Handle{}, reject(errMessageIllegal, "queueId[%d] is illegal, topic:[%s] topicConfig.readQueueNums:[%d]", queueID, topic, tc.GetReadQueueNums())
	}
	hd, err := pop.ParseHandle(extra)
	if err != nil {
		return pop.Handle{}, err
	}
	hd.QueueID, hd.Offset = queueID, offset
	return hd, nil
}

// handleAckMessage serves ACK_MESSAGE (200051). An offset outside the queue is
// NO_MESSAGE; a handle that is no longer current is SUCCESS and changes nothing, as
// an Apache broker's ack of a revived checkpoint does.
func (b *Broker) handleAckMessage(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.AckMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if resp := b.refusePopOnSlave(req); resp != nil {
		return resp
	}
	hd, err := b.popHandle(h.Topic, h.QueueID, h.Offset, h.ExtraInfo)
	if err != nil {
		return popError(req, err)
	}
	if minOff, maxOff := b.store.MinOffset(h.Topic, h.QueueID), b.store.MaxOffset(h.Topic, h.QueueID); h.Offset < minOff || h.Offset > maxOff {
		return req.NewResponse(code.NoMessage, "offset is illegal, key:"+h.Topic+"@"+strconv.Itoa(int(h.QueueID))+", commit:"+
			strconv.FormatInt(h.Offset, 10)+", store:"+strconv.FormatInt(minOff, 10)+"~"+strconv.FormatInt(maxOff, 10))
	}
	if err := b.pop.Ack(context.Background(), h.ConsumerGroup, h.Topic, hd); err != nil && !errors.Is(err, pop.ErrStaleHandle) {
		return popError(req, err)
	}
	return req.NewResponse(code.Success, "")
}

// handleBatchAckMessage serves BATCH_ACK_MESSAGE (200151): every set bit of every
// entry is one ack; offsets outside the queue are skipped, as in Apache.
func (b *Broker) handleBatchAckMessage(_ *server.Conn, req *codec.Command) *codec.Command {
	if resp := b.refusePopOnSlave(req); resp != nil {
		return resp
	}
	if len(req.Body) == 0 {
		return req.NewResponse(code.NoMessage, "batch ack body is empty")
	}
	rb, err := body.DecodeBatchAckMessageRequest(req.Body)
	if err != nil {
		return req.NewResponse(code.InvalidParameter, err.Error())
	}
	if len(rb.Acks) == 0 {
		return req.NewResponse(code.NoMessage, "batch ack body has no acks")
	}
	for _, a := range rb.Acks {
		if a.Retry != "" && a.Retry != pop.RetryNormal {
			continue // Apache's POP retry topics: this broker hands none out
		}
		if _, ok := b.topics.Get(a.Topic); !ok {
			continue
		}
		minOff, maxOff := b.store.MinOffset(a.Topic, a.QueueID), b.store.MaxOffset(a.Topic, a.QueueID)
		for _, off := range a.Offsets() {
			if off < minOff || off > maxOff {
				continue
			}
			hd := pop.Handle{CkOffset: a.StartOffset, PopTime: a.PopTime, InvisibleTime: a.InvisibleTime, ReviveQid: a.ReviveQueueID,
				Retry: pop.RetryNormal, BrokerName: rb.BrokerName, QueueID: a.QueueID, Offset: off}
			if err := b.pop.Ack(context.Background(), a.ConsumerGroup, a.Topic, hd); err != nil && !errors.Is(err, pop.ErrStaleHandle) {
				return popError(req, err)
			}
		}
	}
	return req.NewResponse(code.Success, "")
}

// handleChangeInvisibleTime serves CHANGE_MESSAGE_INVISIBLETIME (200053). The answer
// carries popTime, invisibleTime and reviveQid; with the request's offset they make
// the new handle. A handle that is no longer current is refused (NO_MESSAGE) rather
// than creating a new delivery of a message that was acknowledged.
func (b *Broker) handleChangeInvisibleTime(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ChangeInvisibleTimeRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if resp := b.refusePopOnSlave(req); resp != nil {
		return resp
	}
	hd, err := b.popHandle(h.Topic, h.QueueID, h.Offset, h.ExtraInfo)
	if err != nil {
		return popError(req, err)
	}
	if minOff, maxOff := b.store.MinOffset(h.Topic, h.QueueID), b.store.MaxOffset(h.Topic, h.QueueID); h.Offset < minOff || h.Offset >= maxOff {
		return req.NewResponse(code.NoMessage, "offset "+strconv.FormatInt(h.Offset, 10)+" is outside the queue")
	}
	nh, err := b.pop.ChangeInvisible(context.Background(), h.ConsumerGroup, h.Topic, hd, time.Duration(h.InvisibleTime)*time.Millisecond)
	if errors.Is(err, pop.ErrStaleHandle) {
		return req.NewResponse(code.NoMessage, err.Error())
	}
	if err != nil {
		return popError(req, err)
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.ChangeInvisibleTimeResponse{PopTime: nh.PopTime, InvisibleTime: nh.InvisibleTime, ReviveQid: nh.ReviveQid}).Encode()
	return resp
}
