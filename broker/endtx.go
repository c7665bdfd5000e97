package broker

import (
	"context"
	"fmt"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
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
		b.txn.log.Debug().Str("group", h.ProducerGroup).Int64("offset", h.CommitLogOffset).
			Str("msg_id", h.MsgID).Bool("from_check", h.FromTransactionCheck).Msg("transaction state unknown")
		return req.NewResponse(code.Success, "transaction state unknown; the broker will check back")
	default:
		return errorResponse(req, reject(errBadRequest, "commitOrRollback %d: want 8 (commit), 12 (rollback) or 0 (unknown)", h.CommitOrRollback))
	}
	remark, err := b.txn.resolve(h.CommitLogOffset, want, &h)
	if err != nil {
		b.txn.log.Debug().Err(err).Str("group", h.ProducerGroup).Int64("offset", h.CommitLogOffset).
			Str("msg_id", h.MsgID).Bool("from_check", h.FromTransactionCheck).Msg("end transaction refused")
		return errorResponse(req, err)
	}
	return req.NewResponse(code.Success, remark)
}

// resolve writes the resolution want for the half message at off. With h (an
// END_TRANSACTION) the half message must belong to h's producer group and half-queue
// offset; without (the admin extension) any pending half message may be resolved.
// A resolution already written (or being written) answers with a remark and no error
// when it is want, and an error when it is the other one.
func (t *txnService) resolve(off int64, want txn.Outcome, h *header.EndTransactionRequest) (string, error) {
	b := t.b
	if b.closing.Load() {
		return "", reject(errNotAvailable, "broker %s is shutting down", b.opts.BrokerName)
	}
	if b.isSlave() {
		return "", reject(errSlaveNotAvailable, "broker %s is a slave (brokerId %d): END_TRANSACTION goes to its master",
			b.opts.BrokerName, b.opts.BrokerID)
	}
	if off < 0 || off >= b.store.MaxPhysicalOffset() {
		return "", reject(errBadRequest, "no half message at commitLogOffset %d: the log holds [%d, %d)",
			off, b.store.MinPhysicalOffset(), b.store.MaxPhysicalOffset())
	}
	// The half message's send was answered once it was in the log; the set learns of
	// it from the dispatcher a moment later.
	ctx, cancel := context.WithTimeout(context.Background(), txnWait)
	defer cancel()
	if err := t.set.WaitApplied(ctx, off); err != nil {
		return "", reject(errSystemBusy, "half message at %d not dispatched yet; try again", off)
	}
	e, st, prev := t.set.Claim(off, want)
	switch st {
	case txn.InProgress:
		if h != nil {
			if err := checkEndTx(e, h); err != nil {
				return "", err
			}
		}
		return t.already(off, want, prev, "being ")
	case txn.Resolved, txn.NotPending:
		// A repeated END_TRANSACTION is checked like the first one was.
		return t.notPending(off, want, h)
	}
	if h != nil {
		if err := checkEndTx(e, h); err != nil {
			t.set.Release(off)
			return "", err
		}
	}
	rec, err := t.resolutionRecord(e, want)
	var res store.PutResult
	if err == nil {
		res, err = b.putDst.Put(rec)
	}
	if err != nil {
		t.set.Release(off)
		return "", err
	}
	// The claim keeps the entry from being resolved twice until the dispatcher applies
	// the record; waiting for that lets a request right after this answer see it.
	if err := t.set.WaitApplied(ctx, res.PhysicalOffset); err != nil {
		t.log.Debug().Err(err).Int64("offset", off).Msg("resolution not yet dispatched")
	}
	ev := t.log.Debug()
	if h == nil {
		ev = t.log.Info() // by an operator: worth a line
	}
	ev.Str("group", e.Group).Str("topic", e.Topic).Int32("queue_id", e.QueueID).Int64("offset", off).
		Str("msg_id", e.UniqKey).Str("outcome", want.String()).Msg("transaction resolved")
	return "", nil
}

// resolutionRecord builds the record that resolves e as want: the committed message,
// or a rollback op record.
func (t *txnService) resolutionRecord(e txn.Entry, want txn.Outcome) ([]byte, error) {
	if want == txn.OutcomeRolledBack {
		return txn.OpRecords(nil, txn.OpTagRemoved, []int64{e.QueueOffset}, t.b.storeHost(), t.b.now().UnixMilli())
	}
	half, err := t.b.store.ReadRecord(e.Offset)
	if err != nil {
		return nil, reject(errBadRequest, "half message at %d is no longer in the log (%v); it cannot be committed", e.Offset, err)
	}
	rec, err := txn.CommitRecord(nil, half, e.Offset)
	if err != nil {
		return nil, reject(errBadRequest, "half message at %d: %v", e.Offset, err)
	}
	return rec, nil
}

