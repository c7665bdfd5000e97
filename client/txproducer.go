package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// LocalTransactionState is the outcome of a local transaction, as a
// TransactionListener reports it (the official clients' LocalTransactionState).
type LocalTransactionState int

// Local transaction states.
const (
	// CommitTransaction: the local transaction committed; deliver the message.
	CommitTransaction LocalTransactionState = iota + 1
	// RollbackTransaction: it rolled back; the message is never delivered.
	RollbackTransaction
	// UnknownTransaction: not decided yet; the broker asks again later through
	// TransactionListener.CheckLocalTransaction (every transactionCheckInterval, from
	// transactionTimeOut after the send, at most transactionCheckMax times).
	UnknownTransaction
)

// String returns the official clients' name of the state.
func (s LocalTransactionState) String() string {
	switch s {
	case CommitTransaction:
		return "COMMIT_MESSAGE"
	case RollbackTransaction:
		return "ROLLBACK_MESSAGE"
	case UnknownTransaction:
		return "UNKNOW"
	}
	return fmt.Sprintf("LocalTransactionState(%d)", int(s))
}

// TransactionListener runs the local half of a transaction and answers the broker's
// questions about it. Both methods may run concurrently (checks on worker goroutines);
// a panic counts as UnknownTransaction.
type TransactionListener interface {
	// ExecuteLocalTransaction runs the local transaction that goes with msg, whose
	// half message is stored but not deliverable yet. msg carries its transaction id
	// in the UNIQ_KEY property (TransactionID(msg)); arg is what was passed to
	// SendMessageInTransaction.
	ExecuteLocalTransaction(ctx context.Context, msg *Message, arg any) LocalTransactionState
	// CheckLocalTransaction tells the broker how the transaction of msg ended, when
	// the broker did not learn it from the send (the producer crashed, END_TRANSACTION
	// was lost, or the outcome was UnknownTransaction). It may be asked of any
	// producer of the group, so it must answer from shared state (a database), not
	// from this process's memory.
	CheckLocalTransaction(ctx context.Context, msg *MessageExt) LocalTransactionState
}

// TransactionFuncs adapts two functions to a TransactionListener.
type TransactionFuncs struct {
	Execute func(ctx context.Context, msg *Message, arg any) LocalTransactionState
	Check   func(ctx context.Context, msg *MessageExt) LocalTransactionState
}

// ExecuteLocalTransaction implements TransactionListener.
func (f TransactionFuncs) ExecuteLocalTransaction(ctx context.Context, msg *Message, arg any) LocalTransactionState {
	return f.Execute(ctx, msg, arg)
}

// CheckLocalTransaction implements TransactionListener.
func (f TransactionFuncs) CheckLocalTransaction(ctx context.Context, msg *MessageExt) LocalTransactionState {
	return f.Check(ctx, msg)
}

// TransactionID returns the transaction id of a message sent in a transaction: its
// UNIQ_KEY, which is also the message id consumers see.
func TransactionID(msg *Message) string { return msg.Property(PropertyUniqKey) }

// TransactionSendResult is the result of SendMessageInTransaction.
type TransactionSendResult struct {
	SendResult
	// State is the local transaction's outcome, as sent to the broker.
	State LocalTransactionState
	// EndError is why END_TRANSACTION could not be delivered, nil when it was (or when
	// State is UnknownTransaction, which sends none). The transaction is not lost
	// either way: the broker checks back until it learns the outcome.
	EndError error
}

// Check-back handling bounds.
const (
	txCheckWorkers = 4
	txCheckQueue   = 1024
	// txCheckTimeout bounds one CheckLocalTransaction plus its END_TRANSACTION.
	txCheckTimeout = 30 * time.Second
	// txEndTimeout bounds one END_TRANSACTION.
	txEndTimeout = 3 * time.Second
)

