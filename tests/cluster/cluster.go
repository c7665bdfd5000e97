package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/namesrv"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// Store geometry of a test cluster: small enough that a test which writes a few
// megabytes rolls CommitLog segments and ConsumeQueue files, so those paths run in every
// end-to-end test rather than only in production.
const (
	// SegmentBytes is the CommitLog segment size of a test broker.
	SegmentBytes = 1 << 20
	// MaxMessageBytes is the largest message body a test broker accepts.
	MaxMessageBytes = 256 << 10
	// ConsumeQueueUnits is the number of 20-byte units per ConsumeQueue file.
	ConsumeQueueUnits = 1024
)

// Names a test cluster registers under unless an option says otherwise.
const (
	DefaultBrokerName  = "broker-a"
	DefaultClusterName = "DefaultCluster"
)

// restartBindTimeout bounds how long Restart retries to listen on the broker's previous
// port: a closing listener can hold it for a moment.
const restartBindTimeout = 10 * time.Second

// Option changes how Start configures the cluster.
type Option func(*settings)

type settings struct {
	namesrv []func(*namesrv.Options)
	broker  []func(*broker.Options)
	store   []func(*store.Options)
}

// WithAutoCreateTopic sets the broker's autoCreateTopicEnable: whether a send to an
// unknown topic creates it from TBW102 (RocketMQ's default, and the test default).
func WithAutoCreateTopic(enable bool) Option {
	return WithBrokerOptions(func(o *broker.Options) { o.AutoCreateTopicEnable = enable })
}

// WithFlushMode sets the store's flushDiskType (store.FlushMode "ASYNC_FLUSH" or
// "SYNC_FLUSH").
func WithFlushMode(m store.FlushMode) Option {
	return WithStoreOptions(func(o *store.Options) { o.FlushMode = m })
}

// WithBrokerName sets the broker's brokerName (default "broker-a").
func WithBrokerName(name string) Option {
	return WithBrokerOptions(func(o *broker.Options) { o.BrokerName = name })
}

// WithNamesrvOptions lets a test change any NameServer option after the harness has set
// its own (listen address, logger).
func WithNamesrvOptions(fn func(*namesrv.Options)) Option {
	return func(s *settings) { s.namesrv = append(s.namesrv, fn) }
}

// WithBrokerOptions lets a test change any broker option after the harness has set its
// own (listen and advertised address, NameServer address, logger).
func WithBrokerOptions(fn func(*broker.Options)) Option {
	return func(s *settings) { s.broker = append(s.broker, fn) }
}

// WithStoreOptions lets a test change any store option after the harness has set its
// own (directory, small segments, logger).
func WithStoreOptions(fn func(*store.Options)) Option {
	return func(s *settings) { s.store = append(s.store, fn) }
}

// Cluster is one NameServer and one master broker running in the test process. Its
// methods are safe for concurrent use, except Restart, which must not race with itself.
type Cluster struct {
	log    zerolog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	ns     *namesrv.Server
	rc     *transport.Client

	mu struct {
		sync.Mutex
		b  *broker.Broker // nil between a failed restart and cleanup
		bo broker.Options
		so store.Options
	}
}

