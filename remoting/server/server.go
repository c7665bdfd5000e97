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
}

// task is one request handed to the worker pool.
type task struct {
	conn *Conn
	req  *codec.Command
	h    Handler
}

// Server accepts connections on a gnet engine, decodes frames and dispatches requests to
// handlers by code. Responses to requests the server started (Conn.Invoke) are matched
// by opaque. Handlers may be registered before or after Start.
type Server struct {
	o    ServerOptions
	log  zerolog.Logger
	warn zerolog.Logger // log, sampled: per-connection anomalies can come in floods

	routes   atomic.Pointer[map[int32]route] // copy-on-write; read on every request
	routesMu sync.Mutex                      // serializes route writers
	onOpen   atomic.Pointer[func(*Conn)]
	onClose  atomic.Pointer[func(*Conn)]

	nextID     atomic.Uint64
	nextOpaque atomic.Int32

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
	s := &Server{
		o:       o,
		log:     o.Logger.With().Str("component", "remoting").Logger(),
		work:    make(chan task, o.WorkerQueue),
		booted:  make(chan struct{}),
		runDone: make(chan struct{}),
	}
	s.warn = s.log.Sample(warnSampler())
	s.routes.Store(&map[int32]route{})
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
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{s.log}),
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
	}
}

// serve runs a handler, turning a panic into a SYSTEM_ERROR response so that a bug in
// one handler never takes the process down.
func (s *Server) serve(h Handler, c *Conn, req *codec.Command) (resp *codec.Command) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error().Int32("code", req.Code).Int32("opaque", req.Opaque).
				Str("panic", fmt.Sprint(r)).Msg("handler panicked")
			resp = req.NewResponse(code.SystemError, fmt.Sprintf("handler for request code %d failed: %v", req.Code, r))
		}
	}()
	return h(c, req)
}

// dispatch handles one decoded frame on the event loop.
func (s *Server) dispatch(c *Conn, cmd *codec.Command) {
	if cmd.IsResponse() {
		if cl := c.pending.Take(cmd.Opaque); cl != nil {
			cl.Complete(cmd, nil)
		} else {
			s.log.Debug().Uint64("conn", c.id).Int32("opaque", cmd.Opaque).Msg("response without a pending call dropped")
		}
		return
	}
	r, ok := (*s.routes.Load())[cmd.Code]
	if !ok {
		if !cmd.IsOneway() {
			c.queue(cmd, cmd.NewResponse(code.RequestCodeNotSupported,
				fmt.Sprintf("request code %d not supported", cmd.Code)))
		}
		return
	}
	if r.async {
		select {
		case s.work <- task{conn: c, req: cmd, h: r.h}:
		default:
			if !cmd.IsOneway() {
				c.queue(cmd, cmd.NewResponse(code.SystemBusy,
					"[OVERLOAD]system busy, too many requests waiting for a worker"))
			}
		}
		return
	}
	if resp := s.serve(r.h, c, cmd); resp != nil && !cmd.IsOneway() {
		c.queue(cmd, resp)
	}
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
// limit or a malformed header closes this connection only.
func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	s := e.s
	for !c.closed.Load() {
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
		frame, err := gc.Peek(codec.LengthPrefixBytes + n)
		if err != nil {
			break // the frame is not complete yet
		}
		// The peeked bytes are reused once discarded; the body outlives them.
		cmd, err := codec.DecodeFrameCopy(frame[codec.LengthPrefixBytes:])
		if err != nil {
			s.warn.Warn().Err(err).Uint64("conn", c.id).Str("addr", c.remote.String()).Msg("closing connection: bad frame")
			c.flush()
			return gnet.Close
		}
		_, _ = gc.Discard(codec.LengthPrefixBytes + n)
		s.dispatch(c, cmd)
	}
	if !c.flush() {
		return gnet.Close
	}
	return gnet.None
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
