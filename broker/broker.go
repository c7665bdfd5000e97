// Package broker is the rocketgo broker process: it opens the message store and the
// metadata database, serves the RocketMQ remoting protocol on one TCP port, and keeps the
// NameServers informed of its topics.
//
//	b, err := broker.Open(opts, storeOpts) // store + metadata opened, handlers registered
//	err = b.Start(ctx)                     // listening; registered with the NameServers
//	addr := b.Addr()                       // advertised "ip:port"
//	err = b.Close()                        // parked pulls answered, unregistered, store closed
//
// routes.go lists every request code the broker serves, its handler and whether it
// runs on the worker pool. One file per request family: send.go (10, 310, 320),
// pull.go (11, with long polling on the broker/internal/longpoll table), offsets.go
// (14, 15, 29, 30, 31, 32), admin_topic.go (17, 21, 200, 201, 215); heartbeat.go,
// locks.go, query.go and stats.go serve the client registry (broker/clients), queue
// locks, queries and statistics; broker/internal/registrar registers with the NameServers.
// Broker administration: admin_offsets.go (222, 223, 314: offsets through the live
// consumers), admin_store.go (317, 321, 306, 316), admin_stats.go (315, counted by
// broker/internal/brokerstats); vip.go is the VIP channel at listenPort - 2.
// Options, their defaults and their validation are broker/config's.
// Transactions: transaction.go (half messages, the check-back loop on the broker/txn
// half-message set) and endtx.go (37, and the rocketgo extensions 2100, 2101).
// Master/Slave: role.go (roles, SYNC_MASTER waits, slave pull rules, on the broker/ha
// replication stream) and slave.go (a slave's copy of its master's metadata; 43).
// Scheduling: delay.go (DELAY levels and TIMER_* messages, stored where they wait and
// delivered by broker/schedule; the rocketgo extension 2202 cancels a timer),
// sendback.go (36: retry topics and the DLQ), dlq.go (the rocketgo extensions 2200 and
// 2201 that list and resend dead letters); propfilter.go filters pulls by SQL92 over
// message properties (broker/filter) and answers CHECK_CLIENT_CONFIG's expression
// check. Metadata — topic configs, subscription groups and consumer offsets — lives in
// a pebble database under <store dir>/meta, as protobuf values of proto/metapb, owned
// by broker/meta.
//
// Handlers run on the server's event loops and do not wait: they answer at once, or
// return nil and answer later through the connection (a SYNC_FLUSH send when the flush
// completes, a parked pull when a message arrives or its deadline passes). The one
// exception is a first use that creates metadata — a send to a topic auto-created from
// TBW102, a pull by an auto-created group — which writes the config with fsync before
// answering; admin requests that write metadata run on the worker pool. Every refusal
// is a Go error that respond.go maps to a RocketMQ response code and remark.
//
// Choices where RocketMQ leaves room:
//   - A pull with no subscription (none in the request, none registered by heartbeat)
//     is served as "*" rather than SUBSCRIPTION_NOT_EXIST (docs/protocol.md §11.14).
//   - QUERY_CONSUMER_OFFSET keeps Java's "offset 0 for a young queue" answer except for
//     groups that registered CONSUME_FROM_TIMESTAMP (docs/protocol.md §2.5).
//   - Timer messages (RocketMQ 5's TIMER_* properties) are honoured for every client,
//     4.x clients included; a delay level wins over a timer, as in RocketMQ 5. A
//     scheduled message is delivered exactly once, also across kill -9 (the package
//     doc of broker/schedule says how).
//   - A SQL92 pull examines at most 800 ConsumeQueue units and reads their records;
//     there is no bloom-filter ConsumeQueue extension (propfilter.go).
//   - A slave never moves a consumer's offset: an offset it does not hold yet is
//     parked or retried, not corrected (role.go), so reading from a slave while the
//     master is down never skips or rewinds.
//   - A transaction keeps one key, its half message's offset, for its whole life: the
//     check-back does not re-append the half message as Java does, so a repeated or
//     late END_TRANSACTION is recognised and changes nothing (broker/txn).
//
// Seams between the files (one side calls the other): topicTable Get, All, Wrapper,
// EnsureRetry, Put, Delete; groupTable Ensure, Get; offsetTable Get, Groups, Commit;
// clients.Table Subscription, ConsumeFromWhere, ConsumerIDs, ProducerConns; registrar
// Trigger; errorResponse for every refusal.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/acl"
	"github.com/rocketgo/rocketgo/broker/clients"
	"github.com/rocketgo/rocketgo/broker/config"
	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/grpcapi"
	"github.com/rocketgo/rocketgo/broker/internal/brokerstats"
	"github.com/rocketgo/rocketgo/broker/internal/locks"
	"github.com/rocketgo/rocketgo/broker/internal/longpoll"
	"github.com/rocketgo/rocketgo/broker/internal/registrar"
	"github.com/rocketgo/rocketgo/broker/internal/runstats"
	"github.com/rocketgo/rocketgo/broker/internal/sqlread"
	"github.com/rocketgo/rocketgo/broker/internal/txnsvc"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/pop"
	signer "github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// Broker roles (brokerRole); broker/config defines them.
