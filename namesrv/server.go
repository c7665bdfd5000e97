package namesrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	im "github.com/rocketgo/rocketgo/internal/metrics"
	"github.com/rocketgo/rocketgo/namesrv/controller"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// Options configures a Server. Keys are lowerCamel, as in RocketMQ's namesrv.properties.
type Options struct {
	// ListenAddr is the address to listen on: "0.0.0.0:9876" by default, "127.0.0.1:0"
	// in tests (the bound port is then read back with Server.Addr).
	ListenAddr string `mapstructure:"listenAddr"`
	// BrokerExpiry is how long a broker stays in the route table without registering
	// again (RocketMQ's BROKER_CHANNEL_EXPIRED_TIME, 120 s). Brokers register every
	// 30 s, so the default tolerates three missed registrations.
	BrokerExpiry time.Duration `mapstructure:"brokerExpiry"`
	// ScanInterval is how often the table is swept for expired brokers (10 s).
	ScanInterval time.Duration `mapstructure:"scanInterval"`
	// MaxFrameBytes bounds one remoting frame (16 MiB, as Java's frameMaxLength). A
	// registration body must fit in it.
	MaxFrameBytes int `mapstructure:"maxFrameBytes"`
	// MaxBufferedRequestBytes bounds the bytes held for all peers in unfinished frames
	// and queued registrations (128 MiB); past it, large frames wait with their
	// sockets unread (docs/operations.md §1.5).
	MaxBufferedRequestBytes int64 `mapstructure:"maxBufferedRequestBytes"`
	// MaxBufferedRequestBytesPerConn bounds the same for one connection (32 MiB).
	MaxBufferedRequestBytesPerConn int64 `mapstructure:"maxBufferedRequestBytesPerConn"`
	// FrameReadTimeout closes a connection whose frame has not arrived whole this long
	// after its first byte (30 s).
	FrameReadTimeout time.Duration `mapstructure:"frameReadTimeout"`

	// MetricsExporterType is PROM (serve /metrics, /healthz, /readyz; the default) or
	// DISABLE (metricsExporterType; docs/metrics.md).
	MetricsExporterType string `mapstructure:"metricsExporterType"`
	// MetricsPromExporterHost is the metrics listen host; empty means every interface.
	MetricsPromExporterHost string `mapstructure:"metricsPromExporterHost"`
	// MetricsPromExporterPort is the NameServer's metrics port, 5558 (its own key,
	// namesrvMetricsPromExporterPort, so a broker and a NameServer on one host, or in
	// one standalone process, do not collide on Apache's 5557); 0 means kernel-chosen.
	MetricsPromExporterPort int `mapstructure:"namesrvMetricsPromExporterPort"`
	// EnablePprof serves Go's pprof on the metrics port (off).
	EnablePprof bool `mapstructure:"enablePprof"`

	// KvConfigPath is the file the KV table (PUT_KV_CONFIG and friends) is kept in,
	// Apache's kvConfig.json: ~/namesrv/kvConfig.json by default, as in RocketMQ (a
	// leading ~/ is the user's home). It is read at Start and rewritten after every
	// change.
	KvConfigPath string `mapstructure:"kvConfigPath"`
	// OrderMessageEnable makes GET_ROUTEINFO_BY_TOPIC answers carry the topic's entry of
	// the ORDER_TOPIC_CONFIG namespace as orderTopicConf (off, as in RocketMQ). It can
	// be changed while the server runs (UPDATE_NAMESRV_CONFIG).
	OrderMessageEnable bool `mapstructure:"orderMessageEnable"`
	// TLS is the process's `tls` section (conf copies it here); its server half decides
	// the listener's tls.mode (docs/tls.md). The zero value is TLS off.
	TLS tlsconf.Options `mapstructure:"-"`
	// EnableControllerInNamesrv runs a controller of controller mode (docs/failover.md)
	// inside this NameServer, answering on its port (enableControllerInNamesrv).
	EnableControllerInNamesrv bool `mapstructure:"enableControllerInNamesrv"`
	// Controller configures that controller.
	Controller controller.Options `mapstructure:"controller"`

	// Logger receives the server's logs; zerolog.Nop() by default.
	Logger zerolog.Logger `mapstructure:"-"`
	// Now is the clock used for broker liveness; time.Now when nil. Tests inject a
	// manual clock and drive expiry with it.
	Now func() time.Time `mapstructure:"-"`
}

