package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/pending"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// ClientOptions configures a Client.
type ClientOptions struct {
	// MaxFrameBytes bounds one frame, read or written; codec.DefaultMaxFrameBytes when zero.
	// A server that announces a larger frame has its connection closed.
	MaxFrameBytes int `mapstructure:"max_frame_bytes"`
	// DialTimeout bounds connecting to an address; 3 s when zero.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// WriteTimeout bounds one socket write; a peer that stops reading for this long has
	// its connection closed, failing the calls on it. 10 s when zero.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// Logger receives connection-level events; zerolog.Nop() when zero.
	Logger zerolog.Logger `mapstructure:"-"`
	// TLS, when set, wraps every connection in TLS (tlsconf.ClientFiles builds one);
	// the handshake counts against DialTimeout, and ServerName defaults to the dialled
	// host.
	TLS *tls.Config `mapstructure:"-"`
}

// ClientHandler serves a request the server started (CHECK_TRANSACTION_STATE, ...). A
// non-nil result is sent back with the request's opaque and the response flag.
type ClientHandler func(addr string, req *codec.Command) *codec.Command

// Client is the calling side of the protocol: one TCP connection per address, dialled on
// first use and again on the next call after it failed. Requests are matched to
// responses by opaque (one counter per Client). All methods are safe for concurrent use.
type Client struct {
	o    ClientOptions
	log  zerolog.Logger
	warn zerolog.Logger // log, sampled

	opaque   atomic.Int32
	handlers atomic.Pointer[map[int32]ClientHandler] // copy-on-write
	hmu      sync.Mutex                              // serializes handler writers

	mu struct {
		sync.Mutex
		conns  map[string]*clientConn
		closed bool
	}
	wg      sync.WaitGroup // dialers, readers and request handlers
	running atomic.Int32   // server-started requests being handled
	// last is the connection conn returned last, found again without the table's lock
	// and map lookup while it lives: a producer sends run after run to one broker.
	last atomic.Pointer[clientConn]
}

// maxClientHandlers bounds the server-started requests handled at once; more are
// refused with SYSTEM_BUSY rather than growing goroutines without limit.
const maxClientHandlers = 256

// NewClient returns a client with no connections yet.
func NewClient(o ClientOptions) *Client {
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = codec.DefaultMaxFrameBytes
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	c := &Client{o: o, log: o.Logger.With().Str("component", "remoting_client").Logger()}
	c.warn = c.log.Sample(warnSampler())
	c.mu.conns = make(map[string]*clientConn)
	c.handlers.Store(&map[int32]ClientHandler{})
	return c
}

// Handle registers h for requests with the given code that servers send on this
// client's connections. Each such request runs on its own goroutine. Requests with no
// handler are answered REQUEST_CODE_NOT_SUPPORTED unless flagged oneway.
func (c *Client) Handle(code int32, h ClientHandler) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	old := *c.handlers.Load()
	m := make(map[int32]ClientHandler, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[code] = h
	c.handlers.Store(&m)
}

// Invoke sends req to addr and waits for the response, ctx bounding the whole call
// (dial included). It assigns req.Opaque. Errors wrap codec.ErrTimeout when ctx expires (the
// pending entry is removed), codec.ErrClosed when the connection dies first (promptly, not at
// the deadline), and codec.ErrFrameTooLarge when req cannot be framed.
func (c *Client) Invoke(ctx context.Context, addr string, req *codec.Command) (*codec.Command, error) {
	cc, err := c.conn(ctx, addr)
	if err != nil {
		return nil, err
	}
	req.Flag &^= codec.FlagResponse | codec.FlagOneway
	cl := pending.NewSync()
	op, err := c.register(cc, cl)
	if err != nil {
		return nil, err
	}
	req.Opaque = op
	if err := cc.write(req); err != nil {
		cc.pending.Take(op)
		return nil, err
	}
	if resp, err, ok := cc.readOwn(ctx, op, cl); ok {
		return resp, err
	}
	return cc.pending.Wait(ctx, op, cl)
}

