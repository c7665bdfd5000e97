package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/pending"
)

// Conn is one accepted connection. Its methods are safe from any goroutine.
type Conn struct {
	id      uint64
	srv     *Server
	gc      gnet.Conn
	remote  netip.AddrPort
	closed  atomic.Bool
	value   atomic.Pointer[valueBox]
	pending pending.Table

	// out collects the responses produced while one OnTraffic call runs, so a burst of
	// pipelined requests is answered with one write. Only the event loop touches it.
	out outBatch
	// batch collects the requests of batched routes until they are served (batch.go).
	// Only the event loop touches it.
	batch pendingBatch
	// arena holds the commands of the raw routes' requests (HandleBatchRaw), their
	// binary headers' strings, and the bodies of those that cannot borrow theirs from the
	// read buffer; their handlers copy out what outlives the request (the broker's
	// sends). Only the event loop touches it.
	arena codec.BodyArena
	// carried is what gnet kept in its own inbound buffer when OnTraffic last
	// returned: the first bytes the next OnTraffic sees (event loop only).
	carried int
	// afterWrite is c.checkOutbound as a value, made once so that async writes do not
	// allocate a closure each.
	afterWrite gnet.AsyncCallback
	// direct decides whether a late response may be written by its caller (direct.go).
	direct directOut

	// Inbound memory (budget.go). claim is what the unfinished frame counts in the
	// server's budget: its full size once admitted, else the bytes that arrived.
	claim  atomic.Int64
	queued atomic.Int64 // sizes of this connection's requests with the workers
	want   atomic.Int64 // size of the frame a paused connection waits to admit
	// frameSince is when the unfinished frame's first byte arrived (UnixNano), 0 when
	// the inbound buffer is empty; the reaper closes the connection at its deadline.
	frameSince atomic.Int64
	admitted   bool   // the unfinished frame's full size is reserved (event loop only)
	big        []byte // a large admitted frame being assembled, cap its size (event loop only)
	paused     bool   // EPOLLIN is off (event loop only)
	waiting    bool   // queued in budget.waiting (under budget.mu)
}

// newConn wraps an accepted gnet connection.
func newConn(s *Server, gc gnet.Conn) *Conn {
	c := &Conn{id: s.nextID.Add(1), srv: s, gc: gc}
	c.afterWrite = c.checkOutbound
	return c
}

// checkOutbound runs on the event loop after a write: a peer that does not read its
// responses makes gnet buffer them without limit, so past MaxOutboundBytes the
// connection is closed (a slow consumer loses its connection, not the server's memory).
func (c *Conn) checkOutbound(gc gnet.Conn, err error) error {
	c.direct.done(gc, err == nil && !c.closed.Load())
	if err != nil || c.closed.Load() {
		return nil
	}
	if n := gc.OutboundBuffered(); n > c.srv.o.MaxOutboundBytes {
		c.srv.warn.Warn().Uint64("conn", c.id).Str("addr", c.remote.String()).Int("buffered", n).
			Msg("closing connection: peer does not read its responses")
		_ = gc.Close()
	}
	return nil
}

// wake has the event loop run OnTraffic for c, which resumes reading it.
func (c *Conn) wake() {
	if !c.closed.Load() {
		_ = c.gc.Wake(nil)
	}
}

// pause stops reading c's socket. It runs on the event loop.
func (c *Conn) pause() error {
	if c.paused {
		return nil
	}
	if err := setReading(c.gc, false); err != nil {
		return err
	}
	c.paused = true
	return nil
}

// resume reads c's socket again. It runs on the event loop.
func (c *Conn) resume() {
	if c.paused && setReading(c.gc, true) == nil {
		c.paused = false
	}
}

// fillBig moves what gnet holds of the large frame being assembled into c.big and
// reports whether the frame is whole. It runs on the event loop.
func (c *Conn) fillBig(gc gnet.Conn) bool {
	if k := min(gc.InboundBuffered(), cap(c.big)-len(c.big)); k > 0 {
		b, err := gc.Peek(k)
		if err != nil {
			return false
		}
		c.big = append(c.big, b...)
		_, _ = gc.Discard(k)
	}
	return len(c.big) == cap(c.big)
}

// markFrame records when the unfinished frame began: now if a frame was decoded in
// this read (what is pending is a new frame) or none was pending before.
func (c *Conn) markFrame(pending, decoded bool) {
	switch {
	case !pending:
		c.frameSince.Store(0)
	case decoded || c.frameSince.Load() == 0:
		c.frameSince.Store(time.Now().UnixNano())
	}
}

// valueBox lets an atomic.Pointer hold any value, nil included.
type valueBox struct{ v any }