// Limits Validate enforces on MaxFrameBytes: below 64 KiB a broker with a few hundred
// topics could no longer register; above 1 GiB one frame could exhaust memory.
const (
	minFrameBytes = 64 << 10
	maxFrameBytes = 1 << 30
)

// DefaultOptions returns RocketMQ's namesrv defaults: port 9876, 120 s broker expiry,
// a sweep every 10 s, 16 MiB frames.
func DefaultOptions() Options {
	return Options{
		ListenAddr:    "0.0.0.0:9876",
		BrokerExpiry:  120 * time.Second,
		ScanInterval:  10 * time.Second,
		MaxFrameBytes: 16 << 20,
		Controller:    controller.DefaultOptions(),
		Logger:        zerolog.Nop(),

		MaxBufferedRequestBytes:        server.DefaultMaxBufferedRequestBytes,
		MaxBufferedRequestBytesPerConn: server.DefaultMaxBufferedRequestBytesPerConn,
		FrameReadTimeout:               server.DefaultFrameReadTimeout,

		MetricsExporterType:     im.ExporterProm,
		MetricsPromExporterPort: im.DefaultNamesrvPort,
		KvConfigPath:            "~/namesrv/kvConfig.json",
	}
}

// expandHome resolves a leading "~/" to the user's home directory, so that the
// default reads as NamesrvConfig's ${user.home}/namesrv/kvConfig.json does.
func expandHome(path string) (string, error) {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("namesrv: kvConfigPath %q: %w", path, err)
	}
	return filepath.Join(home, rest), nil
}