// TransactionProducer sends messages whose delivery is tied to a local transaction
// (RocketMQ's transactional messages, docs/protocol.md §7):
//
//  1. SendMessageInTransaction stores a half message: kept by the broker, invisible
//     to consumers.
//  2. It then runs the listener's ExecuteLocalTransaction — the database write that
//     the message announces.
//  3. It tells the broker the outcome (END_TRANSACTION): commit makes the message
//     deliverable, rollback drops it, unknown leaves it to the check-back.
//  4. Whenever the broker has a half message without outcome past its timeout (the
//     producer died between 1 and 3, the answer was lost, the state was unknown), it
//     asks a live producer of the group, which runs CheckLocalTransaction and
//     answers.
//
// Consumers thus receive the message exactly when the local transaction committed.
// A TransactionProducer is also a Producer: Send and the rest work as usual.
type TransactionProducer struct {
	*Producer
	listener TransactionListener

	mu      sync.Mutex // guards the fields below, Start and Shutdown
	remove  func()
	workers sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc

	// checks is the queue of the check workers. A transport goroutine may still be
	// in onCheck when Shutdown closes it, so sends and the close go through chMu.
	chMu     sync.RWMutex
	checks   chan checkTask
	chClosed bool
}

// checkTask is one CHECK_TRANSACTION_STATE to answer.
type checkTask struct {
	addr string
	hdr  header.CheckTransactionStateRequest
	msg  *MessageExt
}

// NewTransactionProducer returns a transactional producer of the group set by
// WithProducerGroup. Every producer of a group must be able to answer checks for the
// others' transactions.
func NewTransactionProducer(listener TransactionListener, opts ...ProducerOption) (*TransactionProducer, error) {
	if listener == nil {
		return nil, fmt.Errorf("new transaction producer: %w: nil listener", ErrInvalidOption)
	}
	p, err := NewProducer(opts...)
	if err != nil {
		return nil, err
	}
	return &TransactionProducer{Producer: p, listener: listener}, nil
}

// Start starts the producer and begins answering the broker's check-backs.
func (tp *TransactionProducer) Start(ctx context.Context) error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if err := tp.Producer.Start(ctx); err != nil {
		return err
	}
	tp.ctx, tp.cancel = context.WithCancel(context.Background())
	tp.chMu.Lock()
	tp.checks = make(chan checkTask, txCheckQueue)
	tp.chMu.Unlock()
	for i := 0; i < txCheckWorkers; i++ {
		tp.workers.Add(1)
		go tp.checkWorker()
	}
	tp.remove = tp.inst.handle(code.CheckTransactionState, tp.onCheck)
	return nil
}

// Shutdown stops answering check-backs (those being answered finish, bounded by ctx
// for the listener), then shuts the producer down. Safe to call more than once.
func (tp *TransactionProducer) Shutdown(ctx context.Context) error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.remove != nil {
		tp.remove()
		tp.remove = nil
		tp.chMu.Lock()
		tp.chClosed = true
		close(tp.checks)
		tp.chMu.Unlock()
		done := make(chan struct{})
		go func() { tp.workers.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			tp.cancel() // listeners see their context end; END_TRANSACTIONs fail fast
			<-done
		}
		tp.cancel()
	}
	return tp.Producer.Shutdown(ctx)
}

