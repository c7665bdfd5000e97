package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// ServerOptions configures a Server.
type ServerOptions struct {
	// Addr is the listen address: "0.0.0.0:10911" in production, "127.0.0.1:0" in tests.
	Addr string `mapstructure:"addr"`
	// MaxFrameBytes bounds one frame, read or written; codec.DefaultMaxFrameBytes (16 MiB)
	// when zero. A peer that announces a larger frame is disconnected.
	MaxFrameBytes int `mapstructure:"max_frame_bytes"`
	// Workers is the size of the pool that runs handlers registered with HandleAsync;
	// 16 when zero.
	Workers int `mapstructure:"workers"`
	// WorkerQueue bounds the requests waiting for a worker; 4096 when zero. A request
	// that finds the queue full is answered SYSTEM_BUSY at once.
	WorkerQueue int `mapstructure:"worker_queue"`
	// MaxOutboundBytes bounds what may wait in a connection's send buffer; a peer that
	// lets more pile up by not reading is disconnected. 64 MiB when zero.
	MaxOutboundBytes int `mapstructure:"max_outbound_bytes"`
	// MaxBufferedRequestBytes bounds the bytes held for all peers in unfinished frames
	// and in requests waiting for or running on a worker (budget.go);
	// DefaultMaxBufferedRequestBytes when zero. Past it, connections whose next frame
	// is larger than SmallFrameBytes stop being read until room is released.
	MaxBufferedRequestBytes int64 `mapstructure:"max_buffered_request_bytes"`
	// MaxBufferedRequestBytesPerConn bounds the same for one connection;
	// DefaultMaxBufferedRequestBytesPerConn when zero, and never below one whole frame.
	MaxBufferedRequestBytesPerConn int64 `mapstructure:"max_buffered_request_bytes_per_conn"`
	// FrameReadTimeout is how long a frame may take to arrive from its first byte; the
	// connection is closed when it has not. DefaultFrameReadTimeout when zero.
	FrameReadTimeout time.Duration `mapstructure:"frame_read_timeout"`
	// EventLoops is the number of gnet event loops; the number of CPUs when zero.
	EventLoops int `mapstructure:"event_loops"`
	// Logger receives connection-level warnings; zerolog.Nop() when zero.
	Logger zerolog.Logger `mapstructure:"-"`
	// TLS is the listener's tls.mode and configuration (tls.go); the zero value is
	// disabled, and then nothing differs from a server without TLS.
	TLS tlsconf.Server `mapstructure:"-"`
}

// Handler serves one request. It returns the response to write now, or nil when it
// answers later with conn.Reply (completion) or the request needs no answer. The
// response's opaque, response flag and serialization are set from the request before it
// is written. Handlers registered with Server.Handle run on the event loop and must not
// block; those registered with HandleAsync run on the bounded worker pool.
type Handler func(conn *Conn, req *codec.Command) *codec.Command

// route is one registered handler.
type route struct {
	h     Handler
	async bool
	batch BatchHandler // set for a batched route (batch.go); h is nil then
	raw   bool         // requests arrive with their extFields unparsed (HandleBatchRaw)
}

// task is one request handed to the worker pool.
type task struct {
	conn *Conn
	req  *codec.Command
	h    Handler
	size int64 // the request's frame size, released from the budget once served
}

// Server accepts connections on a gnet engine, decodes frames and dispatches requests to
// handlers by code. Responses to requests the server started (Conn.Invoke) are matched
// by opaque. Handlers may be registered before or after Start.
type Server struct {
	o    ServerOptions
	log  zerolog.Logger
	warn zerolog.Logger // log, sampled: per-connection anomalies can come in floods

	routes   atomic.Pointer[map[int32]route] // copy-on-write; read on every request
	rawExtFn func(code int32) bool           // s.rawExt, made once for the decoder
	routesMu sync.Mutex                      // serializes route writers
	onOpen   atomic.Pointer[func(*Conn)]
	onClose  atomic.Pointer[func(*Conn)]

	nextID     atomic.Uint64
	nextOpaque atomic.Int32

	budget   budget
	conns    sync.Map      // id → *Conn, for the frame deadline
	stopReap chan struct{} // closed by Close

	work     chan task
	workers  sync.WaitGroup
	stopOnce sync.Once // closes work exactly once

	started   atomic.Bool
	booted    chan struct{} // closed by OnBoot once the listener is known
	runDone   chan struct{} // closed when gnet.Run returns
	runErr    error         // gnet.Run's result; read after runDone
	bootErr   error         // listener address lookup failure; read after runDone/booted
	eng       gnet.Engine   // set in OnBoot, read after booted
	addr      netip.AddrPort
	closeOnce sync.Once
	closeErr  error
	front     *front // the Go listener when TLS is on (tls.go); set before booted
}

