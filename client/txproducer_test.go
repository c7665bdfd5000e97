package client

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// txFake is a fake NameServer and broker that also answer END_TRANSACTION and
// remember the connection a producer heartbeated on, to send it check-backs.
type txFake struct {
	ns *fakeNamesrv
	b  *fakeBroker

	mu   sync.Mutex
	conn *server.Conn
}

func startTxFake(t *testing.T) *txFake {
	t.Helper()
	f := &txFake{ns: startFakeNamesrv(t), b: startFakeBroker(t, "broker-a")}
	f.ns.setRoute("Orders", 4, f.b)
	f.b.srv.Handle(code.EndTransaction, f.b.serve)
	f.b.srv.Handle(code.HeartBeat, func(c *server.Conn, req *codec.Command) *codec.Command {
		f.mu.Lock()
		f.conn = c
		f.mu.Unlock()
		return f.b.serve(c, req)
	})
	return f
}

// recordingListener records what it is asked and answers with its fields.
type recordingListener struct {
	execState  LocalTransactionState
	checkState LocalTransactionState
	panicCheck bool

	mu       sync.Mutex
	executed []*Message
	args     []any
	checked  []*MessageExt
}

func (l *recordingListener) ExecuteLocalTransaction(_ context.Context, msg *Message, arg any) LocalTransactionState {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.executed = append(l.executed, msg)
	l.args = append(l.args, arg)
	return l.execState
}

func (l *recordingListener) CheckLocalTransaction(_ context.Context, msg *MessageExt) LocalTransactionState {
	l.mu.Lock()
	l.checked = append(l.checked, msg)
	explode, state := l.panicCheck, l.checkState
	l.mu.Unlock()
	if explode {
		panic("check exploded")
	}
	return state
}

func (l *recordingListener) counts() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.executed), len(l.checked)
}