// SendMessageInTransaction sends msg as a half message, runs the listener's
// ExecuteLocalTransaction with arg, and sends the outcome to the broker. It fails only
// when the half message was not stored, in which case the local transaction was not
// run. A delay level is refused: a transactional message is delivered when it
// commits. msg itself is not modified; the listener gets a copy carrying the
// transaction properties and the UNIQ_KEY.
func (tp *TransactionProducer) SendMessageInTransaction(ctx context.Context, msg *Message, arg any) (*TransactionSendResult, error) {
	if msg == nil {
		return nil, fmt.Errorf("%w: no message", ErrInvalidMessage)
	}
	if msg.DelayLevel() > 0 {
		return nil, fmt.Errorf("%w: a transactional message cannot have a delay level", ErrInvalidMessage)
	}
	props := msg.propertyMap()
	m := &Message{Topic: msg.Topic, Body: msg.Body, Flag: msg.Flag, Properties: make(map[string]string, len(props)+3)}
	for k, v := range props {
		m.Properties[k] = v
	}
	m.Properties[message.PropTranMsg] = "true"
	m.Properties[message.PropProducerGroup] = tp.groupName
	if m.Properties[message.PropUniqKey] == "" {
		m.Properties[message.PropUniqKey] = message.NewUniqID()
	}
	res, err := tp.sendHalf(ctx, m)
	if err != nil {
		return nil, err
	}
	state := UnknownTransaction
	switch res.Status {
	case SendOK:
		state = tp.execute(ctx, m, arg)
	default:
		// Stored, but not as durably as configured: the official client rolls back.
		state = RollbackTransaction
	}
	out := &TransactionSendResult{SendResult: *res, State: state}
	if state != UnknownTransaction {
		out.EndError = tp.endTransaction(ctx, res, state)
	}
	tp.traceEndTransaction(m, res, tp.inst.masterAddr(res.MessageQueue.BrokerName), res.TransactionID, state, false)
	return out, nil
}

// sendHalf is Send with the half-message sysflag (TRANSACTION_PREPARED_TYPE) set, as
// the official clients set it next to TRAN_MSG=true.
func (tp *TransactionProducer) sendHalf(ctx context.Context, m *Message) (*SendResult, error) {
	out, err := tp.prepare([]*Message{m})
	if err != nil {
		return nil, err
	}
	out.sysFlag |= message.TxPreparedType
	if !tp.track.begin() {
		return nil, ErrNotStarted
	}
	defer tp.track.end()
	return tp.sendSync(ctx, out)
}

// execute runs ExecuteLocalTransaction, a panic counting as UnknownTransaction.
func (tp *TransactionProducer) execute(ctx context.Context, m *Message, arg any) (state LocalTransactionState) {
	defer func() {
		if r := recover(); r != nil {
			tp.log.Error().Str("panic", fmt.Sprint(r)).Str("msg_id", TransactionID(m)).Msg("local transaction panicked; state unknown")
			state = UnknownTransaction
		}
	}()
	return normalState(tp.listener.ExecuteLocalTransaction(ctx, m, arg))
}

// normalState maps anything but commit and rollback to unknown.
func normalState(s LocalTransactionState) LocalTransactionState {
	if s == CommitTransaction || s == RollbackTransaction {
		return s
	}
	return UnknownTransaction
}

// txType is the END_TRANSACTION commitOrRollback value of s.
func txType(s LocalTransactionState) int32 {
	switch s {
	case CommitTransaction:
		return header.TxCommit
	case RollbackTransaction:
		return header.TxRollback
	}
	return header.TxUnknown
}

// endTransaction sends the outcome of the transaction whose half message res
// describes to the broker that stored it.
func (tp *TransactionProducer) endTransaction(ctx context.Context, res *SendResult, state LocalTransactionState) error {
	_, off, err := message.ParseOffsetMsgID(res.OffsetMsgID)
	if err != nil {
		return fmt.Errorf("end transaction %s: half message id %q: %w", res.MsgID, res.OffsetMsgID, err)
	}
	addr := tp.inst.masterAddr(res.MessageQueue.BrokerName)
	if addr == "" {
		return fmt.Errorf("end transaction %s: %w: %s", res.MsgID, ErrBrokerNotFound, res.MessageQueue.BrokerName)
	}
	h := header.EndTransactionRequest{
		ProducerGroup:        tp.groupName,
		TranStateTableOffset: res.QueueOffset,
		CommitLogOffset:      off,
		CommitOrRollback:     txType(state),
		MsgID:                res.MsgID,
		TransactionID:        res.TransactionID,
	}
	return tp.sendEnd(ctx, addr, &h)
}