// ID returns the connection's id, unique among its Server's connections (1, 2, ...).
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// SetValue stores the owner's per-connection state (for example the client id a
// heartbeat announced).
func (c *Conn) SetValue(v any) { c.value.Store(&valueBox{v}) }

// Value returns what SetValue stored, or nil.
func (c *Conn) Value() any {
	if b := c.value.Load(); b != nil {
		return b.v
	}
	return nil
}

// Closed reports whether the connection has closed.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Close closes the connection; OnClose hooks run on its event loop.
func (c *Conn) Close() error {
	if c.closed.Load() {
		return nil
	}
	return c.gc.Close()
}

// Reply writes a (late) response, typically one a handler returned nil for: build it
// with req.NewResponse so it carries the request's opaque and serialization. It may be
// called from any goroutine; the write happens on the connection's event loop, and
// resp.BodyParts must stay valid until then. It fails with codec.ErrClosed once the
// connection is gone (the write may also be lost if the connection dies meanwhile).
func (c *Conn) Reply(resp *codec.Command) error {
	resp.Flag |= codec.FlagResponse
	return c.send(resp, nil, false)
}

// ReplyNow is Reply for an answer someone waits for now (a parked pull's): when nothing
// else is writing the connection it is written on the caller's goroutine before
// ReplyNow returns, without waking the connection's event loop (direct.go); otherwise
// it is queued as Reply queues it. Many answers produced together (a group commit's)
// are better queued with Reply: the event loops then write them in parallel with the
// caller.
func (c *Conn) ReplyNow(resp *codec.Command) error {
	resp.Flag |= codec.FlagResponse
	return c.send(resp, nil, true)
}

// Invoke sends a server-started request and waits for the client's answer, ctx
// bounding the wait. It assigns req.Opaque. On timeout the pending entry is removed and
// the error wraps codec.ErrTimeout; if the connection closes first it wraps codec.ErrClosed. It
// must not be called from a handler registered with Handle: the event loop that would
// read the answer is the one waiting.
func (c *Conn) Invoke(ctx context.Context, req *codec.Command) (*codec.Command, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("remoting: invoke on connection %d: %w", c.id, codec.ErrClosed)
	}
	req.Flag &^= codec.FlagResponse | codec.FlagOneway
	cl := pending.NewSync()
	var err error
	for {
		req.Opaque = c.srv.nextOpaque.Add(1)
		if err = c.pending.Add(req.Opaque, cl); !errors.Is(err, pending.ErrOpaqueInUse) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	opaque := req.Opaque
	err = c.send(req, func(gc gnet.Conn, werr error) error {
		if werr != nil {
			if pc := c.pending.Take(opaque); pc != nil {
				pc.Complete(nil, fmt.Errorf("remoting: invoke on connection %d: %w: %w", c.id, codec.ErrClosed, werr))
			}
		}
		return c.checkOutbound(gc, werr)
	}, false)
	if err != nil {
		c.pending.Take(opaque)
		return nil, err
	}
	return c.pending.Wait(ctx, opaque, cl)
}

// InvokeOneway sends a server-started request that gets no answer (the broker's
// CHECK_TRANSACTION_STATE and NOTIFY_CONSUMER_IDS_CHANGED). It assigns req.Opaque and
// sets the oneway flag.
func (c *Conn) InvokeOneway(req *codec.Command) error {
	req.Flag = req.Flag&^codec.FlagResponse | codec.FlagOneway
	req.Opaque = c.srv.nextOpaque.Add(1)
	return c.send(req, nil, false)
}

// Pending returns the number of server-started calls waiting for an answer.
func (c *Conn) Pending() int { return c.pending.Len() }

// send encodes cmd into its own buffer and queues it on the event loop, or with now
// writes it on the caller's goroutine when the connection allows it (direct.go);
// BodyParts follow the encoded bytes in one writev without being copied.
func (c *Conn) send(cmd *codec.Command, cb gnet.AsyncCallback, now bool) error {
	if c.closed.Load() {
		return fmt.Errorf("remoting: connection %d: %w", c.id, codec.ErrClosed)
	}
	head, err := codec.AppendFrame(make([]byte, 0, 256+len(cmd.Body)), cmd, c.srv.o.MaxFrameBytes)
	if err != nil {
		return fmt.Errorf("remoting: encode code %d: %w", cmd.Code, err)
	}
	if now {
		if handled, err := c.writeDirect(head, cmd.BodyParts); handled {
			if err != nil {
				return fmt.Errorf("remoting: connection %d: %w: %w", c.id, codec.ErrClosed, err)
			}
			return nil
		}
	}
	if cb == nil {
		cb = c.afterWrite
	}
	c.direct.queued() // every callback ends in checkOutbound, which counts it done
	if len(cmd.BodyParts) == 0 {
		err = c.gc.AsyncWrite(head, cb)
	} else {
		err = c.gc.AsyncWritev(replyIOV(head, cmd.BodyParts), cb)
	}
	if err != nil {
		c.direct.unqueue()
		return fmt.Errorf("remoting: connection %d: %w: %w", c.id, codec.ErrClosed, err)
	}
	return nil
}

