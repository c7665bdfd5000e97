package broker

import (
	"context"
	"errors"
	"strconv"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/schedule"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Bounds of LIST_TIMER_MESSAGES (docs/operations.md lists the extension codes).
const (
	defaultTimerList = 1000
	maxTimerList     = 1000
)

// handleListTimerMessages serves LIST_TIMER_MESSAGES (2102), a rocketgo extension: the
// pending timer and delay-level messages, optionally of one topic, as the scheduler's
// index and delay queues hold them.
func (b *Broker) handleListTimerMessages(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ListTimerMessagesRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if h.Topic != "" {
		if err := meta.CheckTopicName(h.Topic); err != nil {
			return errorResponse(req, err)
		}
	}
	limit := int(h.MaxCount)
	switch {
	case limit <= 0:
		limit = defaultTimerList
	case limit > maxTimerList:
		limit = maxTimerList
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminWait)
	defer cancel()
	ps, more, err := b.sched.List(ctx, h.Topic, limit)
	if err != nil {
		if errors.Is(err, schedule.ErrClosed) {
			err = reject(errNotAvailable, "broker %s is shutting down", b.opts.BrokerName)
		}
		return errorResponse(req, err)
	}
	l := body.TimerMessageList{BrokerName: b.opts.BrokerName, More: more, Now: b.storeNow().UnixMilli(),
		Timers: make([]body.TimerMessage, 0, len(ps))}
	for _, p := range ps {
		l.Timers = append(l.Timers, timerEntry(p))
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = l.Encode()
	return resp
}

// timerEntry describes one pending scheduled record by its real destination.
func timerEntry(p schedule.Pending) body.TimerMessage {
	rec := p.Record
	props := message.RecordProperties(rec)
	prop := func(k string) string {
		v, _ := message.PropertyOf(props, k)
		return v
	}
	qid, _ := strconv.ParseInt(prop(message.PropRealQueueID), 10, 32)
	return body.TimerMessage{
		CommitLogOffset:  message.RecordPhysicalOffset(rec),
		Topic:            prop(message.PropRealTopic),
		QueueID:          int32(qid),
		MsgID:            prop(message.PropUniqKey),
		OffsetMsgID:      message.OffsetMsgID(message.RecordStoreHost(rec), message.RecordPhysicalOffset(rec)),
		Tags:             prop(message.PropTags),
		Keys:             prop(message.PropKeys),
		StoreTimestamp:   message.RecordStoreTimestamp(rec),
		DeliverTimestamp: p.DueMS,
		DelayLevel:       int32(p.Level),
		BodySize:         int32(len(message.RecordBody(rec))),
	}
}