// sendEnd sends one END_TRANSACTION and waits for the broker's answer (the official
// client sends it without waiting; the answer tells a failure apart here).
func (tp *TransactionProducer) sendEnd(ctx context.Context, addr string, h *header.EndTransactionRequest) error {
	ctx, cancel := context.WithTimeout(ctx, txEndTimeout)
	defer cancel()
	resp, err := tp.inst.invoke(ctx, addr, codec.NewRequest(code.EndTransaction, h.Encode(), nil))
	if err != nil {
		return fmt.Errorf("end transaction %s: %w", h.MsgID, err)
	}
	if resp.Code != code.Success {
		return fmt.Errorf("end transaction %s via %s: %w", h.MsgID, addr, brokerErr(resp.Code, resp.Remark))
	}
	return nil
}

// onCheck takes a CHECK_TRANSACTION_STATE off the transport: it runs on a transport
// goroutine, so it only queues the check. Checks for other groups are not ours (nil
// lets the next handler of the instance look); a full queue drops the check, which
// the broker repeats next round. The broker expects no answer.
func (tp *TransactionProducer) onCheck(addr string, req *codec.Command) *codec.Command {
	var h header.CheckTransactionStateRequest
	if err := h.Decode(req.ExtFields); err != nil {
		tp.log.Warn().Err(err).Str("addr", addr).Msg("check transaction: bad header")
		return nil
	}
	msgs, err := DecodeMessages(req.Body)
	if err != nil || len(msgs) != 1 {
		tp.log.Warn().Err(err).Int("messages", len(msgs)).Str("addr", addr).Msg("check transaction: bad body")
		return nil
	}
	m := msgs[0]
	if m.Property(message.PropProducerGroup) != tp.groupName {
		return nil
	}
	m.Topic = tp.unwrap(m.Topic)
	m.Queue.Topic = m.Topic
	tp.chMu.RLock()
	defer tp.chMu.RUnlock()
	if tp.chClosed {
		return nil
	}
	select {
	case tp.checks <- checkTask{addr: addr, hdr: h, msg: m}:
	default:
		tp.log.Warn().Str("msg_id", m.MsgID).Msg("check transaction: too many checks queued; the broker will ask again")
	}
	return nil
}

// checkWorker answers queued checks until Shutdown.
func (tp *TransactionProducer) checkWorker() {
	defer tp.workers.Done()
	for task := range tp.checks {
		tp.answerCheck(task)
	}
}

// answerCheck runs CheckLocalTransaction for one check and sends the outcome back to
// the broker that asked, echoing its offsets; an unknown outcome sends nothing.
func (tp *TransactionProducer) answerCheck(task checkTask) {
	ctx, cancel := context.WithTimeout(tp.ctx, txCheckTimeout)
	defer cancel()
	state := tp.check(ctx, task.msg)
	if state == UnknownTransaction {
		return
	}
	txID := task.msg.Property("__transactionId__")
	if txID == "" {
		txID = task.msg.MsgID
	}
	h := header.EndTransactionRequest{
		ProducerGroup:        tp.groupName,
		TranStateTableOffset: task.hdr.TranStateTableOffset,
		CommitLogOffset:      task.hdr.CommitLogOffset,
		CommitOrRollback:     txType(state),
		FromTransactionCheck: true,
		MsgID:                task.msg.MsgID,
		TransactionID:        txID,
	}
	if err := tp.sendEnd(ctx, task.addr, &h); err != nil {
		tp.log.Warn().Err(err).Str("addr", task.addr).Msg("answer check transaction")
	}
}

// check runs CheckLocalTransaction, a panic counting as UnknownTransaction.
func (tp *TransactionProducer) check(ctx context.Context, m *MessageExt) (state LocalTransactionState) {
	defer func() {
		if r := recover(); r != nil {
			tp.log.Error().Str("panic", fmt.Sprint(r)).Str("msg_id", m.MsgID).Msg("transaction check panicked; state unknown")
			state = UnknownTransaction
		}
	}()
	return normalState(tp.listener.CheckLocalTransaction(ctx, m))
}