// NewServer returns a server that is not yet listening; register handlers, then Start.
func NewServer(o ServerOptions) *Server {
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = codec.DefaultMaxFrameBytes
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.MaxOutboundBytes <= 0 {
		o.MaxOutboundBytes = 64 << 20
	}
	if o.WorkerQueue <= 0 {
		o.WorkerQueue = 4096
	}
	if o.MaxBufferedRequestBytes <= 0 {
		o.MaxBufferedRequestBytes = DefaultMaxBufferedRequestBytes
	}
	if o.MaxBufferedRequestBytesPerConn <= 0 {
		o.MaxBufferedRequestBytesPerConn = min(DefaultMaxBufferedRequestBytesPerConn, o.MaxBufferedRequestBytes)
	}
	// A whole frame always fits one connection's share, and one share the total, so
	// an admissible frame is never refused for ever.
	o.MaxBufferedRequestBytesPerConn = max(o.MaxBufferedRequestBytesPerConn, int64(codec.LengthPrefixBytes+o.MaxFrameBytes))
	o.MaxBufferedRequestBytes = max(o.MaxBufferedRequestBytes, o.MaxBufferedRequestBytesPerConn)
	if o.FrameReadTimeout <= 0 {
		o.FrameReadTimeout = DefaultFrameReadTimeout
	}
	s := &Server{
		o:        o,
		budget:   budget{limit: o.MaxBufferedRequestBytes, perConn: o.MaxBufferedRequestBytesPerConn},
		stopReap: make(chan struct{}),
		log:      o.Logger.With().Str("component", "remoting").Logger(),
		work:     make(chan task, o.WorkerQueue),
		booted:   make(chan struct{}),
		runDone:  make(chan struct{}),
	}
	s.warn = s.log.Sample(warnSampler())
	s.routes.Store(&map[int32]route{})
	s.rawExtFn = s.rawExt
	return s
}

// Queued returns the number of requests waiting for a worker (HandleAsync handlers);
// WorkerQueue bounds it.
func (s *Server) Queued() int { return len(s.work) }

// Handle registers h for code; h runs on the event loop and must not block.
func (s *Server) Handle(code int32, h Handler) { s.setRoute(code, route{h: h}) }

// HandleAsync registers h for code; h runs on the bounded worker pool, so it may block
// (briefly: a blocked worker holds back every async code).
func (s *Server) HandleAsync(code int32, h Handler) { s.setRoute(code, route{h: h, async: true}) }

func (s *Server) setRoute(code int32, r route) {
	s.routesMu.Lock()
	defer s.routesMu.Unlock()
	old := *s.routes.Load()
	m := make(map[int32]route, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[code] = r
	s.routes.Store(&m)
}

// OnOpen sets a hook called on the event loop when a connection is accepted. It must
// not block.
func (s *Server) OnOpen(fn func(*Conn)) { s.onOpen.Store(&fn) }

// OnClose sets a hook called on the event loop after a connection closed (its pending
// Invoke calls have already failed). It must not block.
//
// The hook may run inside the event loop's own write (a failed write closes the
// connection right there), but never with a connection's write lock held (direct.go):
// it may write to other connections, as the broker's notice to a consumer group does,
// even when their loops are closing theirs and writing to this one at the same moment.
func (s *Server) OnClose(fn func(*Conn)) { s.onClose.Store(&fn) }

// Start binds the listener and starts the event loops and workers. It returns once the
// server is listening (Addr is valid then), or with the bind error; ctx bounds the wait.
// The event loops come up right after, and connections arriving meanwhile wait in the
// listen backlog.
func (s *Server) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("remoting: server already started")
	}
	for range s.o.Workers {
		s.workers.Add(1)
		go s.worker()
	}
	s.workers.Add(1)
	go s.reap()
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{s.log}),
		gnet.WithReadBufferCap(ReadBufferBytes),
	}
	if s.o.EventLoops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(s.o.EventLoops))
	}
	if s.o.TLS.On() {
		return s.startFront(ctx, opts)
	}
	go func() {
		defer close(s.runDone)
		s.runErr = gnet.Run(&events{s: s}, "tcp://"+s.o.Addr, opts...)
	}()
	select {
	case <-s.booted:
		if s.bootErr != nil {
			_ = s.Close()
			return fmt.Errorf("remoting: listen %s: %w", s.o.Addr, s.bootErr)
		}
		s.log.Info().Str("addr", s.addr.String()).Msg("listening")
		return nil
	case <-s.runDone:
		// The engine never ran; Close has nothing left to do but the workers.
		s.closeOnce.Do(s.stopWorkers)
		if s.runErr == nil {
			s.runErr = codec.ErrClosed
		}
		return fmt.Errorf("remoting: listen %s: %w", s.o.Addr, s.runErr)
	case <-ctx.Done():
		_ = s.Close()
		return fmt.Errorf("remoting: listen %s: %w", s.o.Addr, ctx.Err())
	}
}