// Start starts a NameServer and a broker on 127.0.0.1 with kernel-chosen ports, the
// store in a fresh t.TempDir(), and registers t.Cleanup to close both. It fails the test
// if either does not start. The broker has registered with the NameServer at least once
// when Start returns only if the broker's Start does so synchronously; use WaitRoute
// before relying on a topic's route.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	var s settings
	for _, o := range opts {
		o(&s)
	}
	log := testLogger(t)
	// t.TempDir registers the directory's removal as a cleanup: it must be registered
	// before the cluster's own cleanup so that it runs after it (cleanups run last
	// registered first), when the broker has closed its store.
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{log: log, ctx: ctx, cancel: cancel}
	t.Cleanup(func() { c.close(t) })

	no := namesrv.DefaultOptions()
	no.ListenAddr = "127.0.0.1:0"
	no.MetricsPromExporterHost, no.MetricsPromExporterPort = "127.0.0.1", 0
	no.Logger = log.With().Str("node", "namesrv").Logger()
	no.KvConfigPath = filepath.Join(dir, "namesrv", "kvConfig.json")
	for _, fn := range s.namesrv {
		fn(&no)
	}
	ns := namesrv.New(no)
	if err := ns.Start(ctx); err != nil {
		t.Fatalf("cluster: start namesrv: %v", err)
	}
	c.ns = ns

	bo := broker.DefaultOptions()
	bo.ListenAddr = "127.0.0.1:0"
	bo.MetricsPromExporterHost, bo.MetricsPromExporterPort = "127.0.0.1", 0
	bo.AdvertiseIP = "127.0.0.1"
	bo.HAListenPort = -1 // Restart reuses the listen port; its + 1 may be taken by then
	bo.BrokerName = DefaultBrokerName
	bo.ClusterName = DefaultClusterName
	bo.NamesrvAddrs = []string{ns.Addr()}
	bo.AutoCreateTopicEnable = true
	bo.Logger = log.With().Str("node", "broker").Logger()
	for _, fn := range s.broker {
		fn(&bo)
	}
	so := store.DefaultOptions()
	so.Dir = filepath.Join(dir, "store")
	so.CommitLogSegmentBytes = SegmentBytes
	so.MaxMessageBytes = MaxMessageBytes
	so.ConsumeQueueUnits = ConsumeQueueUnits
	so.Logger = log.With().Str("node", "store").Logger()
	for _, fn := range s.store {
		fn(&so)
	}

	b, err := c.openBroker(bo, so)
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	c.mu.Lock()
	c.mu.b, c.mu.bo, c.mu.so = b, bo, so
	c.mu.Unlock()

	c.rc = transport.NewClient(transport.ClientOptions{
		DialTimeout: 3 * time.Second,
		TLS:         harnessTLS(t, bo), // tls.go
		Logger:      log.With().Str("node", "harness").Logger(),
	})
	c.waitRegistered(t)
	return c
}

// waitRegistered waits until the NameServer routes the auto-creation template topic to
// the broker, when the broker creates topics on first use: the broker registers in the
// background, and a client that sends to a new topic before that finds no route for it
// (the official client fails the send at once).
func (c *Cluster) waitRegistered(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	auto := c.mu.bo.AutoCreateTopicEnable
	c.mu.Unlock()
	if auto {
		c.WaitRoute(t, meta.TopicAutoCreate, 0)
	}
}

// openBroker opens and starts a broker; on a failed Start the opened broker is closed
// again so its store directory is unlocked.
func (c *Cluster) openBroker(bo broker.Options, so store.Options) (*broker.Broker, error) {
	b, err := broker.Open(bo, so)
	if err != nil {
		return nil, fmt.Errorf("open broker (store %s): %w", so.Dir, err)
	}
	if err := b.Start(c.ctx); err != nil {
		if cerr := b.Close(); cerr != nil {
			return nil, fmt.Errorf("start broker on %s: %w (and close: %v)", bo.ListenAddr, err, cerr)
		}
		return nil, fmt.Errorf("start broker on %s: %w", bo.ListenAddr, err)
	}
	return b, nil
}

// Restart closes the broker cleanly and opens it again on the same store directory and
// the same address, so clients that cached its address reconnect to it. It fails the
// test if the broker does not close or come back, and waits, as Start does, for the
// broker to be registered again.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.restart(t)
	c.waitRegistered(t)
}

// restart is Restart up to the new broker's start.
func (c *Cluster) restart(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.b == nil {
		t.Fatalf("cluster: restart: the broker is not running")
	}
	addr := c.mu.b.Addr()
	listen, vip := c.mu.b.BoundAddrs()
	if err := c.mu.b.Close(); err != nil {
		c.mu.b = nil
		t.Fatalf("cluster: restart: close broker: %v", err)
	}
	c.mu.b = nil
	c.rc.CloseAddr(addr)

	bo := c.mu.bo
	// Both old ports: a broker first started on kernel-chosen ports has its VIP channel
	// on another one, and listenPort - 2 may belong to anybody.
	bo.ListenAddr, bo.VIPAddr = listen, vip
	deadline := time.Now().Add(restartBindTimeout)
	for {
		b, err := c.openBroker(bo, c.mu.so)
		if err == nil {
			c.mu.b = b
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster: restart on %s: %v", addr, err)
		}
		// The previous listener may still hold the port for a moment; try again.
		c.log.Info().Err(err).Str("addr", addr).Msg("restart: retrying")
		<-time.After(50 * time.Millisecond)
	}
}