// Validate reports the first option that cannot work, naming its key.
func (o Options) Validate() error {
	host, port, err := net.SplitHostPort(o.ListenAddr)
	if err != nil {
		return fmt.Errorf("namesrv: listenAddr %q: %w", o.ListenAddr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("namesrv: listenAddr %q: port %q is not a number in 0..65535", o.ListenAddr, port)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("namesrv: listenAddr %q: host %q is not an IP address", o.ListenAddr, host)
	}
	if o.BrokerExpiry <= 0 {
		return fmt.Errorf("namesrv: brokerExpiry %v must be positive", o.BrokerExpiry)
	}
	if o.ScanInterval <= 0 {
		return fmt.Errorf("namesrv: scanInterval %v must be positive", o.ScanInterval)
	}
	if o.ScanInterval > o.BrokerExpiry {
		return fmt.Errorf("namesrv: scanInterval %v exceeds brokerExpiry %v: dead brokers would outlive their expiry", o.ScanInterval, o.BrokerExpiry)
	}
	if o.KvConfigPath == "" {
		return fmt.Errorf("namesrv: kvConfigPath is empty")
	}
	if o.MaxFrameBytes < minFrameBytes || o.MaxFrameBytes > maxFrameBytes {
		return fmt.Errorf("namesrv: maxFrameBytes %d outside %d..%d", o.MaxFrameBytes, minFrameBytes, maxFrameBytes)
	}
	if o.MaxBufferedRequestBytesPerConn < int64(o.MaxFrameBytes)+4 {
		return fmt.Errorf("namesrv: maxBufferedRequestBytesPerConn %d is under one whole frame (maxFrameBytes + 4 = %d)", o.MaxBufferedRequestBytesPerConn, o.MaxFrameBytes+4)
	}
	if o.MaxBufferedRequestBytes < o.MaxBufferedRequestBytesPerConn {
		return fmt.Errorf("namesrv: maxBufferedRequestBytes %d is under maxBufferedRequestBytesPerConn %d", o.MaxBufferedRequestBytes, o.MaxBufferedRequestBytesPerConn)
	}
	if o.FrameReadTimeout < 10*time.Millisecond {
		return fmt.Errorf("namesrv: frameReadTimeout %v is under 10ms (durations take a unit, e.g. 30s)", o.FrameReadTimeout)
	}
	return o.validateMetrics() // observe.go
}

// registerWorkers is the number of registrations decoded at once.
const registerWorkers = 4

// Server is one NameServer: it listens for brokers' registrations and clients' route
// queries and answers them from its in-memory route table. Several Servers share
// nothing; a broker registers with each of them.
type Server struct {
	o       Options
	log     zerolog.Logger
	now     func() time.Time
	rs      *server.Server
	routes  *routeTable
	metrics *im.Server // observe.go; nil when off
	kv      *kvTable   // kv.go; loaded by Start

	orderMessageEnable atomic.Bool // Options.OrderMessageEnable, live (config.go)
	tls                tlsconf.Server
	tlsErr             error                  // why the tls section cannot be used; Start refuses with it
	ctl                *controller.Controller // nil unless enableControllerInNamesrv

	mu struct {
		sync.Mutex
		// conns holds the connections that carried a registration, so that the sweep
		// can close the connection of a broker it expires.
		conns map[uint64]*server.Conn
	}

	started   atomic.Bool
	stop      chan struct{}
	loops     sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New returns a Server configured by o; it does not listen until Start. Zero Logger
// and Now take their defaults (no logging, time.Now); the other options are checked
// by Start.
func New(o Options) *Server {
	s := &Server{
		o:      o,
		log:    o.Logger.With().Str("component", "namesrv").Logger(),
		now:    o.Now,
		routes: newRouteTable(),
		stop:   make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.mu.conns = make(map[uint64]*server.Conn)
	// A TLS configuration that cannot be built refuses Start (tlsErr).
	s.tls, s.tlsErr = o.TLS.ServerConfig()
	s.rs = server.NewServer(server.ServerOptions{
		TLS:           s.tls,
		Addr:          o.ListenAddr,
		MaxFrameBytes: o.MaxFrameBytes,
		// Only registrations use the workers. Each may inflate up to
		// body.MaxBodyBytes, so a small pool bounds what a burst of hostile bodies
		// can hold at once; honest brokers register once every 30 s.
		Workers: registerWorkers,
		Logger:  o.Logger,

		MaxBufferedRequestBytes:        o.MaxBufferedRequestBytes,
		MaxBufferedRequestBytesPerConn: o.MaxBufferedRequestBytesPerConn,
		FrameReadTimeout:               o.FrameReadTimeout,
	})
	// A registration may inflate and parse megabytes of topic configuration, so it
	// runs on the worker pool; every other request is a short table lookup and is
	// answered on the event loop.
	s.rs.HandleAsync(code.RegisterBroker, s.handleRegisterBroker)
	s.rs.Handle(code.UnregisterBroker, s.handleUnregisterBroker)
	s.rs.Handle(queryDataVersion, s.handleQueryDataVersion)
	s.rs.Handle(code.GetRouteInfoByTopic, s.handleGetRouteInfo)
	s.rs.Handle(code.GetBrokerClusterInfo, s.handleGetClusterInfo)
	s.rs.Handle(code.GetAllTopicListFromNameserver, s.handleGetAllTopicList)
	s.rs.Handle(code.DeleteTopicInNamesrv, s.handleDeleteTopic)
	s.rs.Handle(code.GetTopicsByCluster, s.handleGetTopicsByCluster)
	// The KV writes persist the table to a file, so they run on the worker pool.
	s.rs.HandleAsync(code.PutKVConfig, s.handlePutKVConfig)
	s.rs.Handle(code.GetKVConfig, s.handleGetKVConfig)
	s.rs.HandleAsync(code.DeleteKVConfig, s.handleDeleteKVConfig)
	s.rs.Handle(code.GetKVListByNamespace, s.handleGetKVList)
	s.rs.Handle(code.WipeWritePermOfBroker, s.handleWipeWritePerm)
	s.rs.Handle(code.AddWritePermOfBroker, s.handleAddWritePerm)
	s.rs.Handle(code.UpdateNamesrvConfig, s.handleUpdateConfig)
	s.rs.Handle(code.GetNamesrvConfig, s.handleGetConfig)
	s.rs.OnClose(s.connClosed)
	return s
}

// Start validates the options, binds the listener and starts the expiry sweep. It
// returns once the server is listening, or with the reason it cannot; ctx bounds only
// the start, not the server's life (Close ends that).
func (s *Server) Start(ctx context.Context) error {
	if err := s.o.Validate(); err != nil {
		return err
	}
	if s.tlsErr != nil {
		return fmt.Errorf("namesrv: %w", s.tlsErr)
	}
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("namesrv: already started")
	}
	path, err := expandHome(s.o.KvConfigPath)
	if err != nil {
		return err
	}
	kv, err := openKV(path)
	if err != nil {
		return err
	}
	s.kv = kv
	s.orderMessageEnable.Store(s.o.OrderMessageEnable)
	if err := s.rs.Start(ctx); err != nil {
		return fmt.Errorf("namesrv: %w", err)
	}
	if s.o.EnableControllerInNamesrv {
		co := s.o.Controller
		co.Logger = s.o.Logger
		c, err := controller.New(co, s.Addr)
		if err != nil {
			s.rs.Close()
			return fmt.Errorf("namesrv: %w", err)
		}
		c.Register(s.rs)
		s.ctl = c
	}
	s.startMetrics() // observe.go
	s.loops.Add(1)
	go s.sweepLoop()
	s.log.Info().Str("addr", s.Addr()).Dur("broker_expiry", s.o.BrokerExpiry).Msg("namesrv started")
	return nil
}

// Addr returns the bound address as "ip:port" (port 0 resolved); "" before Start.
func (s *Server) Addr() string {
	ap := s.rs.Addr()
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// Close stops the sweep, stops accepting, and closes every connection. It waits for
// the server's goroutines; later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.loops.Wait()
		s.closeMetrics()
		s.closeErr = s.rs.Close()
		if s.ctl != nil {
			s.closeErr = errors.Join(s.closeErr, s.ctl.Close())
		}
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("namesrv: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// sweepLoop expires brokers every ScanInterval until Close.
func (s *Server) sweepLoop() {
	defer s.loops.Done()
	t := time.NewTicker(s.o.ScanInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep removes the brokers that have not registered for BrokerExpiry as of the
// injected clock, and closes a removed broker's connection when no live registration
// still uses it (Java closes the channel too, prompting the broker to reconnect). It
// returns the removed addresses; the sweep loop calls it, and tests call it directly
// after advancing their clock.
func (s *Server) sweep() []string {
	gone := s.routes.expire(s.now(), s.o.BrokerExpiry)
	if len(gone) == 0 {
		return nil
	}
	addrs := make([]string, 0, len(gone))
	for _, g := range gone {
		addrs = append(addrs, g.addr)
		s.log.Warn().Str("broker", g.addr).Dur("expiry", s.o.BrokerExpiry).Msg("broker expired")
		if s.routes.connInUse(g.connID) {
			continue
		}
		s.mu.Lock()
		c := s.mu.conns[g.connID]
		s.mu.Unlock()
		if c != nil {
			_ = c.Close()
		}
	}
	return addrs
}

// trackConn remembers a connection that carried a registration. If the connection
// closed while the registration was being processed (it runs on a worker, the close
// on the event loop), the registration is undone here: Closed is set before the close
// hook runs, so either the hook or this check sees the registration.
func (s *Server) trackConn(c *server.Conn) {
	s.mu.Lock()
	s.mu.conns[c.ID()] = c
	s.mu.Unlock()
	if c.Closed() {
		s.connClosed(c)
	}
}

// connClosed is the remoting close hook: every broker whose latest registration came
// on the connection leaves the route table at once, without waiting for expiry.
func (s *Server) connClosed(c *server.Conn) {
	s.mu.Lock()
	delete(s.mu.conns, c.ID())
	s.mu.Unlock()
	for _, addr := range s.routes.connClosed(c.ID()) {
		s.log.Info().Str("broker", addr).Str("addr", c.RemoteAddr().String()).Msg("broker connection closed; broker removed")
	}
}
