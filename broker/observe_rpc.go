package broker

import (
	"github.com/rocketgo/rocketgo/broker/metrics"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// rocketmq_rpc_latency (docs/metrics.md): every request a route serves is observed
// once, when its answer is handed to the connection. An answer the handler returns is
// observed here at dispatch; an answer written later (a parked pull, a send waiting
// for SYNC_FLUSH or SYNC_MASTER, a reply push) is observed by replyLate.

// observed wraps route handler h of request code reqCode with the latency
// observation. With metrics off it returns h itself: no cost at all.
func (b *Broker) observed(reqCode int32, h server.Handler) server.Handler {
	rt := b.rpcRoute(reqCode)
	if rt == nil {
		return h
	}
	return func(c *server.Conn, req *codec.Command) *codec.Command {
		start := metrics.Mono()
		resp := h(c, req)
		observeAnswer(rt, start, req, resp)
		return resp
	}
}

// rpcRoute returns the latency series of reqCode and records it for replyLate; nil
// with metrics off.
func (b *Broker) rpcRoute(reqCode int32) *metrics.RPCRoute {
	rt := b.obs.m.RPCRoute(reqCode)
	if rt == nil {
		return nil
	}
	if b.obs.rpc == nil {
		b.obs.rpc = make(map[int32]*metrics.RPCRoute)
	}
	b.obs.rpc[reqCode] = rt
	return rt
}

// observeAnswer observes resp, the answer a handler returned for req at dispatch
// (nothing when it answers later).
func observeAnswer(rt *metrics.RPCRoute, start int64, req, resp *codec.Command) {
	if resp == nil || resp == server.Deferred {
		return // observed when it is answered (replyLate)
	}
	res := metrics.ResultSuccess
	if req.Flag&code.FlagOneway != 0 {
		res = metrics.ResultOneway
	}
	rt.Observe(start, resp.Code, false, res)
}

// replyLate writes resp, the late answer to req, and observes it. start (a metrics.Mono
// reading) is when the handler deferred the answer (it returned nil moments later); longPolling marks a
// pull that was parked. The error is conn.Reply's. A parked pull's answer is written at
// once when its connection is idle (server.Conn.ReplyNow, docs/architecture.md §6):
// its consumer waits for it.
func (b *Broker) replyLate(conn *server.Conn, req, resp *codec.Command, start int64, longPolling bool) error {
	return b.writeLate(conn, req, resp, start, longPolling, longPolling)
}

// writeLate is replyLate with the choice of ReplyNow (now) apart from longPolling: of
// the pulls one arrival releases only the first is written at once (answerParked).
func (b *Broker) writeLate(conn *server.Conn, req, resp *codec.Command, start int64, longPolling, now bool) error {
	var err error
	if now {
		err = conn.ReplyNow(resp)
	} else {
		err = conn.Reply(resp)
	}
	if rt := b.obs.rpc[req.Code]; rt != nil {
		res := metrics.ResultSuccess
		if err != nil {
			res = metrics.ResultWriteFailed
		}
		rt.Observe(start, resp.Code, longPolling, res)
	}
	return err
}