// Addr returns the bound address, with port 0 resolved; the zero value before Start.
func (s *Server) Addr() netip.AddrPort {
	select {
	case <-s.booted:
		return s.addr
	default:
		return netip.AddrPort{}
	}
}

// Close stops accepting, closes every connection (OnClose hooks run), waits for the
// event loops to exit, then drains and stops the worker pool. Later calls return the
// first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if !s.started.Load() {
			return
		}
		select {
		case <-s.booted:
			if s.front != nil {
				s.front.close()
				break
			}
			// Engine.Stop polls for completion every 500 ms; with a cancelled context
			// it only triggers the shutdown, and gnet.Run returning is the real
			// completion signal.
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			_ = s.eng.Stop(cancelled)
		case <-s.runDone:
		}
		<-s.runDone
		s.stopWorkers()
		if s.runErr != nil && s.bootErr == nil {
			s.closeErr = fmt.Errorf("remoting: engine: %w", s.runErr)
		}
	})
	return s.closeErr
}

// stopWorkers ends the worker pool once no event loop can submit to it any more.
func (s *Server) stopWorkers() {
	s.stopOnce.Do(func() {
		close(s.stopReap)
		close(s.work)
		s.workers.Wait()
	})
}

// worker runs async handlers until the work channel closes.
func (s *Server) worker() {
	defer s.workers.Done()
	for t := range s.work {
		resp := s.serve(t.h, t.conn, t.req)
		if resp != nil && !t.req.IsOneway() {
			codec.PrepareResponse(t.req, resp)
			if err := t.conn.Reply(resp); err != nil {
				s.log.Debug().Err(err).Uint64("conn", t.conn.id).Int32("code", t.req.Code).Msg("reply dropped")
			}
		}
		t.conn.queued.Add(-t.size)
		s.budget.release(t.size)
	}
}

// serve runs a handler, turning a panic into a SYSTEM_ERROR response so that a bug in
// one handler never takes the process down.
func (s *Server) serve(h Handler, c *Conn, req *codec.Command) (resp *codec.Command) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error().Int32("code", req.Code).Int32("opaque", req.Opaque).
				Str("panic", fmt.Sprint(r)).Msg("handler panicked")
			resp = req.HandlerFailed(r)
		}
	}()
	return h(c, req)
}

// dispatch handles one decoded frame of size bytes on the event loop. The frame's
// reservation in the budget moves to the worker that serves it, or is released here.
func (s *Server) dispatch(c *Conn, cmd *codec.Command, size int64) {
	if s.dispatchAsync(c, cmd, size) {
		return
	}
	s.budget.release(size)
}

// dispatchAsync handles cmd and reports whether a worker took it (and its size).
func (s *Server) dispatchAsync(c *Conn, cmd *codec.Command, size int64) bool {
	if cmd.IsResponse() {
		if cl := c.pending.Take(cmd.Opaque); cl != nil {
			cl.Complete(cmd, nil)
		} else {
			s.log.Debug().Uint64("conn", c.id).Int32("opaque", cmd.Opaque).Msg("response without a pending call dropped")
		}
		return false
	}
	r, ok := (*s.routes.Load())[cmd.Code]
	if !ok {
		if !cmd.IsOneway() {
			c.queue(cmd, cmd.NewResponse(code.RequestCodeNotSupported,
				fmt.Sprintf("request code %d not supported", cmd.Code)))
		}
		return false
	}
	if r.async {
		c.queued.Add(size)
		select {
		case s.work <- task{conn: c, req: cmd, h: r.h, size: size}:
			return true
		default:
			c.queued.Add(-size)
			if !cmd.IsOneway() {
				c.queue(cmd, cmd.NewResponse(code.SystemBusy,
					"[OVERLOAD]system busy, too many requests waiting for a worker"))
			}
		}
		return false
	}
	if resp := s.serve(r.h, c, cmd); resp != nil && !cmd.IsOneway() {
		c.queue(cmd, resp)
	}
	return false
}

