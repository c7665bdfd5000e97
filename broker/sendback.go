package broker

import (
	"math/rand/v2"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/metrics"
	"github.com/rocketgo/rocketgo/broker/retry"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Retry and dead letters (docs/protocol.md §9.3). A consumer that fails a message sends it
// back with CONSUMER_SEND_MSG_BACK; the broker re-sends it to the group's retry topic
// %RETRY%<group> after an escalating delay (level 3 + reconsume times, through
// SCHEDULE_TOPIC_XXXX), or, once it has been reconsumed maxReconsumeTimes times (or the
// consumer asks with delayLevel -1), to the group's dead-letter queue %DLQ%<group>.

// handleSendBack serves CONSUMER_SEND_MSG_BACK (36): look the consumed message up by
// its CommitLog offset and store a copy with reconsume times + 1 in the group's retry
// topic, delayed, or in its DLQ. The Go client ignores the response code and loses the
// message on a transport error only, so the answer is SUCCESS whenever the copy is
// stored, and otherwise says why not.
func (b *Broker) handleSendBack(conn *server.Conn, req *codec.Command) *codec.Command {
	var h header.ConsumerSendMsgBackRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if err := b.refuseSendOnSlave(); err != nil {
		return errorResponse(req, err)
	}
	if b.closing.Load() {
		return errorResponse(req, reject(errNotAvailable, "broker %s is shutting down", b.opts.BrokerName))
	}
	sg, err := b.groups.Ensure(h.Group)
	if err != nil {
		return errorResponse(req, err)
	}
	if sg.GetRetryQueueNums() <= 0 {
		// The group has retry turned off: the message is dropped, as in RocketMQ.
		return req.NewResponse(code.Success, "")
	}
	rec, err := b.store.ReadRecord(h.Offset)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "look message by offset failed, %d: %v", h.Offset, err))
	}
	old, _, err := message.DecodeRecord(rec)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "message at offset %d unreadable: %v", h.Offset, err))
	}
	maxTimes := sg.GetRetryMaxTimes()
	if req.Version >= versionV349 && h.MaxReconsumeTimes != nil {
		maxTimes = *h.MaxReconsumeTimes
	}
	m, props, err := b.sendBackMessage(old, h.Group, sg.GetRetryQueueNums(), h.DelayLevel, maxTimes)
	if err != nil {
		return errorResponse(req, err)
	}
	enc, err := message.EncodeRecordProps(nil, m, props)
	if err != nil {
		return errorResponse(req, err)
	}
	res, err := b.putDst.Put(enc)
	if err != nil {
		return errorResponse(req, err)
	}
	b.log.Debug().Str("group", h.Group).Int64("offset", h.Offset).Str("topic", m.Topic).
		Int32("reconsume_times", m.ReconsumeTimes).Msg("message sent back")
	return b.answerWhenDurable(conn, req, res.EndOffset, nil)
}

// sendBackMessage builds the message a send-back stores and its properties: the old
// message's body, flag, born time and host and properties, with RETRY_TOPIC and
// ORIGIN_MESSAGE_ID kept (or set from the old message) and reconsume times + 1. It goes
// to the DLQ when the old message was reconsumed maxTimes times or delayLevel is
// negative, else to the retry topic at delayLevel (0: 3 + reconsume times).
func (b *Broker) sendBackMessage(old *message.Ext, group string, retryQueues, delayLevel, maxTimes int32) (*message.Ext, string, error) {
	p := old.Properties
	if p[message.PropRetryTopic] == "" {
		p[message.PropRetryTopic] = old.Topic
	}
	if p[message.PropOriginMsgID] == "" {
		p[message.PropOriginMsgID] = message.OffsetMsgID(old.StoreHost, old.PhysicalOffset)
	}
	m := retry.Copy(old, b.storeHost(), old.ReconsumeTimes+1)
	m.Properties = nil
	if retry.ToDLQ(old.ReconsumeTimes, maxTimes, delayLevel) {
		tc, err := b.topics.EnsureDLQ(group)
		if err != nil {
			return nil, "", err
		}
		if tc.GetPerm()&body.PermWrite == 0 {
			return nil, "", reject(errNoPermission, "the topic[%s] sending message is forbidden (perm %d)", tc.GetTopicName(), tc.GetPerm())
		}
		m.Topic, m.QueueID = tc.GetTopicName(), rand.Int32N(max(tc.GetWriteQueueNums(), 1))
		return m, message.EncodeProperties(p), nil
	}
	tc, err := b.topics.EnsureRetry(group, retryQueues)
	if err != nil {
		return nil, "", err
	}
	if tc.GetPerm()&body.PermWrite == 0 {
		return nil, "", reject(errNoPermission, "the topic[%s] sending message is forbidden (perm %d)", tc.GetTopicName(), tc.GetPerm())
	}
	level := retry.Level(delayLevel, old.ReconsumeTimes)
	var props string
	m.Topic, m.QueueID, props = b.delayTarget(tc.GetTopicName(), rand.Int32N(max(tc.GetWriteQueueNums(), 1)),
		message.EncodeProperties(p), level)
	return m, props, nil
}

// answerWhenDurable answers req with SUCCESS (and ext, if any) once the record ending
// at end is as durable as the broker promises: at once in ASYNC_FLUSH, later through
// the connection otherwise, with the flush or replication error if there was one.
func (b *Broker) answerWhenDurable(conn *server.Conn, req *codec.Command, end int64, ext map[string]string) *codec.Command {
	ok := func() *codec.Command {
		resp := req.NewResponse(code.Success, "")
		for k, v := range ext {
			resp.ExtFields[k] = v
		}
		return resp
	}
	if !b.waitsForDurability() {
		return ok()
	}
	start := metrics.Mono()
	b.onDurable(end, func(err error) {
		resp := ok()
		if err != nil {
			resp = errorResponse(req, err)
		}
		if rerr := b.replyLate(conn, req, resp, start, false); rerr != nil {
			b.log.Debug().Err(rerr).Uint64("conn", conn.ID()).Msg("answer dropped")
		}
	})
	return nil
}

// errNoDLQ is the refusal of a DLQ request for a group without dead letters.
func errNoDLQ(group string) error {
	return reject(errNotFound, "consumer group %s has no dead letters (no topic %s%s)", group, meta.DLQGroupTopicPrefix, group)
}