// checkEndTx applies Java's checks of an END_TRANSACTION against its half message.
func checkEndTx(e txn.Entry, h *header.EndTransactionRequest) error {
	if e.Group != h.ProducerGroup {
		return reject(errBadRequest, "the producer group wrong: half message at %d belongs to %q, END_TRANSACTION names %q",
			e.Offset, e.Group, h.ProducerGroup)
	}
	if e.QueueOffset != h.TranStateTableOffset {
		return reject(errBadRequest, "the transaction state table offset wrong: half message at %d has %d, END_TRANSACTION names %d",
			e.Offset, e.QueueOffset, h.TranStateTableOffset)
	}
	return nil
}

// already answers a request for a transaction that is resolved, or being resolved,
// with prev.
func (t *txnService) already(off int64, want, prev txn.Outcome, state string) (string, error) {
	switch {
	case prev == want:
		return fmt.Sprintf("transaction at %d %s%s", off, state, prev), nil
	case prev == txn.OutcomeUnknown:
		return fmt.Sprintf("transaction at %d %sresolved", off, state), nil
	}
	return "", reject(errBadRequest, "transaction at %d %s%s; %s ignored", off, state, prev, verb(want))
}

// notPending answers a request for an offset the set has no pending half message at:
// either none was ever stored there, or its transaction was resolved (perhaps long
// enough ago to be forgotten). The record is read to tell which and to check the
// request against it; it is never acted on, since a record the dispatcher did not take
// for a half message is not trusted as one.
func (t *txnService) notPending(off int64, want txn.Outcome, h *header.EndTransactionRequest) (string, error) {
	rec, err := t.b.store.ReadRecord(off)
	if err != nil || message.RecordTopic(rec) != meta.TopicTransHalf {
		return "", reject(errBadRequest, "no half message at commitLogOffset %d", off)
	}
	if h != nil {
		group, _ := message.PropertyOf(message.RecordProperties(rec), message.PropProducerGroup)
		e := txn.Entry{Offset: off, Group: group, QueueOffset: message.RecordQueueOffset(rec)}
		if err := checkEndTx(e, h); err != nil {
			return "", err
		}
	}
	if o, ok := t.set.Resolution(off); ok {
		return t.already(off, want, o, "already ")
	}
	return fmt.Sprintf("transaction at %d already resolved", off), nil
}

func verb(o txn.Outcome) string {
	if o == txn.OutcomeCommitted {
		return "commit"
	}
	return "rollback"
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
	entries, total := b.txn.set.List(h.ProducerGroup, limit)
	now := b.now()
	host := b.storeHost()
	l := body.PendingTransactionList{BrokerName: b.opts.BrokerName, Now: now.UnixMilli(), Total: total,
		Transactions: make([]body.PendingTransaction, len(entries))}
	for i, e := range entries {
		pt := body.PendingTransaction{
			AgeMillis:            now.Sub(e.StoreTime).Milliseconds(),
			CheckTimes:           e.Checks,
			CommitLogOffset:      e.Offset,
			MsgID:                e.UniqKey,
			OffsetMsgID:          message.OffsetMsgID(host, e.Offset),
			ProducerGroup:        e.Group,
			QueueID:              e.QueueID,
			Topic:                e.Topic,
			StoreTimestamp:       e.StoreTime.UnixMilli(),
			TranStateTableOffset: e.QueueOffset,
		}
		if !e.LastCheck.IsZero() {
			pt.LastCheckTimestamp = e.LastCheck.UnixMilli()
		}
		l.Transactions[i] = pt
	}
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
		if e, ok := b.txn.set.Get(h.CommitLogOffset); ok && e.Group != h.ProducerGroup {
			return errorResponse(req, reject(errBadRequest, "half message at %d belongs to producer group %q, not %q",
				h.CommitLogOffset, e.Group, h.ProducerGroup))
		}
	}
	remark, err := b.txn.resolve(h.CommitLogOffset, want, nil)
	if err != nil {
		return errorResponse(req, err)
	}
	return req.NewResponse(code.Success, remark)
}