// InvokeAsync sends req to addr and returns once it is queued for writing; cb receives
// the response or the error (codec.ErrTimeout when ctx ends first, codec.ErrClosed when the
// connection dies). cb runs exactly once unless InvokeAsync itself returns an error, in
// which case it never runs. cb runs on the connection's reader goroutine or a timer's
// (on the goroutine that finds the connection dead when it fails), so it must not
// block: hand longer work to another goroutine. It assigns req.Opaque.
func (c *Client) InvokeAsync(ctx context.Context, addr string, req *codec.Command, cb func(*codec.Command, error)) error {
	return c.InvokeAsyncExt(ctx, addr, req, nil, cb)
}

// InvokeAsyncExt is InvokeAsync for a caller that knows the answer's header: when ext is
// not nil, the response's extFields are passed to it (codec.ExtReader) before cb runs,
// and the command cb receives has a nil ExtFields unless the answer came with a JSON
// header. No map is built for the usual ROCKETMQ binary answer.
func (c *Client) InvokeAsyncExt(ctx context.Context, addr string, req *codec.Command, ext codec.ExtReader, cb func(*codec.Command, error)) error {
	return c.invokeAsync(ctx, addr, req, pending.NewAsyncExt(cb, ext))
}

// AsyncCall is the state of one asynchronous call, kept by a caller that makes many of
// them so that it is recycled rather than allocated per call (InvokeAsyncCall). The
// zero value is ready for use.
type AsyncCall struct{ c pending.Call }

// InvokeAsyncCall is InvokeAsyncExt with the call's state in call. The caller may use
// call again for its next call once cb has run (or InvokeAsyncCall has returned an
// error): once registered, a call is only compared by identity with what the table
// holds, never read, so an invoke still returning for an earlier use does no harm.
// Never two calls at once.
func (c *Client) InvokeAsyncCall(ctx context.Context, addr string, req *codec.Command, call *AsyncCall, ext codec.ExtReader, cb func(*codec.Command, error)) error {
	call.c.InitAsync(cb, ext)
	return c.invokeAsync(ctx, addr, req, &call.c)
}

// Expire fails the call last made with call (InvokeAsyncCall) with an error wrapping
// codec.ErrTimeout and context.DeadlineExceeded, as the end of a deadline context
// fails it, if it is still waiting for its answer: its callback then runs on this
// goroutine before Expire returns true. False when the call was completed (or is
// being completed) otherwise: its callback runs, or ran, on that other goroutine. For
// a caller that bounds a call with a timer of its own, reused from call to call,
// instead of a deadline context per call. Only the goroutine that made the call may
// expire it.
func (c *Client) Expire(call *AsyncCall) bool {
	op, ok := call.c.TakeBack()
	if !ok {
		return false
	}
	call.c.Complete(nil, pending.TimeoutError(op))
	return true
}

// invokeAsync sends req to addr with its outcome going to cl (InvokeAsync).
func (c *Client) invokeAsync(ctx context.Context, addr string, req *codec.Command, cl *pending.Call) error {
	cc, err := c.conn(ctx, addr)
	if err != nil {
		return err
	}
	req.Flag &^= codec.FlagResponse | codec.FlagOneway
	if ctx.Err() != nil {
		return pending.ContextError(ctx, 0)
	}
	op, err := c.register(cc, cl)
	if err != nil {
		return err
	}
	if ctx.Done() != nil {
		cc.watch(ctx, op, cl)
		if ctx.Err() != nil {
			// Ended already: whoever takes the entry completes the call, so either
			// the watch fails it (cb runs) or it is taken back here (cb never runs).
			if cc.pending.TakeIf(op, cl) {
				return pending.ContextError(ctx, op)
			}
			return nil
		}
	}
	req.Opaque = op
	if err := cc.queue(req); err != nil {
		if cc.pending.TakeIf(op, cl) {
			return err
		}
		return nil // already completed (connection failure): cb has the error
	}
	cc.wakeReader() // a free baton would leave the answer unread for readerIdle
	return nil
}