const (
	RoleAsyncMaster = config.RoleAsyncMaster // answers sends without waiting for a slave
	RoleSyncMaster  = config.RoleSyncMaster  // answers sends once a slave has them (role.go)
	RoleSlave       = config.RoleSlave       // replicates a master, serves pulls (role.go)
)

// Options configure a broker (broker/config). The mapstructure keys are RocketMQ's
// broker config names where one exists, so a broker.conf translates key for key.
type Options = config.Options

// DefaultOptions returns RocketMQ's defaults (docs/protocol.md Appendix B).
func DefaultOptions() Options { return config.Default() }

// Broker is one running broker. Its methods are safe from any goroutine.
type Broker struct {
	opts  Options
	sopts store.Options
	log   zerolog.Logger
	now   func() time.Time
	tls   brokerTLS // tls.go

	ctl     atomic.Pointer[ControllerHooks] // controller mode (controlled.go)
	store   *store.Store
	putDst  appender // the store; a discarding fake in the handler benchmark
	pullSrc reader   // the store; a fake in the pull status-table tests
	meta    *meta.DB
	topics  *meta.Topics
	groups  *meta.Groups
	offsets *meta.Offsets
	polls   *longpoll.Table

	clients   *clients.Table
	stats     *runstats.Runtime // stats.go: sampled on the client table's housekeeping tick
	bstats    *brokerstats.Set  // admin_stats.go: VIEW_BROKER_STATS_DATA's counters
	locks     *locks.Table
	registrar *registrar.Registrar
	txn       *txnsvc.Service
	dedup     *dedup.Window   // dedup.go
	sched     *scheduler      // delay.go: delay levels, timers, retry
	sqlCache  sqlread.Cache   // propfilter.go: compiled SQL92 subscriptions
	acl       *acl.Plain      // aclguard.go: nil when aclEnable is off
	grpc      *grpcapi.Server // grpc.go: nil when grpcListenAddr is empty
	pop       *pop.Service    // pop.go: POP consumption state
	// innerCreds sign the broker's own requests (innerClientAuthenticationCredentials).
	innerCreds signer.Credentials

	cfg        liveConfig   // admin_config.go: settings changed by UPDATE_BROKER_CONFIG
	cfgUpdates atomic.Int64 // admin_config.go: the configuration's data version

	repl replication   // role.go: the HA server of a master, the HA client of a slave
	obs  observability // observe.go: metrics, health and pprof

	srv           *server.Server
	vip           *server.Server // vip.go: the VIP channel, listenPort - 2
	vipListenAddr string
	// host is the advertised address, known once the server listens (port 0 resolves
	// then); handlers read it for the store host of every record.
	host atomic.Pointer[netip.AddrPort]

	starting  atomic.Bool // Start was called
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open opens the store and the metadata under so.Dir, creates the built-in topics on
// first start and builds the remoting server with every handler registered. The broker
// serves nothing until Start.
func Open(o Options, so store.Options) (*Broker, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Broker{
		opts:  o,
		sopts: so,
		log:   o.Logger.With().Str("component", "broker").Str("broker", o.BrokerName).Logger(),
		now:   o.Now,
	}
	vipAddr, err := o.VIPListenAddr() // vip.go
	if err != nil {
		return nil, err
	}
	b.vipListenAddr = vipAddr
	if err := b.openACL(); err != nil {
		return nil, err
	}
	if err := b.openTLS(); err != nil {
		return nil, err
	}
	st, err := store.Open(so)
	if err != nil {
		return nil, fmt.Errorf("broker: open store: %w", err)
	}
	b.store, b.putDst, b.pullSrc = st, st, st
	if err := b.openMeta(filepath.Join(so.Dir, "meta")); err != nil {
		st.Close()
		return nil, err
	}
	st.SetConsumerProgress(b.offsets.Progress)
	b.polls = longpoll.New(longpoll.Options{MaxTotal: o.MaxParkedPulls, MaxPerOwner: o.MaxParkedPullsPerConn})
	st.Subscribe(b.onArrival)
	b.openBrokerStats() // admin_stats.go

	b.innerCreds, _ = o.InnerCredentials() // checked by Validate
	b.stats = runstats.New(b.now())
	b.clients = newClientTable(b)
	b.locks = newLockTable(b)
	b.registrar = registrar.New(registrar.Options{
		Addrs: o.NamesrvAddrs, Period: o.ClampedRegisterPeriod(), MaxFrameBytes: o.MaxFrameBytes,
		BrokerName: o.BrokerName, ClusterName: o.ClusterName, BrokerID: o.BrokerID,
		Addr: b.Addr, HAServerAddr: b.haServerAddr, Topics: b.topics.Wrapper, TopicsOf: b.topics.WrapperOf,
		OnRegistered: b.onRegistered, // a slave learns its master (role.go)
		TLS:          b.tls.client,
		Credentials:  b.innerCreds,
		Logger:       b.log,
	})
	b.topics.OnChange = b.registrar.Trigger // deletions: the whole table
	b.topics.OnPut = b.registrar.Changed    // creations and updates: just those topics
	b.openMetrics()                         // observe.go

	b.srv = server.NewServer(server.ServerOptions{
		TLS:                            b.tls.server,
		Addr:                           o.ListenAddr,
		MaxFrameBytes:                  o.MaxFrameBytes,
		MaxBufferedRequestBytes:        o.MaxBufferedRequestBytes,
		MaxBufferedRequestBytesPerConn: o.MaxBufferedRequestBytesPerConn,
		FrameReadTimeout:               o.FrameReadTimeout,
		Logger:                         o.Logger,
	})
	b.registerRoutes(b.srv, nil)
	b.vip = b.newVIPServer() // vip.go
	if err := b.openReplication(); err != nil {
		b.offsets.Close()
		b.meta.Close()
		st.Close()
		return nil, err
	}
	if err := b.openTxn(); err != nil {
		b.offsets.Close()
		b.meta.Close()
		st.Close()
		return nil, err
	}
	if err := b.openSchedule(); err != nil {
		b.txn.Close()
		b.offsets.Close()
		b.meta.Close()
		st.Close()
		return nil, err
	}
	if err := b.openDedup(); err != nil { // dedup.go
		b.sched.Close()
		b.txn.Close()
		b.offsets.Close()
		b.meta.Close()
		st.Close()
		return nil, fmt.Errorf("broker: duplicate window: %w", err)
	}
	if err := b.openPop(); err != nil { // pop.go
		b.sched.Close()
		b.txn.Close()
		b.offsets.Close()
		b.meta.Close()
		st.Close()
		return nil, fmt.Errorf("broker: pop: %w", err)
	}
	b.srv.OnClose(b.onConnClose)
	b.vip.OnClose(b.onConnClose)
	return b, nil
}

// openMeta opens the metadata database and loads the three tables from it.
func (b *Broker) openMeta(dir string) error {
	m, err := meta.Open(dir, b.log, b.store.DiskGuard())
	if err != nil {
		return err
	}
	b.meta = m
	to := meta.TopicOptions{ClusterName: b.opts.ClusterName, BrokerName: b.opts.BrokerName,
		AutoCreateTopicEnable: b.opts.AutoCreateTopicEnable, DefaultTopicQueueNums: b.opts.DefaultTopicQueueNums}
	if b.opts.TraceTopicEnable {
		to.TraceTopic = b.opts.MsgTraceTopicName
	}
	if b.topics, err = meta.LoadTopics(m, to, b.now); err == nil {
		if b.groups, err = meta.LoadGroups(m, b.opts.AutoCreateSubscriptionGroup, b.now); err == nil {
			b.offsets, err = meta.LoadOffsets(m, b.now, b.log)
		}
	}
	if err != nil {
		m.Close()
		return err
	}
	return nil
}

// Start listens, then starts the registrar and the client registry's loops. It returns
// once the broker serves requests.
func (b *Broker) Start(ctx context.Context) error {
	if b.closing.Load() {
		return errors.New("broker: closed")
	}
	if !b.starting.CompareAndSwap(false, true) {
		return errors.New("broker: already started")
	}
	// The advertised address must be known before the first request is served. With a
	// fixed port it is known now; with port 0 only once listening, and no client can
	// know the port before Start returns.
	if ap, err := netip.ParseAddrPort(b.opts.ListenAddr); err == nil && ap.Port() != 0 {
		host := netip.AddrPortFrom(advertiseIP(b.opts.AdvertiseIP, ap.Addr()), ap.Port())
		b.host.Store(&host)
	}
	if err := b.srv.Start(ctx); err != nil {
		return fmt.Errorf("broker: listen on %s: %w", b.opts.ListenAddr, err)
	}
	host := netip.AddrPortFrom(advertiseIP(b.opts.AdvertiseIP, b.srv.Addr().Addr()), b.srv.Addr().Port())
	b.host.Store(&host)
	if err := b.startVIP(ctx); err != nil { // vip.go
		return err
	}
	b.clients.Start(ctx)
	if err := b.startReplication(ctx); err != nil {
		return err
	}
	if err := b.startMetrics(); err != nil { // observe.go
		return err
	}
	if err := b.startGRPC(); err != nil { // grpc.go
		return err
	}
	b.registrar.Start(ctx)
	b.txn.Start()
	b.sched.Start(ctx)
	if !b.isSlave() {
		b.pop.Start() // pop.go: a slave only follows its master's POP records
	}
	if b.acl != nil {
		b.acl.Watch(aclPollInterval)
	}
	b.log.Info().Str("addr", host.String()).Msg("broker serving")
	return nil
}

// advertiseIP chooses the IP clients dial: the configured one, else the listen IP when
// it is a specific address, else the machine's IPv4 (message.HostIPv4: public before
// private, 127.0.0.1 when it has none).
func advertiseIP(configured string, listen netip.Addr) netip.Addr {
	if a, err := netip.ParseAddr(configured); err == nil {
		return a.Unmap()
	}
	if listen.IsValid() && !listen.IsUnspecified() {
		return listen.Unmap()
	}
	return message.HostIPv4()
}

// storeHost returns the advertised address stored in every record (valid once started).
func (b *Broker) storeHost() netip.AddrPort {
	if h := b.host.Load(); h != nil {
		return *h
	}
	return netip.AddrPort{}
}

// Addr returns the advertised "ip:port" clients dial; it is empty before Start.
func (b *Broker) Addr() string {
	h := b.host.Load()
	if h == nil {
		return ""
	}
	return net.JoinHostPort(h.Addr().String(), strconv.Itoa(int(h.Port())))
}

// Store returns the message store, for tests and tools in the same process.
func (b *Broker) Store() *store.Store { return b.store }

// Close shuts the broker down gracefully: parked pulls are answered, the broker
// unregisters from the NameServers, the server stops and closes its connections, and
// the store and the metadata are closed cleanly. It is safe to call more than once.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Broker) close() error {
	b.closing.Store(true)
	// gRPC clients go first: their sessions are connections to this broker.
	if b.grpc != nil {
		_ = b.grpc.Close()
	}
	// Parked pulls are answered (PULL_NOT_FOUND with their offsets) while their
	// connections are still open; pulls that arrive from now on are answered at once.
	b.polls.Close()
	var errs []error
	// Both are safe to close unstarted; the registrar unregisters only if it started.
	b.registrar.Close()
	b.clients.Close()
	// Flushing now completes the SYNC_FLUSH sends still waiting while their
	// connections can carry the answers; new sends are refused since closing was set.
	if err := b.store.Flush(); err != nil {
		b.log.Warn().Err(err).Msg("flush before close")
	}
	// SYNC_MASTER sends still waiting for a slave are answered now, while their
	// connections are open; replication stops before the store closes.
	b.closeReplication()
	if err := b.srv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("broker: close server: %w", err))
	}
	if err := b.vip.Close(); err != nil {
		errs = append(errs, fmt.Errorf("broker: close VIP channel: %w", err))
	}
	b.txn.Close()
	if err := b.pop.Close(); err != nil {
		errs = append(errs, err)
	}
	if b.acl != nil {
		b.acl.Close()
	}
	if err := b.closeSchedule(); err != nil {
		errs = append(errs, err)
	}
	if err := b.offsets.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := b.meta.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := b.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("broker: close store: %w", err))
	}
	b.closeMetrics()
	b.log.Info().Msg("broker closed")
	return errors.Join(errs...)
}

// onConnClose forgets a closed connection's parked pulls and its client registrations.
func (b *Broker) onConnClose(c *server.Conn) {
	b.polls.DropOwner(c.ID())
	b.clients.OnConnClose(c)
}
