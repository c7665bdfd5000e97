package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// PendingTransaction is a half message a broker holds without an outcome: its producer
// has not committed or rolled it back, and the check-backs have not settled it yet.
type PendingTransaction struct {
	BrokerAddr string // the broker holding it
	BrokerName string
	// CommitLogOffset identifies it on its broker (ResolveTransaction takes it).
	CommitLogOffset int64
	// QueueOffset is its offset in the broker's half queue.
	QueueOffset   int64
	ProducerGroup string
	// MessageQueue is where it goes once committed (topic without namespace).
	MessageQueue MessageQueue
	MsgID        string // the transaction id (UNIQ_KEY)
	OffsetMsgID  string
	Stored       time.Time
	Age          time.Duration // by the broker's clock
	Checks       int           // check-backs sent so far
	LastCheck    time.Time     // zero if none
}

// PendingTransactions lists the unresolved half messages of a producer group (every
// group when group is ""), oldest first, on every broker of target, at most limit per
// broker (0: the broker's default of 1000). It uses the rocketgo extension request
// LIST_PENDING_TRANSACTIONS (2100); an Apache RocketMQ broker answers it
// REQUEST_CODE_NOT_SUPPORTED, reported as an error wrapping ErrNotSupported.
func (a *Admin) PendingTransactions(ctx context.Context, group string, limit int32, target Target) ([]PendingTransaction, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	addrs, err := a.targetAddrs(ctx, target)
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out []PendingTransaction
	)
	if group != "" {
		group = a.wrap(group)
	}
	err = a.eachBroker(ctx, addrs, func(ctx context.Context, addr string) error {
		req := header.ListPendingTransactionsRequest{ProducerGroup: group, MaxCount: limit}
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.ListPendingTransactions, req.Encode(), nil))
		if err != nil {
			return err
		}
		l, err := body.DecodePendingTransactionList(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: pending transactions: %w", ErrBadResponse, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range l.Transactions {
			pt := PendingTransaction{
				BrokerAddr:      addr,
				BrokerName:      l.BrokerName,
				CommitLogOffset: p.CommitLogOffset,
				QueueOffset:     p.TranStateTableOffset,
				ProducerGroup:   a.unwrap(p.ProducerGroup),
				MessageQueue:    MessageQueue{Topic: a.unwrap(p.Topic), BrokerName: l.BrokerName, QueueID: p.QueueID},
				MsgID:           p.MsgID,
				OffsetMsgID:     p.OffsetMsgID,
				Stored:          time.UnixMilli(p.StoreTimestamp),
				Age:             time.Duration(p.AgeMillis) * time.Millisecond,
				Checks:          p.CheckTimes,
			}
			if p.LastCheckTimestamp != 0 {
				pt.LastCheck = time.UnixMilli(p.LastCheckTimestamp)
			}
			out = append(out, pt)
		}
		return nil
	}, "list pending transactions")
	slices.SortFunc(out, func(x, y PendingTransaction) int {
		if c := x.Stored.Compare(y.Stored); c != 0 {
			return c
		}
		return cmp.Compare(x.BrokerAddr, y.BrokerAddr)
	})
	return out, err
}

// ResolveTransaction commits (commit true) or rolls back a pending half message by
// hand, as its producer's END_TRANSACTION would: for transactions whose producer group
// can no longer answer check-backs. It uses the rocketgo extension request
// RESOLVE_PENDING_TRANSACTION (2101). Resolving a transaction again the same way
// succeeds and changes nothing; the other way fails with the broker's explanation.
func (a *Admin) ResolveTransaction(ctx context.Context, p PendingTransaction, commit bool) error {
	if err := a.check(); err != nil {
		return err
	}
	req := header.ResolvePendingTransactionRequest{CommitLogOffset: p.CommitLogOffset, CommitOrRollback: header.TxRollback}
	if commit {
		req.CommitOrRollback = header.TxCommit
	}
	if p.ProducerGroup != "" {
		req.ProducerGroup = a.wrap(p.ProducerGroup)
	}
	if err := a.expectSuccess(ctx, p.BrokerAddr, codec.NewRequest(code.ResolvePendingTransaction, req.Encode(), nil)); err != nil {
		return fmt.Errorf("resolve transaction %s at %d on %s: %w", p.MsgID, p.CommitLogOffset, p.BrokerAddr, err)
	}
	return nil
}