// InvokeOneway sends req to addr without waiting for an answer; it sets the oneway flag
// and assigns req.Opaque. It returns once the frame is queued; a later write failure is
// only logged. The dial, if one is needed, is bounded by DialTimeout.
func (c *Client) InvokeOneway(addr string, req *codec.Command) error {
	cc, err := c.conn(context.Background(), addr)
	if err != nil {
		return err
	}
	req.Flag = req.Flag&^codec.FlagResponse | codec.FlagOneway
	req.Opaque = c.opaque.Add(1)
	return cc.queue(req)
}

// Pending returns the number of calls waiting for a response on all connections.
func (c *Client) Pending() int {
	c.mu.Lock()
	conns := make([]*clientConn, 0, len(c.mu.conns))
	for _, cc := range c.mu.conns {
		conns = append(conns, cc)
	}
	c.mu.Unlock()
	n := 0
	for _, cc := range conns {
		n += cc.pending.Len()
	}
	return n
}

// CloseAddr closes the connection to addr, failing its in-flight calls with codec.ErrClosed;
// the next call to addr dials again.
func (c *Client) CloseAddr(addr string) {
	c.mu.Lock()
	cc := c.mu.conns[addr]
	c.mu.Unlock()
	if cc != nil {
		<-cc.ready
		cc.fail(codec.ErrClosed)
	}
}

