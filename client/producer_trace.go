package client

import (
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client/trace"
	"github.com/rocketgo/rocketgo/proto/message"
)

// tracePub records a stored send: one Pub record per message (a batch gives one per
// message), as the official clients do for every send with a result. A broker whose
// answer carries no region or TRACE_ON=false is not traced (SendMessageTraceHookImpl).
func (p *Producer) tracePub(out *outgoing, res *SendResult, storeHost string) {
	t := p.tracer
	if t == nil || res.RegionID == "" || !res.TraceOn {
		return
	}
	now := time.Now()
	cost := now.Sub(out.start).Milliseconds()
	ids := strings.Split(res.MsgID, ",")
	offIDs := strings.Split(res.OffsetMsgID, ",")
	for i, m := range out.msgs {
		r := trace.Record{
			Type: trace.Pub, Timestamp: now.UnixMilli(), RegionID: res.RegionID, Group: p.o.group,
			Topic: m.Topic, Tags: m.Tags(), Keys: m.Property(PropertyKeys), StoreHost: storeHost,
			ClientHost: t.clientHost, BodyLength: len(m.Body), CostTime: cost, MsgType: msgTypeOf(m),
			Success: res.Status == SendOK,
		}
		if i < len(ids) {
			r.MsgID = ids[i]
		}
		if i < len(offIDs) {
			r.OffsetMsgID = offIDs[i]
		}
		t.add(r)
	}
}

// msgTypeOf is the trace message type of m.
func msgTypeOf(m *Message) trace.MsgType {
	switch {
	case m.Property(message.PropTranMsg) == "true":
		return trace.TransMsgHalf
	case m.DelayLevel() > 0, m.Property(message.PropTimerDeliverMS) != "":
		return trace.DelayMsg
	}
	return trace.NormalMsg
}

// traceEndTransaction records the outcome of a transaction (EndTransactionTraceHookImpl).
func (p *Producer) traceEndTransaction(m *Message, res *SendResult, storeHost, txID string, state LocalTransactionState, fromCheck bool) {
	t := p.tracer
	if t == nil {
		return
	}
	t.add(trace.Record{
		Type: trace.EndTransaction, Timestamp: time.Now().UnixMilli(), RegionID: res.RegionID, Group: p.o.group,
		Topic: p.unwrap(m.Topic), MsgID: res.MsgID, Tags: m.Tags(), Keys: m.Property(PropertyKeys),
		StoreHost: storeHost, MsgType: trace.TransMsgHalf, TransactionID: txID,
		TransactionState: txStateName(state), FromTransactionCheck: fromCheck,
	})
}

// txStateName is Java's LocalTransactionState name of s.
func txStateName(s LocalTransactionState) string {
	switch s {
	case CommitTransaction:
		return "COMMIT_MESSAGE"
	case RollbackTransaction:
		return "ROLLBACK_MESSAGE"
	}
	return "UNKNOW"
}

// TraceStats returns the counters of the producer's trace records (all zero without
// WithTrace).
func (p *Producer) TraceStats() TraceStats {
	if p.tracer == nil {
		return TraceStats{}
	}
	return p.tracer.stats()
}
