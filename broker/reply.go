package broker

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/rocketgo/rocketgo/broker/internal/reply"
	"github.com/rocketgo/rocketgo/broker/metrics"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// handleSendReply serves SEND_REPLY_MESSAGE (324, long header) and
// SEND_REPLY_MESSAGE_V2 (325, short header) — ReplyMessageProcessor.java. A responder
// sends the answer to a request; the broker pushes it with PUSH_REPLY_MESSAGE_TO_CLIENT
// (326) over the connection of the client named in REPLY_TO_CLIENT (the requester's
// client id, as its heartbeat registered it) and, with storeReplyMessageEnable, also
// appends a copy to the reply's topic (<cluster>_REPLY_TOPIC).
//
// The answer to the responder reflects the push: SUCCESS once the requester took the
// reply, SYSTEM_ERROR with a remark when the requester is not connected here or did
// not take it (the reply is then lost for the requester, as in RocketMQ). A reply
// without REPLY_TO_CLIENT or CORRELATION_ID is refused with MESSAGE_ILLEGAL before
// anything is stored. The push runs on its own goroutine: the event loop that would
// read the requester's answer must not wait for it.
func (b *Broker) handleSendReply(conn *server.Conn, req *codec.Command) *codec.Command {
	h, err := header.DecodeSend(req.Code, req.ExtFields)
	if err != nil {
		return b.sendError(req, err)
	}
	if err := b.refuseSendOnSlave(); err != nil { // role.go
		return b.sendError(req, err)
	}
	replyTo, _ := message.PropertyOf([]byte(h.Properties), message.PropReplyToClient)
	corrID, _ := message.PropertyOf([]byte(h.Properties), message.PropCorrelationID)
	if replyTo == "" || corrID == "" {
		return b.sendError(req, reject(errMessageIllegal,
			"reply message properties[%s] and [%s] are required (got %q, %q): a reply answers one request of one client",
			message.PropReplyToClient, message.PropCorrelationID, replyTo, corrID))
	}
	if h.Batch || message.TxType(h.SysFlag) != message.TxNotType {
		return b.sendError(req, reject(errMessageIllegal, "a reply is one plain message: batch %t, sysFlag %d (correlation id %s)", h.Batch, h.SysFlag, corrID))
	}
	if err := b.checkBodySize(len(req.Body)); err != nil {
		return b.sendError(req, err)
	}
	sb := sendBufPool.Get().(*sendBuf)
	defer putSendBuf(sb)
	var sp propScan
	sb.props, sp = b.rewriteProps(sb.props[:0], h.Properties) // send.go: drops WAIT, sets CLUSTER
	if sp.unsupported != "" || sp.sched.set {
		return b.sendError(req, reject(errNotSupported, "a reply is delivered at once: DELAY, TIMER_* and transactions do not apply (correlation id %s)", corrID))
	}
	dst, err := b.sendCheck(&h.SendMessageRequest, req.Version, false) // send.go
	if err != nil {
		return b.sendError(req, err)
	}
	props := string(sb.props)
	now := b.now().UnixMilli()

	pushed := make(chan error, 1)
	if target, ok := b.clients.RequesterConn(replyTo); ok {
		push := reply.PushCommand(conn.RemoteAddr().String(), b.storeHost().String(), &h.SendMessageRequest, dst.queueID, props, now, req.Body)
		go func() { pushed <- reply.Push(target, replyTo, push) }()
	} else {
		b.log.Warn().Str("requester", replyTo).Str("correlation_id", corrID).Str("replier", conn.RemoteAddr().String()).
			Str("topic", h.Topic).Msg("reply dropped: the requester is not connected to this broker")
		pushed <- fmt.Errorf("push reply message fail, channel of <%s> not found.", replyTo)
	}

	stored := false
	var res store.PutResult
	m := message.Ext{
		Topic:          dst.topic,
		QueueID:        dst.queueID,
		Flag:           h.Flag,
		SysFlag:        h.SysFlag &^ (message.FlagBornHostV6 | message.FlagStoreHostV6 | message.FlagMultiTags),
		BornTimestamp:  h.BornTimestamp,
		BornHost:       conn.RemoteAddr(),
		StoreHost:      b.storeHost(),
		ReconsumeTimes: h.ReconsumeTimes,
		Body:           req.Body,
	}
	if b.opts.StoreReplyMessageEnable {
		if sb.rec, err = message.EncodeRecordProps(sb.rec[:0], &m, props); err == nil {
			res, err = b.putDst.Put(sb.rec)
		}
		if err != nil {
			// The copy is an audit trail; the push decides the answer (as in RocketMQ).
			b.log.Warn().Err(err).Str("correlation_id", corrID).Str("topic", dst.topic).Msg("reply not stored")
		} else {
			stored = true
		}
	}

	durable := make(chan error, 1)
	if stored && b.waitsForDurability() && !sp.noWait {
		b.onDurable(res.EndOffset, func(err error) { durable <- err })
	} else {
		durable <- nil
	}
	host, qid, start := m.StoreHost, dst.queueID, metrics.Mono()
	go func() {
		perr := <-pushed
		if ferr := <-durable; ferr != nil {
			b.log.Warn().Err(ferr).Str("correlation_id", corrID).Msg("stored reply not durable")
		}
		resp := b.replyAnswer(req, perr, stored, host, qid, res)
		if err := b.replyLate(conn, req, resp, start, false); err != nil {
			b.log.Debug().Err(err).Uint64("conn", conn.ID()).Msg("reply answer dropped")
		}
	}()
	return nil
}

// replyAnswer is the answer to a SEND_REPLY_MESSAGE: the push's outcome as code and
// remark, and where the copy was stored (msgId "0" and offset 0 when it was not, which
// clients decode without error).
func (b *Broker) replyAnswer(req *codec.Command, pushErr error, stored bool, host netip.AddrPort, queueID int32, res store.PutResult) *codec.Command {
	c, remark := int32(code.Success), ""
	if pushErr != nil {
		c, remark = code.SystemError, pushErr.Error()
	}
	if stored {
		return b.sendOK(req, c, remark, host, queueID, res, nil) // send.go
	}
	resp := req.NewResponse(c, remark)
	resp.ExtFields["msgId"] = "0"
	resp.ExtFields["queueId"] = strconv.FormatInt(int64(queueID), 10)
	resp.ExtFields["queueOffset"] = "0"
	b.addSendExt(resp)
	return resp
}