// Close closes every connection, fails every in-flight call with codec.ErrClosed, and waits
// for the client's goroutines (readers, dialers, running request handlers) to end.
// Calls made after Close fail with codec.ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.mu.closed = true
	conns := make([]*clientConn, 0, len(c.mu.conns))
	for _, cc := range c.mu.conns {
		conns = append(conns, cc)
	}
	c.mu.Unlock()
	for _, cc := range conns {
		<-cc.ready
		cc.fail(codec.ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// register adds cl under a fresh opaque of this client.
func (c *Client) register(cc *clientConn, cl *pending.Call) (int32, error) {
	for {
		op := c.opaque.Add(1)
		err := cc.pending.Add(op, cl)
		if errors.Is(err, pending.ErrOpaqueInUse) {
			continue
		}
		return op, err
	}
}

// conn returns the live connection to addr, dialling it if there is none. Concurrent
// callers share one dial; each waits at most until its ctx ends.
func (c *Client) conn(ctx context.Context, addr string) (*clientConn, error) {
	// A connection is cached only once dialled; one that died (CloseAddr, Close, an
	// error) is dead before anything else learns of it, so it is never returned here.
	if cc := c.last.Load(); cc != nil && cc.addr == addr && !cc.dead.Load() {
		return cc, nil
	}
	for {
		c.mu.Lock()
		if c.mu.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("remoting: client: %w", codec.ErrClosed)
		}
		cc := c.mu.conns[addr]
		if cc == nil {
			cc = &clientConn{cl: c, addr: addr, ready: make(chan struct{}),
				kick: make(chan struct{}, 1), done: make(chan struct{})}
			cc.drained = sync.NewCond(&cc.wmu)
			c.mu.conns[addr] = cc
			c.wg.Add(1)
			go cc.dial()
		}
		c.mu.Unlock()
		select {
		case <-cc.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("remoting: connect %s: %w", addr, pending.ContextError(ctx, 0))
		}
		if cc.dialErr != nil {
			return nil, cc.dialErr
		}
		if !cc.dead.Load() {
			c.last.Store(cc)
			return cc, nil
		}
		c.forget(cc) // died since; the next round dials again
	}
}

// forget removes cc from the table if it is still the entry for its address.
func (c *Client) forget(cc *clientConn) {
	c.mu.Lock()
	if c.mu.conns[cc.addr] == cc {
		delete(c.mu.conns, cc.addr)
	}
	c.mu.Unlock()
}

// handlersFor returns the handler for a server-started request code.
func (c *Client) handlerFor(code int32) (ClientHandler, bool) {
	h, ok := (*c.handlers.Load())[code]
	return h, ok
}

// clientConn is one connection of a Client.
type clientConn struct {
	cl    *Client
	addr  string
	ready chan struct{} // closed when the dial finished; nc and dialErr are set then
	nc    net.Conn
	// dialErr is the dial's failure; the entry is already out of the table then.
	dialErr error

	pending pending.Table
	rb      baton // who reads (read.go)
	dead    atomic.Bool
	watchMu sync.Mutex
	watches map[<-chan struct{}]*ctxWatch // by ctx.Done(); see ctxwatch.go
	// lastDone and lastWatch skip the map lookup for the common run of calls that
	// share a context.
	lastDone  <-chan struct{}
	lastWatch *ctxWatch
	// spareCalls is the call list of an expired watch, for the next one (under watchMu).
	spareCalls []watchedCall
	failOnce   sync.Once

	// The writer (see write.go): frames are encoded into wbuf under wmu; whoever finds
	// no flush running becomes the flusher and writes everything queued in one write
	// (writev when BodyParts are queued) until the queue is empty. Synchronous callers
	// flush inline so a lone request is not delayed; asynchronous ones hand the flush to
	// the connection's writer goroutine, so a burst of them shares syscalls.
	wmu      sync.Mutex
	wbuf     []byte   // the chunk frames are being encoded into; not yet in wq
	wq       [][]byte // segments ahead of wbuf: full chunks and BodyParts, in order
	wown     [][]byte // the chunks in wq, recycled once written
	free     [][]byte // written chunks ready for reuse
	spareWq  [][]byte
	spareOwn [][]byte
	flushing bool
	queued   int           // bytes in wq and wbuf
	drained  *sync.Cond    // on wmu: signalled when a flush wrote, or the connection failed
	writes   atomic.Int64  // socket writes (one per flush round), for tests
	kick     chan struct{} // wakes the writer goroutine; buffered 1
	done     chan struct{} // closed when the connection fails

	lastQueue int64 // nanotime of the last queueFrom, under wmu; see idleGap
	// queuedBusy is set, under wmu, when a frame was queued during a flush without a
	// clock reading; the flush then stamps lastQueue when it ends.
	queuedBusy bool
	// raw is the socket for tryWriteLocked, under wmu; rawKnown once it was looked up
	// (raw stays nil for a TLS connection).
	raw      syscall.RawConn
	rawKnown bool
}

// dial connects and starts the reader; it runs on its own goroutine.
func (cc *clientConn) dial() {
	c := cc.cl
	defer c.wg.Done()
	nc, err := c.dialTCP(cc.addr)
	if err == nil {
		c.mu.Lock()
		if c.mu.closed {
			err = codec.ErrClosed
			_ = nc.Close()
		} else {
			cc.nc = nc
			cc.initBaton()
			c.wg.Add(2)
			go cc.readLoop()
			go cc.writeLoop()
		}
		c.mu.Unlock()
	}
	if err != nil {
		cc.dialErr = fmt.Errorf("remoting: connect %s: %w: %w", cc.addr, codec.ErrClosed, err)
		cc.dead.Store(true)
		c.forget(cc)
		cc.pending.FailAll(cc.dialErr)
		c.log.Debug().Err(err).Str("addr", cc.addr).Msg("dial failed")
	}
	close(cc.ready)
}

// dialTCP connects to addr and, with TLS configured, completes the handshake, all
// within DialTimeout.
func (c *Client) dialTCP(addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil || c.o.TLS == nil {
		return nc, err
	}
	tc, err := tlsconf.Dial(ctx, nc, c.o.TLS, addr)
	if err != nil {
		_ = nc.Close()
	}
	return tc, err
}

// fail marks the connection dead, closes the socket, removes it from the table and
// fails every in-flight call. It is idempotent.
func (cc *clientConn) fail(cause error) {
	cc.failOnce.Do(func() {
		cc.dead.Store(true)
		// Not found again by conn, and its free write chunks not kept alive by it.
		cc.cl.last.CompareAndSwap(cc, nil)
		close(cc.done)
		if cc.rb.idle != nil {
			cc.rb.idle.Stop()
		}
		cc.wmu.Lock()
		cc.drained.Broadcast()
		cc.wmu.Unlock()
		if cc.nc != nil {
			_ = cc.nc.Close()
		}
		cc.cl.forget(cc)
		err := cause
		if !errors.Is(err, codec.ErrClosed) {
			err = fmt.Errorf("%w: %w", codec.ErrClosed, cause)
		}
		// Deferred: a callback FailAll runs may panic (the other calls are completed
		// all the same, pending.FailAll), and the context watches must go regardless.
		defer cc.unwatchAll()
		cc.pending.FailAll(fmt.Errorf("remoting: connection to %s: %w", cc.addr, err))
		cc.cl.log.Debug().Err(cause).Str("addr", cc.addr).Msg("connection closed")
	})
}

// readerBufBytes is the read buffer; frames up to this size are decoded in place.
const readerBufBytes = 64 << 10

// readLoop is the reader goroutine: it reads frames while it holds the connection's
// read baton (read.go), until the connection fails.
func (cc *clientConn) readLoop() {
	defer cc.cl.wg.Done()
	for {
		cmd, pc, err := cc.readResponse(cc.rb.br)
		if err != nil {
			cc.fail(err)
			return
		}
		var sync bool
		if pc == nil {
			sync = cc.dispatch(cmd)
		} else {
			sync = pc.Sync()
			pc.Complete(cmd, nil)
		}
		if sync && cc.layDown() {
			select {
			case <-cc.rb.kick:
				cc.deliverCarried()
			case <-cc.done:
				cc.parkedAtClose()
				return
			}
		}
	}
}

// readResponse reads one frame. A binary response that fits the read buffer is matched
// to its call before it is decoded, so a call with an ExtReader gets the extFields
// without a map; it is then returned with its call, taken out of the table. Every other
// frame is returned alone, for dispatch. A taken call whose frame fails to decode is
// failed with the decode error here.
func (cc *clientConn) readResponse(br *bufio.Reader) (*codec.Command, *pending.Call, error) {
	prefix, err := br.Peek(codec.LengthPrefixBytes)
	if err != nil {
		return nil, nil, err
	}
	n, err := codec.FrameLength(prefix, cc.cl.o.MaxFrameBytes)
	if err != nil {
		return nil, nil, err
	}
	if codec.LengthPrefixBytes+n > br.Size() {
		cmd, err := readFrame(br, cc.cl.o.MaxFrameBytes)
		return cmd, nil, err
	}
	buf, err := br.Peek(codec.LengthPrefixBytes + n)
	if err != nil {
		return nil, nil, err
	}
	frame := buf[codec.LengthPrefixBytes:]
	op, ok := codec.ResponseOpaque(frame)
	if !ok {
		cmd, err := readFrame(br, cc.cl.o.MaxFrameBytes)
		return cmd, nil, err
	}
	pc := cc.pending.Take(op)
	var cmd *codec.Command
	switch {
	case pc == nil: // late (timed out) or unknown: dropped after the frame is checked
		_, err = codec.DecodeFrameCopy(frame)
	case pc.Ext != nil:
		cmd, err = codec.DecodeFrameExt(frame, pc.Ext)
	default:
		cmd, err = codec.DecodeFrameCopy(frame)
	}
	if err != nil {
		if pc != nil {
			pc.Complete(nil, fmt.Errorf("remoting: connection to %s: %w: %w", cc.addr, codec.ErrClosed, err))
		}
		return nil, nil, err
	}
	_, _ = br.Discard(codec.LengthPrefixBytes + n)
	if pc == nil {
		return nil, nil, nil
	}
	return cmd, pc, nil
}

// eagerFrameBytes is the largest frame whose buffer is allocated whole as soon as its
// length prefix arrives. Larger frames start from a buffer of this size that grows as
// bytes arrive, so a peer's claimed length alone never makes us allocate more than
// this per connection; a pull answer (up to a few hundred KiB by the broker's
// maxTransferBytesOnMessageInMemory) is read into one buffer of its exact size instead
// of a series of doubling copies.
const eagerFrameBytes = 4 << 20

// readFrame reads one frame. Small frames are decoded from the read buffer (only the
// body is copied); larger ones are read into a buffer of their own (see
// eagerFrameBytes) that the command's Body then aliases.
func readFrame(br *bufio.Reader, maxFrame int) (*codec.Command, error) {
	prefix, err := br.Peek(codec.LengthPrefixBytes)
	if err != nil {
		return nil, err
	}
	n, err := codec.FrameLength(prefix, maxFrame)
	if err != nil {
		return nil, err
	}
	if codec.LengthPrefixBytes+n <= br.Size() {
		frame, err := br.Peek(codec.LengthPrefixBytes + n)
		if err != nil {
			return nil, err
		}
		cmd, err := codec.DecodeFrameCopy(frame[codec.LengthPrefixBytes:])
		if err != nil {
			return nil, err
		}
		_, _ = br.Discard(codec.LengthPrefixBytes + n)
		return cmd, nil
	}
	_, _ = br.Discard(codec.LengthPrefixBytes)
	buf := make([]byte, 0, min(n, eagerFrameBytes))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = append(buf[:cap(buf)], make([]byte, min(cap(buf), n-len(buf)))...)[:len(buf)]
		}
		m, err := br.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return codec.DecodeFrame(buf)
}

