package remoting

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/rocketgo/rocketgo/proto/code"
)

// Conn is one accepted connection. Its methods are safe from any goroutine.
type Conn struct {
	id      uint64
	srv     *Server
	gc      gnet.Conn
	remote  netip.AddrPort
	closed  atomic.Bool
	value   atomic.Pointer[valueBox]
	pending pendingTable

	// out collects the responses produced while one OnTraffic call runs, so a burst of
	// pipelined requests is answered with one write. Only the event loop touches it.
	out outBatch
}

// valueBox lets an atomic.Pointer hold any value, nil included.
type valueBox struct{ v any }

// ID returns the connection's process-unique id (1, 2, ...).
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
// resp.BodyParts must stay valid until then. It fails with ErrClosed once the
// connection is gone (the write may also be lost if the connection dies meanwhile).
func (c *Conn) Reply(resp *Command) error {
	resp.Flag |= FlagResponse
	return c.send(resp, nil)
}

// Invoke sends a server-started request and waits for the client's answer, ctx
// bounding the wait. It assigns req.Opaque. On timeout the pending entry is removed and
// the error wraps ErrTimeout; if the connection closes first it wraps ErrClosed.
func (c *Conn) Invoke(ctx context.Context, req *Command) (*Command, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("remoting: invoke on connection %d: %w", c.id, ErrClosed)
	}
	req.Flag &^= FlagResponse | FlagOneway
	cl := newSyncCall()
	var err error
	for {
		req.Opaque = c.srv.nextOpaque.Add(1)
		if err = c.pending.add(req.Opaque, cl); !errors.Is(err, errOpaqueInUse) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	opaque := req.Opaque
	err = c.send(req, func(_ gnet.Conn, werr error) error {
		if werr != nil {
			if pc := c.pending.take(opaque); pc != nil {
				pc.complete(nil, fmt.Errorf("remoting: invoke on connection %d: %w: %w", c.id, ErrClosed, werr))
			}
		}
		return nil
	})
	if err != nil {
		c.pending.take(opaque)
		return nil, err
	}
	return c.pending.wait(ctx, opaque, cl)
}

// InvokeOneway sends a server-started request that gets no answer (the broker's
// CHECK_TRANSACTION_STATE and NOTIFY_CONSUMER_IDS_CHANGED). It assigns req.Opaque and
// sets the oneway flag.
func (c *Conn) InvokeOneway(req *Command) error {
	req.Flag = req.Flag&^FlagResponse | FlagOneway
	req.Opaque = c.srv.nextOpaque.Add(1)
	return c.send(req, nil)
}

// Pending returns the number of server-started calls waiting for an answer.
func (c *Conn) Pending() int { return c.pending.len() }

// send encodes cmd into its own buffer and queues it on the event loop; BodyParts follow
// the encoded bytes in one writev without being copied.
func (c *Conn) send(cmd *Command, cb gnet.AsyncCallback) error {
	if c.closed.Load() {
		return fmt.Errorf("remoting: connection %d: %w", c.id, ErrClosed)
	}
	head, err := AppendFrame(make([]byte, 0, 256+len(cmd.Body)), cmd, c.srv.o.MaxFrameBytes)
	if err != nil {
		return fmt.Errorf("remoting: encode code %d: %w", cmd.Code, err)
	}
	if len(cmd.BodyParts) == 0 {
		err = c.gc.AsyncWrite(head, cb)
	} else {
		iov := make([][]byte, 0, 1+len(cmd.BodyParts))
		iov = append(iov, head)
		iov = append(iov, cmd.BodyParts...)
		err = c.gc.AsyncWritev(iov, cb)
	}
	if err != nil {
		return fmt.Errorf("remoting: connection %d: %w: %w", c.id, ErrClosed, err)
	}
	return nil
}

// queue adds a response to req to the event loop's batch; it is written by flush at the
// end of OnTraffic. An unencodable response is replaced by a SYSTEM_ERROR naming why.
func (c *Conn) queue(req, resp *Command) {
	prepareResponse(req, resp)
	if err := c.out.add(resp, c.srv.o.MaxFrameBytes); err != nil {
		c.srv.log.Warn().Err(err).Uint64("conn", c.id).Int16("code", req.Code).Msg("response not encodable")
		fail := req.NewResponse(code.SystemError, fmt.Sprintf("response not encodable: %v", err))
		_ = c.out.add(fail, c.srv.o.MaxFrameBytes)
	}
}

// flush writes the batch collected during OnTraffic. It runs on the event loop.
func (c *Conn) flush() {
	if err := c.out.flush(c.gc); err != nil {
		c.srv.log.Debug().Err(err).Uint64("conn", c.id).Msg("write failed")
	}
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
func (o *outBatch) add(resp *Command, maxFrame int) error {
	var err error
	o.buf, err = AppendFrame(o.buf, resp, maxFrame)
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
		_, err = gc.Writev(iov)
		clear(iov)
		o.iov = iov[:0]
		clear(o.parts)
	}
	if cap(o.buf) > maxRetainedBatch {
		o.buf = nil
	} else {
		o.buf = o.buf[:0]
	}
	o.cuts = o.cuts[:0]
	o.parts = o.parts[:0]
	return err
}