func startTxProducer(t *testing.T, f *txFake, l TransactionListener) *TransactionProducer {
	t.Helper()
	tp, err := NewTransactionProducer(l, WithNameServer(f.ns.addr), WithInstanceName(uniqueInstance(t)),
		WithLogger(testLogger(t)), WithProducerGroup("tx-pg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

func TestTransactionProducerOutcomes(t *testing.T) {
	for _, c := range []struct {
		state   LocalTransactionState
		endCode string // "" when no END_TRANSACTION is sent
	}{
		{CommitTransaction, "8"},
		{RollbackTransaction, "12"},
		{UnknownTransaction, ""},
		{LocalTransactionState(99), ""}, // anything else is unknown
	} {
		t.Run(c.state.String(), func(t *testing.T) {
			f := startTxFake(t)
			l := &recordingListener{execState: c.state}
			tp := startTxProducer(t, f, l)
			msg := NewMessage("Orders", []byte("order-1")).WithTags("created")
			res, err := tp.SendMessageInTransaction(context.Background(), msg, "the-arg")
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Properties) != 1 {
				t.Fatalf("caller's message modified: %v", msg.Properties)
			}
			sends := f.b.sends()
			if len(sends) != 1 {
				t.Fatalf("%d sends", len(sends))
			}
			sh, _ := header.DecodeSend(code.SendMessage, sends[0].Ext)
			props := message.DecodeProperties(sh.Properties)
			if sh.SysFlag&message.TxMask != message.TxPreparedType || props[message.PropTranMsg] != "true" ||
				props[message.PropProducerGroup] != "tx-pg" || props[message.PropUniqKey] == "" || sh.ProducerGroup != "tx-pg" {
				t.Fatalf("half send header %+v props %v", sh, props)
			}
			if len(l.executed) != 1 || TransactionID(l.executed[0]) != props[message.PropUniqKey] || l.args[0] != "the-arg" ||
				l.executed[0].Tags() != "created" {
				t.Fatalf("executed %v args %v", l.executed, l.args)
			}
			if res.MsgID != props[message.PropUniqKey] || res.State != normalState(c.state) || res.EndError != nil {
				t.Fatalf("result %+v", res)
			}
			ends := f.b.requests(code.EndTransaction)
			if c.endCode == "" {
				if len(ends) != 0 {
					t.Fatalf("END_TRANSACTION sent for an unknown state: %v", ends)
				}
				return
			}
			if len(ends) != 1 {
				t.Fatalf("%d END_TRANSACTIONs", len(ends))
			}
			var eh header.EndTransactionRequest
			if err := eh.Decode(ends[0].Ext); err != nil {
				t.Fatal(err)
			}
			_, off, _ := message.ParseOffsetMsgID(res.OffsetMsgID)
			if eh.ProducerGroup != "tx-pg" || eh.TranStateTableOffset != res.QueueOffset || eh.CommitLogOffset != off ||
				strconv.Itoa(int(eh.CommitOrRollback)) != c.endCode || eh.FromTransactionCheck || eh.MsgID != res.MsgID {
				t.Fatalf("END_TRANSACTION %+v for result %+v", eh, res)
			}
		})
	}
}

func TestTransactionProducerFailures(t *testing.T) {
	f := startTxFake(t)
	l := &recordingListener{execState: CommitTransaction}
	tp := startTxProducer(t, f, l)
	ctx := context.Background()

	if _, err := tp.SendMessageInTransaction(ctx, NewMessage("Orders", []byte("x")).WithDelayLevel(2), nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("delayed: %v", err)
	}
	if _, err := tp.SendMessageInTransaction(ctx, nil, nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("nil message: %v", err)
	}
	// A half message that is not stored runs no local transaction.
	f.b.setAnswer(func(req *codec.Command) *codec.Command {
		if isSend(req.Code) {
			return req.NewResponse(code.MessageIllegal, "no")
		}
		return nil
	})
	if _, err := tp.SendMessageInTransaction(ctx, NewMessage("Orders", []byte("x")), nil); err == nil {
		t.Fatalf("refused half message: no error")
	}
	// Stored without the configured durability: rolled back without running it.
	f.b.setAnswer(func(req *codec.Command) *codec.Command {
		if isSend(req.Code) {
			resp := f.b.sendOK(req)
			resp.Code = code.FlushDiskTimeout
			return resp
		}
		return nil
	})
	res, err := tp.SendMessageInTransaction(ctx, NewMessage("Orders", []byte("x")), nil)
	if err != nil || res.State != RollbackTransaction || res.Status != SendFlushDiskTimeout {
		t.Fatalf("flush timeout: %+v, %v", res, err)
	}
	if n, _ := l.counts(); n != 0 {
		t.Fatalf("local transaction ran %d times", n)
	}
	// A refused END_TRANSACTION is reported, not fatal.
	f.b.setAnswer(func(req *codec.Command) *codec.Command {
		if req.Code == code.EndTransaction {
			return req.NewResponse(code.SystemError, "the producer group wrong")
		}
		return nil
	})
	res, err = tp.SendMessageInTransaction(ctx, NewMessage("Orders", []byte("x")), nil)
	if err != nil || res.State != CommitTransaction || res.EndError == nil {
		t.Fatalf("refused END_TRANSACTION: %+v, %v", res, err)
	}
	if c, ok := CodeOf(res.EndError); !ok || c != code.SystemError {
		t.Fatalf("EndError %v", res.EndError)
	}
	if _, err := NewTransactionProducer(nil, WithNameServer(f.ns.addr)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("nil listener: %v", err)
	}
}

// waitHeartbeat makes tp learn the broker (a producer heartbeats only to brokers its
// routes name, as the official clients do) and waits for its heartbeat.
func waitHeartbeat(t *testing.T, f *txFake, tp *TransactionProducer) {
	t.Helper()
	if _, err := tp.Send(context.Background(), NewMessage("Orders", []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "heartbeat", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.conn != nil })
}

// checkRequest builds a CHECK_TRANSACTION_STATE as a broker sends it.
func checkRequest(t *testing.T, group, topic string, off, qoff int64, uniq string) *codec.Command {
	t.Helper()
	m := message.Ext{Topic: topic, QueueID: 2, QueueOffset: qoff, PhysicalOffset: off, Body: []byte("order"),
		BornHost: netip.MustParseAddrPort("127.0.0.1:5000"), StoreHost: netip.MustParseAddrPort("127.0.0.1:10911"),
		Properties: map[string]string{message.PropProducerGroup: group, message.PropUniqKey: uniq, message.PropTranMsg: "true"}}
	rec, err := message.EncodeRecord(nil, &m)
	if err != nil {
		t.Fatal(err)
	}
	h := header.CheckTransactionStateRequest{TranStateTableOffset: qoff, CommitLogOffset: off, MsgID: uniq, TransactionID: uniq}
	return codec.NewRequest(code.CheckTransactionState, h.Encode(), rec)
}

func TestTransactionProducerAnswersChecks(t *testing.T) {
	f := startTxFake(t)
	l := &recordingListener{checkState: CommitTransaction}
	tp := startTxProducer(t, f, l)
	waitHeartbeat(t, f, tp)
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()

	// Not ours, and garbage: ignored.
	if err := conn.InvokeOneway(checkRequest(t, "other-group", "Orders", 100, 1, "U0")); err != nil {
		t.Fatal(err)
	}
	bad := codec.NewRequest(code.CheckTransactionState, map[string]string{"commitLogOffset": "1", "tranStateTableOffset": "2"}, []byte("junk"))
	if err := conn.InvokeOneway(bad); err != nil {
		t.Fatal(err)
	}
	if err := conn.InvokeOneway(checkRequest(t, "tx-pg", "Orders", 4096, 7, "U1")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "END_TRANSACTION after check", func() bool { return len(f.b.requests(code.EndTransaction)) == 1 })
	var eh header.EndTransactionRequest
	if err := eh.Decode(f.b.requests(code.EndTransaction)[0].Ext); err != nil {
		t.Fatal(err)
	}
	if eh.CommitLogOffset != 4096 || eh.TranStateTableOffset != 7 || eh.CommitOrRollback != header.TxCommit ||
		!eh.FromTransactionCheck || eh.MsgID != "U1" || eh.TransactionID != "U1" || eh.ProducerGroup != "tx-pg" {
		t.Fatalf("END_TRANSACTION after check: %+v", eh)
	}
	if _, n := l.counts(); n != 1 || l.checked[0].Topic != "Orders" || l.checked[0].MsgID != "U1" || string(l.checked[0].Body) != "order" {
		t.Fatalf("checked %v", l.checked)
	}

	// An unknown answer, and a panicking checker, send nothing.
	l.mu.Lock()
	l.checkState = UnknownTransaction
	l.mu.Unlock()
	if err := conn.InvokeOneway(checkRequest(t, "tx-pg", "Orders", 8192, 8, "U2")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "second check", func() bool { _, n := l.counts(); return n == 2 })
	l.mu.Lock()
	l.panicCheck = true
	l.mu.Unlock()
	if err := conn.InvokeOneway(checkRequest(t, "tx-pg", "Orders", 9000, 9, "U3")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "third check", func() bool { _, n := l.counts(); return n == 3 })
	// A commit check after them proves the workers survived, and orders the END_TXs.
	l.mu.Lock()
	l.panicCheck, l.checkState = false, RollbackTransaction
	l.mu.Unlock()
	if err := conn.InvokeOneway(checkRequest(t, "tx-pg", "Orders", 9500, 10, "U4")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "END_TRANSACTION after the fourth check", func() bool { return len(f.b.requests(code.EndTransaction)) == 2 })
	if err := eh.Decode(f.b.requests(code.EndTransaction)[1].Ext); err != nil || eh.MsgID != "U4" || eh.CommitOrRollback != header.TxRollback {
		t.Fatalf("second END_TRANSACTION %+v (%v): unknown or panicking checks sent something", eh, err)
	}

	// After Shutdown, checks are dropped without harm.
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = conn.InvokeOneway(checkRequest(t, "tx-pg", "Orders", 9999, 11, "U5"))
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

// TestTransactionProducerShutdownRace sends checks while shutting down: no panic, no
// deadlock.
func TestTransactionProducerShutdownRace(t *testing.T) {
	f := startTxFake(t)
	var checks atomic.Int64
	tp := startTxProducer(t, f, TransactionFuncs{
		Execute: func(context.Context, *Message, any) LocalTransactionState { return CommitTransaction },
		Check: func(context.Context, *MessageExt) LocalTransactionState {
			checks.Add(1)
			return UnknownTransaction
		},
	})
	waitHeartbeat(t, f, tp)
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if conn.InvokeOneway(checkRequest(t, "tx-pg", "Orders", int64(i)*100, int64(i), "R"+strconv.Itoa(i))) != nil {
				return
			}
		}
	}()
	testutil.Eventually(t, 5*time.Second, "a check", func() bool { return checks.Load() > 0 })
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
}