// dispatch routes one frame from the server: responses to their pending call, requests
// to a handler goroutine. It reports whether it completed a synchronous call.
func (cc *clientConn) dispatch(cmd *codec.Command) (sync bool) {
	c := cc.cl
	if cmd == nil {
		return false // a response nobody waits for, already dropped
	}
	if cmd.IsResponse() {
		if pc := cc.takeAnswer(cmd); pc != nil {
			sync = pc.Sync()
			pc.Complete(cmd, nil)
		}
		return sync
	}
	h, ok := c.handlerFor(cmd.Code)
	if !ok {
		c.warn.Warn().Str("addr", cc.addr).Int32("code", cmd.Code).Msg("no handler for server request")
		if !cmd.IsOneway() {
			resp := cmd.NewResponse(code.RequestCodeNotSupported, fmt.Sprintf("request code %d not supported", cmd.Code))
			_ = cc.queueFrom(resp, false) // the reader never waits for the socket
		}
		return
	}
	if c.running.Add(1) > maxClientHandlers {
		c.running.Add(-1)
		c.warn.Warn().Str("addr", cc.addr).Int32("code", cmd.Code).Msg("too many server requests running; refused")
		if !cmd.IsOneway() {
			_ = cc.queueFrom(cmd.NewResponse(code.SystemBusy, "[OVERLOAD]client busy, too many requests running"), false)
		}
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.running.Add(-1)
		resp := c.serve(h, cc.addr, cmd)
		if resp == nil || cmd.IsOneway() {
			return
		}
		codec.PrepareResponse(cmd, resp)
		if err := cc.write(resp); err != nil {
			c.log.Debug().Err(err).Str("addr", cc.addr).Int32("code", cmd.Code).Msg("reply dropped")
		}
	}()
	return false
}

