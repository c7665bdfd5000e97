package server

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Batched routes: the requests of one code that arrive back to back in one read event
// are handed to the route's handler together, so that it can validate them one by one
// and then do the shared work (a store append, a wake-up) once for all of them.

// BatchHandler serves a run of requests of one code, in the order they arrived on the
// connection, on the event loop (it must not block). resps[i] receives the response
// to reqs[i], or Deferred when it is answered later with Conn.Reply (or needs no
// answer); len(resps) == len(reqs). A slot left nil is answered with SYSTEM_ERROR should
// the handler panic. done, when not nil, is called once the responses are
// encoded: nothing refers to them any more, so their memory may be reused.
type BatchHandler func(conn *Conn, reqs, resps []*codec.Command) (done func())

// Deferred marks a batch response slot whose request the handler answers later (with
// Conn.Reply) or not at all: runBatch sends nothing for it, and a panic of the handler
// does not answer it with SYSTEM_ERROR, which would give the request two answers.
var Deferred = &codec.Command{}

// HandleBatch registers h for code; its requests are batched per read event.
func (s *Server) HandleBatch(code int32, h BatchHandler) { s.setRoute(code, route{batch: h}) }

// HandleBatchRaw registers h for code like HandleBatch, for a handler that reads the
// extFields itself: the requests reach it with them unparsed (codec.Command.HasRawExt;
// it reads them with RangeExt, or LoadExt where it needs the map), so no map is built
// per request. Frames too large for the inbound buffer are decoded in full.
//
// A request's Body may alias the connection's read buffer (codec.DecodeFrameLent): it
// is valid while h runs and no longer. A handler that keeps a body past its return
// (for a request it answers later, say) copies it first; runBatch sets the Body of
// every request that still aliases the buffer to nil once h has returned. The strings
// of an unparsed binary header lie in the connection's arena (codec.BodyArena): one
// kept past the request keeps a whole chunk, so a handler copies what it keeps.
func (s *Server) HandleBatchRaw(code int32, h BatchHandler) {
	s.setRoute(code, route{batch: h, raw: true})
}

// rawExt reports whether the requests of code are decoded with their extFields
// unparsed (HandleBatchRaw).
func (s *Server) rawExt(code int32) bool { return (*s.routes.Load())[code].raw }

// maxBatch bounds the requests handed over at once: a long pipelined burst is served
// in runs, so that the first answers go out without waiting for the last request.
const maxBatch = 256

// pendingBatch collects the batched requests of one read event (event loop only).
type pendingBatch struct {
	code  int32
	route BatchHandler
	reqs  []*codec.Command
	resps []*codec.Command
	lent  []*byte // lent[i]: the read buffer reqs[i].Body aliases, nil when it owns it
	size  int64   // frame bytes held in the request budget
}

// dispatchFrame hands a decoded frame to its batch, or serves the batch collected so
// far and then the frame itself, so requests are served in arrival order. lent says
// cmd.Body aliases the read buffer (DecodeFrameLent).
func (s *Server) dispatchFrame(c *Conn, cmd *codec.Command, size int64, lent bool) {
	if !cmd.IsResponse() {
		r, ok := (*s.routes.Load())[cmd.Code]
		if !r.raw {
			cmd.LoadExt() // the route changed since the frame was decoded
		}
		if ok && r.batch != nil {
			b := &c.batch
			if len(b.reqs) > 0 && b.code != cmd.Code {
				s.runBatch(c)
			}
			b.code, b.route = cmd.Code, r.batch
			b.reqs = append(b.reqs, cmd)
			var p *byte
			if lent {
				p = unsafe.SliceData(cmd.Body)
			}
			b.lent = append(b.lent, p)
			b.size += size
			if len(b.reqs) >= maxBatch {
				s.runBatch(c)
			}
			return
		}
	}
	cmd.LoadExt()
	if lent {
		// The route is no longer a raw batch one (it changed since the frame was
		// decoded): the handler may run on a worker, after the buffer is reused.
		cmd.Body = bytes.Clone(cmd.Body)
	}
	s.runBatch(c)
	s.dispatch(c, cmd, size)
}

// runBatch serves the collected batch, queues its answers and releases its budget.
func (s *Server) runBatch(c *Conn) {
	b := &c.batch
	if len(b.reqs) == 0 {
		return
	}
	if !c.closed.Load() {
		b.resps = append(b.resps[:0], make([]*codec.Command, len(b.reqs))...)
		done := s.serveBatch(c, b)
		for i, req := range b.reqs {
			if resp := b.resps[i]; resp != nil && resp != Deferred && !req.IsOneway() {
				c.queue(req, resp)
			}
		}
		if done != nil {
			done()
		}
		clear(b.resps)
	}
	for i, p := range b.lent {
		// A request kept past the handler (answered later) must not show bytes the
		// next read writes over.
		if req := b.reqs[i]; p != nil && len(req.Body) > 0 && unsafe.SliceData(req.Body) == p {
			req.Body = nil
		}
	}
	s.budget.release(b.size)
	clear(b.reqs)
	clear(b.lent)
	b.reqs, b.resps, b.lent, b.size, b.route = b.reqs[:0], b.resps[:0], b.lent[:0], 0, nil
}

// serveBatch runs a batch handler; a panic answers every request not yet answered with
// SYSTEM_ERROR, as serve does for one.
func (s *Server) serveBatch(c *Conn, b *pendingBatch) (done func()) {
	defer func() {
		if r := recover(); r != nil {
			done = nil
			s.log.Error().Int32("code", b.code).Int("requests", len(b.reqs)).
				Str("panic", fmt.Sprint(r)).Msg("batch handler panicked")
			for i, req := range b.reqs {
				if b.resps[i] == nil {
					b.resps[i] = req.HandlerFailed(r)
				}
			}
		}
	}()
	return b.route(c, b.reqs, b.resps)
}