// events adapts the Server to gnet's EventHandler without putting gnet's callbacks on
// the Server's method set.
type events struct {
	gnet.BuiltinEventEngine
	s *Server
}

// OnBoot records the engine and the bound address: the listener's file descriptor is
// duplicated and asked for its name, which resolves port 0.
func (e *events) OnBoot(eng gnet.Engine) gnet.Action {
	s := e.s
	s.eng = eng
	defer close(s.booted)
	fd, err := eng.Dup()
	if err != nil {
		s.bootErr = err
		return gnet.Shutdown
	}
	sa, err := syscall.Getsockname(fd)
	_ = syscall.Close(fd)
	if err != nil {
		s.bootErr = err
		return gnet.Shutdown
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		s.addr = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		s.addr = netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	default:
		s.bootErr = fmt.Errorf("unexpected listener address %T", sa)
		return gnet.Shutdown
	}
	return gnet.None
}

// OnOpen wraps the connection and runs the owner's hook.
func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := e.s
	c := newConn(s, gc)
	if p, ok := gc.Context().(peer); ok {
		c.remote = p.addr // a TLS connection's socketpair end (tls.go)
	} else if ta, ok := gc.RemoteAddr().(*net.TCPAddr); ok {
		c.remote = ta.AddrPort()
		c.remote = netip.AddrPortFrom(c.remote.Addr().Unmap(), c.remote.Port())
	}
	gc.SetContext(c)
	s.conns.Store(c.id, c)
	if fn := s.onOpen.Load(); fn != nil {
		(*fn)(c)
	}
	return nil, gnet.None
}

// OnClose fails the connection's pending calls and runs the owner's hook.
func (e *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.None
	}
	c.closed.Store(true)
	c.direct.close() // gnet closes the descriptor after this returns (direct.go)
	c.big = nil
	e.s.conns.Delete(c.id)
	e.s.budget.forget(c)
	e.s.budget.release(c.claim.Swap(0))
	c.frameSince.Store(0)
	cause := codec.ErrClosed
	if err != nil {
		cause = fmt.Errorf("%w: %w", codec.ErrClosed, err)
	}
	c.pending.FailAll(fmt.Errorf("remoting: connection %d to %s: %w", c.id, c.remote, cause))
	if fn := e.s.onClose.Load(); fn != nil {
		(*fn)(c)
	}
	return gnet.None
}