// takeAnswer takes the call a decoded answer is for out of the table, with the answer's
// extFields given to its ExtReader if it has one; nil when nobody waits (late or
// unknown).
func (cc *clientConn) takeAnswer(cmd *codec.Command) *pending.Call {
	pc := cc.pending.Take(cmd.Opaque)
	if pc != nil && pc.Ext != nil {
		codec.FeedExt(pc.Ext, cmd.ExtFields)
	}
	return pc
}

// serve runs a request handler, turning a panic into a SYSTEM_ERROR response.
func (c *Client) serve(h ClientHandler, addr string, req *codec.Command) (resp *codec.Command) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error().Int32("code", req.Code).Str("panic", fmt.Sprint(r)).Msg("request handler panicked")
			resp = req.HandlerFailed(r)
		}
	}()
	return h(addr, req)
}

// warnSampler bounds the warnings one client logs about misbehaving servers: 20 a
// second, as the server does for its peers.
func warnSampler() zerolog.Sampler {
	return &zerolog.BurstSampler{Burst: 20, Period: time.Second}
}

// NewRequest is codec.NewRequest, here so that a program that only calls brokers can
// build a plain request with this package alone.
func NewRequest(code int32, ext map[string]string, body []byte) *codec.Command {
	return codec.NewRequest(code, ext, body)
}
