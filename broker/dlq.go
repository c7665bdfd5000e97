package broker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/retry"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// Dead-letter administration, rocketgo extensions (proto/code/schedule.go): list a
// group's dead letters (2200) and send them back to the group (2201). A group has one
// DLQ queue, %DLQ%<group> queue 0, created on its first dead letter.

// Bounds of the DLQ requests.
const (
	defaultDLQList   = 32
	defaultDLQResend = 1
	maxDLQCount      = 1024
)

// dlqRead reads up to count dead letters of group from queue offset off. The body is
// bounded by half a frame, as a pull's.
func (b *Broker) dlqRead(group string, off int64, count int) (store.GetResult, error) {
	if err := meta.CheckGroupName(group); err != nil {
		return store.GetResult{}, err
	}
	topic := meta.DLQGroupTopicPrefix + group
	if _, ok := b.topics.Get(topic); !ok {
		return store.GetResult{}, errNoDLQ(group)
	}
	return b.store.GetMessages(topic, 0, max(off, 0), count, b.opts.MaxFrameBytes/2, nil), nil
}

// handleListDLQ serves LIST_DLQ_MESSAGES (2200): the dead letters as stored records
// (a PULL_MESSAGE body), with nextBeginOffset, minOffset and maxOffset.
func (b *Broker) handleListDLQ(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.DLQRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	count, err := retry.ParseCount(h.MaxCount, defaultDLQList, maxDLQCount)
	if err != nil {
		return errorResponse(req, err)
	}
	res, err := b.dlqRead(h.ConsumerGroup, h.Offset, count)
	if err != nil {
		return errorResponse(req, err)
	}
	resp := req.NewResponse(code.Success, res.Status.String())
	resp.ExtFields["nextBeginOffset"] = strconv.FormatInt(retry.DLQNext(h.Offset, res), 10)
	resp.ExtFields["minOffset"] = strconv.FormatInt(res.MinOffset, 10)
	resp.ExtFields["maxOffset"] = strconv.FormatInt(res.MaxOffset, 10)
	if res.Status == store.Found {
		// A copy: the worker pool answers after the handler returns, and the mapped
		// slices are only guaranteed for ReadGrace.
		buf := make([]byte, 0, res.Bytes)
		for _, r := range res.Records {
			buf = append(buf, r...)
		}
		resp.Body = buf
	}
	return resp
}

// handleResendDLQ serves RESEND_DLQ_MESSAGES (2201): each dead letter read is stored
// again in %RETRY%<group> with reconsume times 0, no delay, and its properties (so
// RETRY_TOPIC brings it back under its original topic). The answer carries resent and
// nextBeginOffset; it is sent once the copies are durable.
func (b *Broker) handleResendDLQ(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.DLQRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if err := b.refuseSendOnSlave(); err != nil {
		return errorResponse(req, err)
	}
	count, err := retry.ParseCount(h.MaxCount, defaultDLQResend, maxDLQCount)
	if err != nil {
		return errorResponse(req, err)
	}
	res, err := b.dlqRead(h.ConsumerGroup, h.Offset, count)
	if err != nil {
		return errorResponse(req, err)
	}
	sg, err := b.groups.Ensure(h.ConsumerGroup)
	if err != nil {
		return errorResponse(req, err)
	}
	tc, err := b.topics.EnsureRetry(h.ConsumerGroup, sg.GetRetryQueueNums())
	if err != nil {
		return errorResponse(req, err)
	}
	if tc.GetPerm()&body.PermWrite == 0 {
		return errorResponse(req, reject(errNoPermission, "the topic[%s] sending message is forbidden (perm %d)", tc.GetTopicName(), tc.GetPerm()))
	}
	n, end := 0, int64(-1)
	for _, rec := range res.Records {
		enc, err := b.resendRecord(rec, tc.GetTopicName(), rand.Int32N(max(tc.GetWriteQueueNums(), 1)))
		if err != nil {
			return errorResponse(req, fmt.Errorf("resend dead letter at DLQ offset %d (after %d resent): %w",
				message.RecordQueueOffset(rec), n, err))
		}
		r, err := b.putDst.Put(enc)
		if err != nil {
			return errorResponse(req, err)
		}
		n, end = n+1, r.EndOffset
	}
	if end >= 0 && b.waitsForDurability() {
		ctx, cancel := context.WithTimeout(context.Background(), adminWait)
		defer cancel()
		if err := b.waitDurable(ctx, end); err != nil {
			return errorResponse(req, err)
		}
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields["resent"] = strconv.Itoa(n)
	resp.ExtFields["nextBeginOffset"] = strconv.FormatInt(retry.DLQNext(h.Offset, res), 10)
	return resp
}

// resendRecord encodes a dead letter for the retry topic: same body, flag, born time
// and host and properties (without scheduling marks), reconsume times 0.
func (b *Broker) resendRecord(rec []byte, topic string, queueID int32) ([]byte, error) {
	old, _, err := message.DecodeRecord(rec)
	if err != nil {
		return nil, err
	}
	m := retry.Copy(old, b.storeHost(), 0)
	m.Topic, m.QueueID = topic, queueID
	return message.EncodeRecord(nil, m)
}

// waitDurable blocks until the record ending at end is durable (see onDurable), or ctx
// ends. It is for handlers on the worker pool only.
func (b *Broker) waitDurable(ctx context.Context, end int64) error {
	done := make(chan error, 1)
	b.onDurable(end, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return reject(errNotAvailable, "the resent messages are stored but not yet durable: %v", ctx.Err())
	}
}