// OnTraffic decodes every whole frame in the inbound buffer and dispatches it; the
// responses produced inline are written with one write at the end. A frame over the
// limit or a malformed header closes this connection only. A frame the budget cannot
// admit yet pauses the connection (budget.go); OnTraffic runs again when it is woken.
func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	if c.closed.Load() {
		return gnet.None // a wake-up that outlived its connection
	}
	s := e.s
	c.resume()
	start := gc.InboundBuffered() // the bytes gnet kept (c.carried), then this read's
	decoded := false
	var blocked int64
	for !c.closed.Load() {
		if c.big != nil {
			if !c.fillBig(gc) {
				break
			}
			size := int64(len(c.big))
			cmd, err := codec.DecodeFrame(c.big[codec.LengthPrefixBytes:]) // the body keeps c.big
			c.big = nil
			if err != nil {
				s.warn.Warn().Err(err).Uint64("conn", c.id).Str("addr", c.remote.String()).Msg("closing connection: bad frame")
				c.flush()
				return gnet.Close
			}
			c.admitted = false
			c.claim.Store(0)
			decoded = true
			s.dispatchFrame(c, cmd, size, false)
			continue
		}
		prefix, err := gc.Peek(codec.LengthPrefixBytes)
		if err != nil {
			break // need more bytes
		}
		n, err := codec.FrameLength(prefix, s.o.MaxFrameBytes)
		if err != nil {
			s.warn.Warn().Err(err).Uint64("conn", c.id).Str("addr", c.remote.String()).Msg("closing connection: bad frame")
			c.flush() // answers to the good frames before it still go out
			return gnet.Close
		}
		size := int64(codec.LengthPrefixBytes + n)
		if !c.admitted {
			if !s.budget.admit(c, size) {
				blocked = size
				break
			}
			c.admitted = true
		}
		if size > SmallFrameBytes {
			// Assembled in a buffer of exactly its declared size, so what it
			// holds is what the budget counts: gnet's inbound buffer would grow by
			// doubling and leave garbage behind.
			c.big = make([]byte, 0, size)
			continue
		}
		frame, err := gc.Peek(codec.LengthPrefixBytes + n)
		if err != nil {
			break // the frame is not complete yet
		}
		// A frame wholly in this read's bytes stays where it is until OnTraffic
		// returns, so a raw route's request may borrow its body (runBatch serves it
		// before then); one that began in the bytes gnet kept from an earlier read
		// may have been pieced together in a scratch buffer reused by the next Peek,
		// and its body is copied.
		var cmd *codec.Command
		lent := false
		if start-gc.InboundBuffered() >= c.carried {
			cmd, lent, err = codec.DecodeFrameLent(frame[codec.LengthPrefixBytes:], s.rawExtFn, &c.arena)
		} else {
			cmd, err = codec.DecodeFrameCopyLazy(frame[codec.LengthPrefixBytes:], s.rawExtFn, &c.arena)
		}
		if err != nil {
			s.warn.Warn().Err(err).Uint64("conn", c.id).Str("addr", c.remote.String()).Msg("closing connection: bad frame")
			c.flush()
			return gnet.Close
		}
		_, _ = gc.Discard(codec.LengthPrefixBytes + n)
		c.admitted = false
		c.claim.Store(0) // the reservation now belongs to the request
		decoded = true
		s.dispatchFrame(c, cmd, size, lent)
	}
	inbound := gc.InboundBuffered()
	c.carried = inbound // gnet keeps what is left in its own buffer
	if !c.admitted {
		s.budget.setClaim(c, int64(inbound))
	}
	c.markFrame(inbound > 0 || c.big != nil, decoded)
	if blocked > 0 {
		if err := c.pause(); err != nil {
			s.warn.Warn().Err(err).Uint64("conn", c.id).Str("addr", c.remote.String()).
				Msg("closing connection: over the request memory budget and reads cannot pause")
			c.flush()
			return gnet.Close
		}
		s.budget.wait(c, blocked)
	}
	if !c.flush() {
		return gnet.Close
	}
	return gnet.None
}

// BufferedBytes returns the bytes counted in the request memory budget now: unfinished
// frames and requests with the workers (budget.go).
func (s *Server) BufferedBytes() int64 { return s.budget.used.Load() }

// PausedConns returns the number of connections not being read because their next
// frame does not fit the budget.
func (s *Server) PausedConns() int {
	s.budget.mu.Lock()
	defer s.budget.mu.Unlock()
	return len(s.budget.waiting)
}

// reap closes, every quarter of FrameReadTimeout (at most each second), the
// connections whose unfinished frame began longer ago than FrameReadTimeout: a peer
// that stops in the middle of a frame must not hold its bytes for ever.
func (s *Server) reap() {
	defer s.workers.Done()
	timeout := s.o.FrameReadTimeout
	t := time.NewTicker(min(max(timeout/4, 10*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.stopReap:
			return
		case now := <-t.C:
			s.conns.Range(func(_, v any) bool {
				c := v.(*Conn)
				since := c.frameSince.Load()
				if since != 0 && now.UnixNano()-since >= int64(timeout) && c.frameSince.CompareAndSwap(since, 0) {
					s.warn.Warn().Uint64("conn", c.id).Str("addr", c.remote.String()).
						Int64("held", c.claim.Load()).Dur("frameReadTimeout", timeout).
						Msg("closing connection: frame not complete in time")
					_ = c.gc.Close()
				}
				return true
			})
		}
	}
}

// warnSampler bounds the warnings one server logs about misbehaving peers (the
// transport samples its own the same way).
func warnSampler() zerolog.Sampler {
	return &zerolog.BurstSampler{Burst: 20, Period: time.Second}
}

// gnetLogger routes gnet's own log lines into zerolog. Fatal lines are logged as errors:
// a library never exits the process.
type gnetLogger struct{ l zerolog.Logger }

func (g gnetLogger) Debugf(format string, args ...any) { g.l.Debug().Msgf(format, args...) }
func (g gnetLogger) Infof(format string, args ...any)  { g.l.Debug().Msgf(format, args...) }
func (g gnetLogger) Warnf(format string, args ...any)  { g.l.Warn().Msgf(format, args...) }
func (g gnetLogger) Errorf(format string, args ...any) { g.l.Error().Msgf(format, args...) }
func (g gnetLogger) Fatalf(format string, args ...any) { g.l.Error().Msgf(format, args...) }
