package broker

import (
	"strings"

	"github.com/rocketgo/rocketgo/broker/internal/txnsvc"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/metrics"
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// maxPendingTransactions bounds the unresolved half messages a broker holds: each
// costs memory in the half-message set (a couple of hundred bytes) and work in every
// check round, and producers that never resolve them would otherwise grow both with
// the log. Past it, half messages are refused with SYSTEM_BUSY until some resolve.
const maxPendingTransactions = 1 << 20

// openTxn opens the transaction service (broker/internal/txnsvc) on the broker's
// store, tables and clock.
func (b *Broker) openTxn() error {
	t, err := txnsvc.Open(txnsvc.Options{
		Dir: b.sopts.Dir,
		Policy: txn.Policy{
			Interval:  b.opts.TransactionCheckInterval,
			Timeout:   b.opts.TransactionTimeout,
			MaxChecks: b.opts.TransactionCheckMax,
			Retention: b.sopts.FileReservedTime,
		},
		Store:     b.store,
		Put:       func(rec []byte) (store.PutResult, error) { return b.putDst.Put(rec) },
		PutBatch:  func(recs []byte) (store.PutResult, error) { return b.putDst.PutBatch(recs) },
		Topics:    b.topics,
		Producers: b.clients.ProducerConns,
		StoreHost: b.storeHost,
		Now:       b.now,
		Passive:   b.isSlave,
		Closing:   b.closing.Load,
		Logger:    b.log,
	})
	if err != nil {
		return err
	}
	b.txn = t
	return nil
}

// isTxSend reports whether a send is transactional, by sysflag or TRAN_MSG, and so
// goes to handleHalfSend. The cheap substring test keeps ordinary sends at one scan
// of their properties.
func isTxSend(h *header.SendMessageRequest) bool {
	return message.TxType(h.SysFlag) != message.TxNotType ||
		strings.Contains(h.Properties, message.PropTranMsg) && txnsvc.TranMsgTrue(h.Properties)
}

// handleHalfSend stores the half message of a transactional send (docs/protocol.md §7.1):
// validated as a send to its real topic (auto-creation included), then written to
// RMQ_SYS_TRANS_HALF_TOPIC queue 0 with REAL_TOPIC, REAL_QID and PGROUP. The answer is
// a send answer: the half message's offset id, the real queue id, and its offset in
// the half queue — the two values END_TRANSACTION names it by.
func (b *Broker) handleHalfSend(conn *server.Conn, req *codec.Command, h *header.SendMessageRequestV2) *codec.Command {
	if err := txnsvc.CheckHalfSend(req.Code, h); err != nil {
		return b.sendError(req, err)
	}
	if n := b.txn.Set().Len(); n >= maxPendingTransactions {
		return b.sendError(req, reject(errSystemBusy, "%d transactions are unresolved on broker %s, the most it holds; resolve some first",
			n, b.opts.BrokerName))
	}
	sb := sendBufPool.Get().(*sendBuf)
	defer putSendBuf(sb)
	var sp propScan
	sb.props, sp = b.rewriteProps(sb.props[:0], h.Properties)
	if f := txnsvc.Undelayable(string(sb.props)); f != "" {
		return b.sendError(req, reject(errMessageIllegal, "a transactional message cannot be delayed (%s, topic %s)", f, h.Topic))
	}
	if err := b.checkBodySize(len(req.Body)); err != nil {
		return b.sendError(req, err)
	}
	rh := h.SendMessageRequest
	rh.SysFlag &^= message.TxMask
	dst, err := b.sendCheck(&rh, req.Version, false)
	if err != nil {
		return b.sendError(req, err)
	}
	sysFlag := h.SysFlag &^ (message.FlagBornHostV6 | message.FlagStoreHostV6 | message.FlagMultiTags | message.TxMask)
	if dst.tc.GetTopicFilterType() == metapb.TopicFilterType_MULTI_TAG {
		sysFlag |= message.FlagMultiTags
	}
	m := message.Ext{
		Topic:          meta.TopicTransHalf,
		Flag:           h.Flag,
		SysFlag:        sysFlag,
		BornTimestamp:  h.BornTimestamp,
		BornHost:       conn.RemoteAddr(),
		StoreHost:      b.storeHost(),
		ReconsumeTimes: h.ReconsumeTimes,
		Body:           req.Body,
	}
	props := txn.HalfProperties(string(sb.props), dst.topic, dst.queueID, h.ProducerGroup)
	if sb.rec, err = message.EncodeRecordProps(sb.rec[:0], &m, props); err != nil {
		return b.sendError(req, err)
	}
	res, err := b.putDst.Put(sb.rec)
	if err != nil {
		return b.sendError(req, err)
	}
	if !b.waitsForDurability() || sp.noWait { // SYNC_FLUSH and SYNC_MASTER wait, as for any send
		return b.sendOK(req, code.Success, "", m.StoreHost, dst.queueID, res, nil)
	}
	host, qid, start := m.StoreHost, dst.queueID, metrics.Mono()
	b.onDurable(res.EndOffset, func(ferr error) {
		c, remark := int32(code.Success), ""
		if ferr != nil {
			c, remark = responseCode(ferr), remarkOf(ferr)
		}
		if err := b.replyLate(conn, req, b.sendOK(req, c, remark, host, qid, res, nil), start, false); err != nil {
			b.log.Debug().Err(err).Uint64("conn", conn.ID()).Msg("send answer dropped")
		}
	})
	return nil
}
