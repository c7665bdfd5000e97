package client

import (
	"time"

	"github.com/rocketgo/rocketgo/client/trace"
	"github.com/rocketgo/rocketgo/proto/message"
)

// consumeTrace is what SubBefore recorded for its SubAfter.
type consumeTrace struct {
	requestID string
	region    string
	start     time.Time
	traced    []bool // per message: TRACE_ON was not "false"
}

// traceBefore records a SubBefore per message about to be given to the listener
// (ConsumeMessageTraceHookImpl.consumeMessageBefore). Messages stored with
// TRACE_ON=false are not traced.
func (p *PushConsumer) traceBefore(msgs []*MessageExt) *consumeTrace {
	t := p.tracer
	if t == nil {
		return nil
	}
	now := time.Now()
	tc := &consumeTrace{requestID: message.NewUniqID(), start: now, traced: make([]bool, len(msgs))}
	for i, m := range msgs {
		if m.Property(message.PropTraceOn) == "false" {
			continue
		}
		tc.traced[i] = true
		tc.region = m.Property(message.PropMsgRegion)
		t.add(trace.Record{
			Type: trace.SubBefore, Timestamp: now.UnixMilli(), RegionID: tc.region, Group: p.o.group,
			RequestID: tc.requestID, MsgID: m.MsgID, RetryTimes: int(m.ReconsumeTimes),
			Keys: m.Property(PropertyKeys), ClientHost: t.clientHost,
		})
	}
	return tc
}

// traceAfter records a SubAfter per traced message with the listener's verdict.
func (p *PushConsumer) traceAfter(tc *consumeTrace, msgs []*MessageExt, res ConsumeResult, err error) {
	t := p.tracer
	if t == nil || tc == nil {
		return
	}
	now := time.Now()
	ctxCode := trace.ContextSuccess
	switch {
	case err != nil:
		ctxCode = trace.ContextException
	case res != ConsumeSuccess:
		ctxCode = trace.ContextFailed
	}
	for i, m := range msgs {
		if !tc.traced[i] {
			continue
		}
		t.add(trace.Record{
			Type: trace.SubAfter, RequestID: tc.requestID, MsgID: m.MsgID, CostTime: now.Sub(tc.start).Milliseconds(),
			Success: res == ConsumeSuccess && err == nil, Keys: m.Property(PropertyKeys), ContextCode: ctxCode,
			Timestamp: now.UnixMilli(), Group: p.o.group,
		})
	}
}

// TraceStats returns the counters of the consumer's trace records (all zero without
// WithTrace).
func (p *PushConsumer) TraceStats() TraceStats {
	if p.tracer == nil {
		return TraceStats{}
	}
	return p.tracer.stats()
}
