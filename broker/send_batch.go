package broker

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/rocketgo/rocketgo/broker/metrics"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// The batched send path (docs/architecture.md §5, "Produce path"): the event loop hands
// over every SEND_MESSAGE and SEND_MESSAGE_V2 of one read event at once. Each is
// checked (ACL, header, topic, size) and encoded on its own into one shared buffer;
// then all are appended under one hold of the CommitLog lock (store.PutMany), with one
// wake of the dispatcher and the flusher. Each keeps its own offset, message id and
// answer, and a refused one does not fail its neighbours. A send that needs more than
// a plain append (transactional, scheduled, a batch body, a topic with a duplicate
// window) is served by handleSend on its own, after the sends staged before it are
// appended, so the order of appends is the order of the frames.

// sendStaged is one plain send encoded into sendScratch.rec, waiting for the append.
type sendStaged struct {
	idx        int // in the batch's requests
	start, end int // its record in rec
	topic      string
	queueID    int32
	host       netip.AddrPort
	noWait     bool
	replyTo    string
}

// sendScratch is the working space of one batch, pooled: it lives from the batch
// handler's start until the server has encoded the answers (release).
type sendScratch struct {
	st     sendStart
	fields header.SendFields // st.fields: the send header's entries (decodeSendHeader)
	topic  string            // st.topic: the owned copy of the last topic
	props  []byte
	rec    []byte
	staged []sendStaged
	items  []store.PutItem
	res    []store.PutResult
	errs   []error
	owned  []*sendAnswer // answers taken from free, reused once encoded (send_answer.go)
	free   []*sendAnswer
	done   func() // release, made once
}

var sendScratchPool = sync.Pool{New: func() any {
	return &sendScratch{props: make([]byte, 0, 512), rec: make([]byte, 0, 64<<10)}
}}

// getSendScratch takes a scratch from the pool.
func getSendScratch() *sendScratch {
	sc := sendScratchPool.Get().(*sendScratch)
	if sc.done == nil {
		sc.done = sc.release
	}
	return sc
}

// release takes back the answers of the batch and returns sc to the pool.
func (sc *sendScratch) release() {
	if cap(sc.rec) > 2*maxRetainedBuf || cap(sc.props) > maxRetainedBuf {
		return // a batch of large messages: let the buffers go
	}
	sc.st = sendStart{}             // drops the last request's strings
	sc.fields = header.SendFields{} // and the header's, which point into the connection's arena
	sc.free = append(sc.free, sc.owned...)
	clear(sc.owned)
	sc.owned = sc.owned[:0]
	sendScratchPool.Put(sc)
}

// sendBatchHandler returns the batched route of a send code: ACL and the rpc latency
// observation per message, as guarded and observed do for the other routes.
func (b *Broker) sendBatchHandler(reqCode int32) server.BatchHandler {
	rt := b.rpcRoute(reqCode)
	return func(conn *server.Conn, reqs, resps []*codec.Command) func() {
		var start int64
		if rt != nil {
			start = metrics.Mono()
		}
		sc := getSendScratch()
		for i := range reqs {
			b.batchOne(sc, conn, reqs, resps, i)
		}
		b.appendStaged(sc, conn, reqs, resps)
		if rt != nil {
			for i, req := range reqs {
				observeAnswer(rt, start, req, resps[i])
			}
		}
		return sc.done
	}
}

// batchOne checks, stages or serves reqs[i]. A panic answers that request alone with
// SYSTEM_ERROR: the sends staged before it are still appended and answered, and none
// is answered twice.
func (b *Broker) batchOne(sc *sendScratch, conn *server.Conn, reqs, resps []*codec.Command, i int) {
	req := reqs[i]
	defer func() {
		if r := recover(); r != nil {
			b.log.Error().Int32("code", req.Code).Str("panic", fmt.Sprint(r)).Msg("send handler panicked")
			if resps[i] == nil {
				resps[i] = req.HandlerFailed(r)
			}
		}
	}()
	if b.acl != nil {
		req.LoadExt() // the signature covers every entry
		if r := b.acl.Check(req.Code, req.ExtFields, req.Body, conn.RemoteAddr().Addr()); r != nil {
			resps[i] = req.NewResponse(code.NoPermission, r.Remark)
			return
		}
	}
	if !b.stageSend(sc, conn, req, i, resps) {
		req.LoadExt() // what handleSend's features read (dedup, transactions) takes the map
		// The body may alias the connection's read buffer (server.HandleBatchRaw);
		// these rarer sends get their own copy, whatever they keep of it.
		req.Body = bytes.Clone(req.Body)
		b.appendStaged(sc, conn, reqs, resps)
		if resps[i] = b.handleSend(conn, req); resps[i] == nil {
			resps[i] = server.Deferred // answered once durable
		}
	} else if len(sc.rec) >= maxRetainedBuf {
		// Large messages: append what is staged rather than copy a whole read
		// event's bodies into one buffer.
		b.appendStaged(sc, conn, reqs, resps)
	}
}