// queue adds a response to req to the event loop's batch; it is written by flush at the
// end of OnTraffic. An unencodable response is replaced by a SYSTEM_ERROR naming why.
func (c *Conn) queue(req, resp *codec.Command) {
	codec.PrepareResponse(req, resp)
	if err := c.out.add(resp, c.srv.o.MaxFrameBytes); err != nil {
		c.srv.warn.Warn().Err(err).Uint64("conn", c.id).Int32("code", req.Code).Msg("response not encodable")
		fail := req.NewResponse(code.SystemError, fmt.Sprintf("response not encodable: %v", err))
		_ = c.out.add(fail, c.srv.o.MaxFrameBytes)
	}
}

// flush writes the batch collected during OnTraffic and reports whether the
// connection may stay open. It runs on the event loop. Nothing is written once the
// connection closed: its descriptor may already belong to a new connection.
func (c *Conn) flush() bool {
	c.srv.runBatch(c)
	if c.closed.Load() {
		c.out.reset()
		return false
	}
	if err := c.flushOut(); err != nil {
		c.srv.log.Debug().Err(err).Uint64("conn", c.id).Msg("write failed")
		return false
	}
	if n := c.gc.OutboundBuffered(); n > c.srv.o.MaxOutboundBytes {
		c.srv.warn.Warn().Uint64("conn", c.id).Str("addr", c.remote.String()).Int("buffered", n).
			Msg("closing connection: peer does not read its responses")
		return false
	}
	return true
}

// maxIOV is the most slices one writev takes (IOV_MAX on Linux and the BSDs).
const maxIOV = 1024

// replyIOV returns head followed by parts as one writev list. gnet hands an async
// writev to the kernel in one call, so a list longer than maxIOV has its tail copied
// into a single slice; only pathological part counts pay for that copy.
func replyIOV(head []byte, parts [][]byte) [][]byte {
	keep := min(len(parts), maxIOV-2)
	iov := make([][]byte, 0, keep+2)
	iov = append(iov, head)
	iov = append(iov, parts[:keep]...)
	if keep < len(parts) {
		iov = append(iov, bytes.Join(parts[keep:], nil))
	}
	return iov
}

// outBatch is a run of encoded frames plus the BodyParts spliced in between them.
type outBatch struct {
	buf   []byte
	cuts  []int      // offsets in buf after which parts[i] are written
	parts [][][]byte // BodyParts of the frame ending at cuts[i]
	iov   [][]byte   // scratch for the writev
}

// maxRetainedBatch caps the scratch buffer kept between bursts.
const maxRetainedBatch = 1 << 20

// add encodes resp at the end of the batch.
func (o *outBatch) add(resp *codec.Command, maxFrame int) error {
	var err error
	o.buf, err = codec.AppendFrame(o.buf, resp, maxFrame)
	if err != nil {
		return err
	}
	if len(resp.BodyParts) > 0 {
		o.cuts = append(o.cuts, len(o.buf))
		o.parts = append(o.parts, resp.BodyParts)
	}
	return nil
}

// flush writes the batch (gnet writes what the socket takes and buffers the rest) and
// empties it.
func (o *outBatch) flush(gc gnet.Conn) error {
	if len(o.buf) == 0 {
		return nil
	}
	var err error
	if len(o.cuts) == 0 {
		_, err = gc.Write(o.buf)
	} else {
		iov := o.iov[:0]
		prev := 0
		for i, cut := range o.cuts {
			iov = append(iov, o.buf[prev:cut])
			iov = append(iov, o.parts[i]...)
			prev = cut
		}
		if prev < len(o.buf) {
			iov = append(iov, o.buf[prev:])
		}
		// writev takes at most IOV_MAX (1024) slices and gnet passes the list
		// through, so a long batch goes out in chunks; on the event loop nothing can
		// come between them.
		for rest := iov; len(rest) > 0 && err == nil; {
			n := min(len(rest), maxIOV)
			_, err = gc.Writev(rest[:n])
			rest = rest[n:]
		}
		clear(iov)
		o.iov = iov[:0]
	}
	o.reset()
	return err
}

// reset empties the batch, dropping references to body parts.
func (o *outBatch) reset() {
	clear(o.parts)
	if cap(o.buf) > maxRetainedBatch {
		o.buf = nil
	} else {
		o.buf = o.buf[:0]
	}
	o.cuts = o.cuts[:0]
	o.parts = o.parts[:0]
}
