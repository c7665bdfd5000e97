package broker

import (
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Bounds of LIST_PENDING_TRANSACTIONS.
const (
	defaultPendingList = 1000
	maxPendingList     = 10000
)

// handleEndTransaction serves END_TRANSACTION (37, docs/protocol.md §7.2): commit or roll
// back the half message at commitLogOffset, after checking that it is one, that its
// producer group is the request's and its half-queue offset the request's
// tranStateTableOffset. It runs on the worker pool: it may wait (briefly) for the
// dispatcher.
//
// It is idempotent: a repeated END_TRANSACTION, a late one, or one that answers a
// check-back after another producer already did, changes nothing and answers
// SUCCESS when it asks for the outcome already recorded; asking for the other outcome
// is refused with SYSTEM_ERROR and a remark saying what happened. The official client
// ignores the answer either way; it sends "oneway" without the flag, so it is answered.
func (b *Broker) handleEndTransaction(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.EndTransactionRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	var want txn.Outcome
	switch h.CommitOrRollback {
	case header.TxCommit:
		want = txn.OutcomeCommitted
	case header.TxRollback:
		want = txn.OutcomeRolledBack
	case header.TxUnknown:
		// Java logs this and does nothing: the check-back will ask again.
		b.txn.Log().Debug().Str("group", h.ProducerGroup).Int64("offset", h.CommitLogOffset).
			Str("msg_id", h.MsgID).Bool("from_check", h.FromTransactionCheck).Msg("transaction state unknown")
		return req.NewResponse(code.Success, "transaction state unknown; the broker will check back")
	default:
		return errorResponse(req, reject(errBadRequest, "commitOrRollback %d: want 8 (commit), 12 (rollback) or 0 (unknown)", h.CommitOrRollback))
	}
	remark, err := b.resolveTxn(h.CommitLogOffset, want, &h)
	if err != nil {
		b.txn.Log().Debug().Err(err).Str("group", h.ProducerGroup).Int64("offset", h.CommitLogOffset).
			Str("msg_id", h.MsgID).Bool("from_check", h.FromTransactionCheck).Msg("end transaction refused")
		return errorResponse(req, err)
	}
	return req.NewResponse(code.Success, remark)
}

// resolveTxn refuses a resolution while the broker shuts down or on a slave, and
// otherwise resolves the half message at off (txnsvc.Service.Resolve).
func (b *Broker) resolveTxn(off int64, want txn.Outcome, h *header.EndTransactionRequest) (string, error) {
	if b.closing.Load() {
		return "", reject(errNotAvailable, "broker %s is shutting down", b.opts.BrokerName)
	}
	if b.isSlave() {
		return "", reject(errSlaveNotAvailable, "broker %s is a slave (brokerId %d): END_TRANSACTION goes to its master",
			b.opts.BrokerName, b.opts.BrokerID)
	}
	return b.txn.Resolve(off, want, h)
}

// handleListPendingTransactions serves the rocketgo extension LIST_PENDING_TRANSACTIONS
// (2100): the unresolved half messages, of one producer group or all, oldest first,
// with their age and check count.
func (b *Broker) handleListPendingTransactions(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ListPendingTransactionsRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	limit := int(h.MaxCount)
	switch {
	case limit <= 0:
		limit = defaultPendingList
	case limit > maxPendingList:
		limit = maxPendingList
	}
	l := b.txn.Pending(h.ProducerGroup, limit, b.now(), b.storeHost(), b.opts.BrokerName)
	resp := req.NewResponse(code.Success, "")
	resp.Body = l.Encode()
	return resp
}

// handleResolvePendingTransaction serves the rocketgo extension
// RESOLVE_PENDING_TRANSACTION (2101): an operator commits or rolls back a half message.
func (b *Broker) handleResolvePendingTransaction(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ResolvePendingTransactionRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	var want txn.Outcome
	switch h.CommitOrRollback {
	case header.TxCommit:
		want = txn.OutcomeCommitted
	case header.TxRollback:
		want = txn.OutcomeRolledBack
	default:
		return errorResponse(req, reject(errBadRequest, "commitOrRollback %d: want 8 (commit) or 12 (rollback)", h.CommitOrRollback))
	}
	if h.ProducerGroup != "" {
		if e, ok := b.txn.Set().Get(h.CommitLogOffset); ok && e.Group != h.ProducerGroup {
			return errorResponse(req, reject(errBadRequest, "half message at %d belongs to producer group %q, not %q",
				h.CommitLogOffset, e.Group, h.ProducerGroup))
		}
	}
	remark, err := b.resolveTxn(h.CommitLogOffset, want, nil)
	if err != nil {
		return errorResponse(req, err)
	}
	return req.NewResponse(code.Success, remark)
}