// stageSend validates req and encodes its record into sc, or answers it in resps[i]
// when it is refused. It reports false, touching nothing, for a send that handleSend
// must serve on its own.
func (b *Broker) stageSend(sc *sendScratch, conn *server.Conn, req *codec.Command, i int, resps []*codec.Command) bool {
	st := &sc.st
	st.fields, st.topic = &sc.fields, &sc.topic
	if err := b.startSend(st, conn, req, sc.props[:0]); err != nil {
		resps[i] = b.sendError(req, err)
		return true
	}
	if st.tx || st.batch || st.sp.sched.set || b.windowOf(st.dst.topic) > 0 {
		return false
	}
	sc.props = st.props
	st.m.Body = req.Body
	start := len(sc.rec)
	rec, err := message.EncodeRecordProps(sc.rec, &st.m, bytesString(sc.props))
	if err != nil {
		sc.rec = sc.rec[:start]
		resps[i] = b.sendError(req, err)
		return true
	}
	sc.rec = rec
	sc.staged = append(sc.staged, sendStaged{
		idx: i, start: start, end: len(rec), topic: st.dst.topic, queueID: st.dst.queueID,
		host: st.m.StoreHost, noWait: st.sp.noWait, replyTo: st.sp.replyTo,
	})
	return true
}

// appendStaged appends the staged sends in one store.PutMany and answers each: at once,
// or once durable (waitsForDurability).
func (b *Broker) appendStaged(sc *sendScratch, conn *server.Conn, reqs, resps []*codec.Command) {
	n := len(sc.staged)
	if n == 0 {
		return
	}
	sc.items = sc.items[:0]
	for _, s := range sc.staged {
		sc.items = append(sc.items, store.PutItem{Recs: sc.rec[s.start:s.end], Encoded: true})
		if s.replyTo != "" {
			// A request: its reply is pushed over this connection (reply.go). Noted
			// before the append, as handleSend does. Cloned: it lies in the
			// connection's arena (sendStart.topic).
			b.clients.NoteRequester(conn, strings.Clone(s.replyTo))
		}
	}
	sc.res = append(sc.res[:0], make([]store.PutResult, n)...)
	sc.errs = append(sc.errs[:0], make([]error, n)...)
	b.putDst.PutMany(sc.items, sc.res, sc.errs)
	durable := b.waitsForDurability()
	for k, s := range sc.staged {
		req := reqs[s.idx]
		if err := sc.errs[k]; err != nil {
			resps[s.idx] = b.sendError(req, err)
			continue
		}
		res := sc.res[k]
		b.countSent(s.topic, &propScan{}, req.Body, nil)
		if !durable || s.noWait {
			resps[s.idx] = b.answerOK(sc, req, s.host, s.queueID, res)
			continue
		}
		b.answerSendWhenDurable(conn, req, nil, s.host, s.queueID, res, nil)
		resps[s.idx] = server.Deferred
	}
	clear(sc.staged)
	clear(sc.items)
	clear(sc.errs)
	sc.staged, sc.rec = sc.staged[:0], sc.rec[:0]
}

// batchRoute returns the batched route of reqCode, nil for a code served one by one.
// SEND_BATCH_MESSAGE stays one by one: its body is already a batch.
func (b *Broker) batchRoute(reqCode int32) server.BatchHandler {
	switch reqCode {
	case code.SendMessage, code.SendMessageV2:
		return b.sendBatchHandler(reqCode)
	}
	return nil
}