// NamesrvAddr is the NameServer's "127.0.0.1:port", the form clients must be given
// (the official Go client rejects host names).
func (c *Cluster) NamesrvAddr() string { return c.ns.Addr() }

// BrokerAddr is the broker's advertised "127.0.0.1:port", as it appears in routes.
func (c *Cluster) BrokerAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.b == nil {
		return ""
	}
	return c.mu.b.Addr()
}

// Broker is the running broker (nil only after a failed Restart). After Restart it is a
// new value: do not keep it across a restart.
func (c *Cluster) Broker() *broker.Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.b
}

// Namesrv is the running NameServer.
func (c *Cluster) Namesrv() *namesrv.Server { return c.ns }

// BrokerName is the broker's brokerName, the name in routes and message queues.
func (c *Cluster) BrokerName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.bo.BrokerName
}

// ClusterName is the broker's clusterName.
func (c *Cluster) ClusterName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.bo.ClusterName
}

// StoreDir is the broker's store root directory; it survives Restart.
func (c *Cluster) StoreDir() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.so.Dir
}

// Logger is the cluster's logger, for tests that want their own lines interleaved with
// the servers'.
func (c *Cluster) Logger() zerolog.Logger { return c.log }

// close stops everything Start started, in reverse order, and reports close errors:
// a broker that cannot close cleanly is a bug worth failing a test for.
func (c *Cluster) close(t testing.TB) {
	if c.rc != nil {
		if err := c.rc.Close(); err != nil {
			t.Errorf("cluster: close harness client: %v", err)
		}
	}
	c.mu.Lock()
	b := c.mu.b
	c.mu.b = nil
	c.mu.Unlock()
	if b != nil {
		if err := b.Close(); err != nil {
			t.Errorf("cluster: close broker: %v", err)
		}
	}
	if c.ns != nil {
		if err := c.ns.Close(); err != nil {
			t.Errorf("cluster: close namesrv: %v", err)
		}
	}
	c.cancel()
}

// testLogger returns a logger that writes through t.Log (so lines show only for failed
// tests or -v) and goes quiet once the test's cleanups are done: a straggling
// goroutine that logs after the test has finished must not panic the test binary.
func testLogger(t testing.TB) zerolog.Logger {
	sink := &logSink{w: zerolog.NewTestWriter(t)}
	// Registered before the cluster's own cleanup, so it runs after it (cleanups are
	// LIFO): the servers may log while they close.
	t.Cleanup(sink.stop)
	out := zerolog.ConsoleWriter{
		Out:           sink,
		NoColor:       true,
		PartsOrder:    []string{atField, zerolog.LevelFieldName, zerolog.MessageFieldName},
		FieldsExclude: []string{atField},
	}
	return zerolog.New(out).Level(testLevel(t)).Hook(atHook{})
}

// atField carries a microsecond wall-clock time on every test log line: zerolog's own
// timestamp has the precision of a process-global format, seconds by default, which
// cannot order the events of one request.
const atField = "at"

type atHook struct{}

// Run implements zerolog.Hook.
func (atHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(atField, time.Now().Format("15:04:05.000000"))
}

// testLevel reads ROCKETGO_TEST_LOG. Unset (or not a level name) it is info for tests
// and warn for benchmarks, whose logs go to the output even when they pass.
func testLevel(t testing.TB) zerolog.Level {
	if lvl, err := zerolog.ParseLevel(os.Getenv("ROCKETGO_TEST_LOG")); err == nil && lvl != zerolog.NoLevel {
		return lvl
	}
	if _, bench := t.(*testing.B); bench {
		return zerolog.WarnLevel
	}
	return zerolog.InfoLevel
}

// logSink forwards writes to w until stop is called, then drops them.
type logSink struct {
	mu      sync.Mutex
	w       io.Writer
	stopped bool
}

// Write forwards p unless the sink is stopped. It never fails, so a logging error can
// not change a server's behaviour under test.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		_, _ = s.w.Write(p)
	}
	return len(p), nil
}

func (s *logSink) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}
