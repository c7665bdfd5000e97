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
// locks, queries and statistics; registrar.go registers with the NameServers.
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
	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/internal/locks"
	"github.com/rocketgo/rocketgo/broker/internal/longpoll"
	"github.com/rocketgo/rocketgo/broker/internal/runstats"
	"github.com/rocketgo/rocketgo/broker/internal/txnsvc"
	"github.com/rocketgo/rocketgo/broker/meta"
	im "github.com/rocketgo/rocketgo/internal/metrics"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// Broker roles (brokerRole).
const (
	RoleAsyncMaster = "ASYNC_MASTER" // answers sends without waiting for a slave
	RoleSyncMaster  = "SYNC_MASTER"  // answers sends once a slave has them (role.go)
	RoleSlave       = "SLAVE"        // replicates a master, serves pulls (role.go)
)

// Options configure a broker. The mapstructure keys are RocketMQ's broker config names
// where one exists, so a broker.conf translates key for key.
type Options struct {
	// ListenAddr is the address the remoting server binds ("0.0.0.0:10911"; tests use
	// "127.0.0.1:0").
	ListenAddr string `mapstructure:"listenAddr"`
	// AdvertiseIP is the IP clients dial (brokerIP1): it is registered with the
	// NameServers and stored as every message's store host. Empty means the listen IP
	// when that is a specific address, else the first non-loopback IPv4, else 127.0.0.1.
	AdvertiseIP string `mapstructure:"brokerIP1"`
	// BrokerName names the master/slave group ("broker-a").
	BrokerName string `mapstructure:"brokerName"`
	// ClusterName is the cluster the broker registers under ("DefaultCluster").
	ClusterName string `mapstructure:"brokerClusterName"`
	// BrokerID is 0 for a master, > 0 for a slave.
	BrokerID int64 `mapstructure:"brokerId"`
	// BrokerRole is ASYNC_MASTER, SYNC_MASTER or SLAVE (role.go).
	BrokerRole string `mapstructure:"brokerRole"`
	// HAListenPort is the port a master's slaves replicate from (haListenPort); 0 means
	// the listen port + 1, or a kernel-chosen port when the listen port is 0; -1 means a
	// kernel-chosen port always (a broker that restarts on a fixed listen port in tests,
	// where listen port + 1 may belong to someone else by then).
	HAListenPort int `mapstructure:"haListenPort"`
	// HAMasterAddr fixes the master's HA address a slave replicates from
	// (haMasterAddress); empty means the one the NameServers report.
	HAMasterAddr string `mapstructure:"haMasterAddress"`
	// HATransferBatchBytes bounds the log bytes of one replication frame
	// (haTransferBatchSize, 256 KiB).
	HATransferBatchBytes int `mapstructure:"haTransferBatchSize"`
	// HASendHeartbeatInterval is how often an idle master and its slave tell each other
	// where their logs end (haSendHeartbeatInterval, 5s).
	HASendHeartbeatInterval time.Duration `mapstructure:"haSendHeartbeatInterval"`
	// HAHousekeepingInterval drops a replication connection silent this long
	// (haHousekeepingInterval, 20s).
	HAHousekeepingInterval time.Duration `mapstructure:"haHousekeepingInterval"`
	// HASlaveFallbehindMax: a SYNC_MASTER whose slaves are further behind than this
	// answers SLAVE_NOT_AVAILABLE at once (haSlaveFallbehindMax, 256 MiB).
	HASlaveFallbehindMax int64 `mapstructure:"haSlaveFallbehindMax"`
	// SlaveTimeout bounds a SYNC_MASTER send's wait for a slave; past it the answer is
	// FLUSH_SLAVE_TIMEOUT (slaveTimeout, 3s).
	SlaveTimeout time.Duration `mapstructure:"slaveTimeout"`
	// SlaveReadEnable lets pull answers suggest the slave to consumers reading far
	// behind the log's end (slaveReadEnable).
	SlaveReadEnable bool `mapstructure:"slaveReadEnable"`
	// AccessMessageInMemoryMaxRatio is that distance, in percent of physical memory
	// (accessMessageInMemoryMaxRatio, 40).
	AccessMessageInMemoryMaxRatio int `mapstructure:"accessMessageInMemoryMaxRatio"`
	// SlaveSyncInterval is how often a slave copies its master's topics, groups and
	// consumer offsets (slaveSyncInterval, 10s).
	SlaveSyncInterval time.Duration `mapstructure:"slaveSyncInterval"`
	// NamesrvAddrs lists the NameServers ("127.0.0.1:9876"); empty runs unregistered.
	NamesrvAddrs []string `mapstructure:"namesrvAddr"`
	// AutoCreateTopicEnable lets a send to an unknown topic create it from TBW102.
	AutoCreateTopicEnable bool `mapstructure:"autoCreateTopicEnable"`
	// AutoCreateSubscriptionGroup lets an unknown consumer group be created on first use.
	AutoCreateSubscriptionGroup bool `mapstructure:"autoCreateSubscriptionGroup"`
	// DefaultTopicQueueNums is TBW102's queue count, the most an auto-created topic gets.
	DefaultTopicQueueNums int `mapstructure:"defaultTopicQueueNums"`
	// RegisterPeriod is how often the broker re-registers (clamped to 10 s .. 60 s).
	RegisterPeriod time.Duration `mapstructure:"registerNameServerPeriod"`
	// ClientExpiry drops a client connection silent for this long.
	ClientExpiry time.Duration `mapstructure:"clientChannelExpiry"`
	// LongPollingEnable parks a pull that found nothing for its suspendTimeoutMillis;
	// when false it is parked for ShortPollingTime instead.
	LongPollingEnable bool `mapstructure:"longPollingEnable"`
	// ShortPollingTime is the park time of a pull when long polling is off.
	ShortPollingTime time.Duration `mapstructure:"shortPollingTimeMills"`
	// MaxFrameBytes bounds one remoting frame (16 MiB).
	MaxFrameBytes int `mapstructure:"maxFrameBytes"`
	// Region is the MSG_REGION every send response carries ("DefaultRegion").
	Region string `mapstructure:"regionId"`
	// TraceOn is the TRACE_ON every send response carries.
	TraceOn bool `mapstructure:"traceOn"`
	// TraceTopicEnable creates the message trace topic MsgTraceTopicName at start-up
	// (one queue, perm 6, as Apache's TopicConfigManager), so clients with trace on
	// find its route and their records are stored (traceTopicEnable). On by default in
	// rocketgo; Apache RocketMQ's default is off (docs/trace.md).
	TraceTopicEnable bool `mapstructure:"traceTopicEnable"`
	// MsgTraceTopicName names the trace topic (msgTraceTopicName,
	// RMQ_SYS_TRACE_TOPIC). It is a system topic: admin requests may not create or
	// delete it, but clients send to it.
	MsgTraceTopicName string `mapstructure:"msgTraceTopicName"`
	// MaxTransferCount bounds the messages of one pull response (Java's
	// maxTransferCountOnMessageInMemory, 32). A pull asking for fewer gets fewer.
	MaxTransferCount int `mapstructure:"maxTransferCountOnMessageInMemory"`
	// MaxTransferBytes bounds the message bytes of one pull response (Java's
	// maxTransferBytesOnMessageInMemory, 256 KiB). At least one message is always
	// returned, whatever its size.
	MaxTransferBytes int `mapstructure:"maxTransferBytesOnMessageInMemory"`
	// MaxParkedPulls bounds the long-polling pulls held at once; beyond it a pull is
	// answered SYSTEM_BUSY.
	MaxParkedPulls int `mapstructure:"maxParkedPulls"`
	// MaxParkedPullsPerConn bounds the long-polling pulls one connection may hold.
	MaxParkedPullsPerConn int `mapstructure:"maxParkedPullsPerConn"`
	// TransactionCheckInterval is how often unresolved half messages are looked at for
	// check-back (transactionCheckInterval, 60 s).
	TransactionCheckInterval time.Duration `mapstructure:"transactionCheckInterval"`
	// TransactionTimeout is the age of a half message before its first check-back
	// (transactionTimeOut, 6 s); CHECK_IMMUNITY_TIME_IN_SECONDS overrides it per message.
	TransactionTimeout time.Duration `mapstructure:"transactionTimeOut"`
	// TransactionCheckMax is how many check-backs a half message gets before it is
	// moved to TRANS_CHECK_MAX_TIME_TOPIC (transactionCheckMax, 15).
	TransactionCheckMax int `mapstructure:"transactionCheckMax"`
	// MessageDelayLevel is the delay of each DELAY level, from level 1 up, separated by
	// spaces: "1s 5s 10s 30s 1m ... 2h" (RocketMQ's default, 18 levels). Retries use
	// level 3 + reconsume times, capped at the last level.
	MessageDelayLevel string `mapstructure:"messageDelayLevel"`
	// TimerMaxDelay is how far ahead a timer message (TIMER_DELIVER_MS,
	// TIMER_DELAY_SEC, TIMER_DELAY_MS) may be due; later ones are refused with
	// MESSAGE_ILLEGAL (720h).
	TimerMaxDelay time.Duration `mapstructure:"timerMaxDelay"`
	// DuplicateWindow is how long the broker remembers each message's UNIQ_KEY to
	// answer a repeated send with the original's result, for topics without a
	// duplicate.window attribute (0, the default: off; docs/duplicate-window.md).
	DuplicateWindow time.Duration `mapstructure:"duplicateWindow"`
	// DuplicateWindowMaxKeys bounds the keys remembered per broker; the oldest are
	// forgotten first (1048576 when 0).
	DuplicateWindowMaxKeys int `mapstructure:"duplicateWindowMaxKeys"`
	// EnablePropertyFilter lets consumers subscribe with SQL92 expressions over message
	// properties (off by default, as in RocketMQ).
	EnablePropertyFilter bool `mapstructure:"enablePropertyFilter"`
	// AclEnable checks every request against AclFile (aclEnable, off; docs/acl.md).
	AclEnable bool `mapstructure:"aclEnable"`
	// AclFile is the plain_acl.yml of ACL 1.0, reloaded when it changes (aclFile,
	// conf/plain_acl.yml relative to the working directory).
	AclFile string `mapstructure:"aclFile"`

	// MetricsExporterType is PROM (serve Prometheus metrics, /healthz and /readyz on
	// MetricsPromExporterPort; rocketgo's default) or DISABLE (metricsExporterType;
	// docs/metrics.md).
	MetricsExporterType string `mapstructure:"metricsExporterType"`
	// MetricsPromExporterHost is the metrics listen host; empty means every interface
	// (metricsPromExporterHost).
	MetricsPromExporterHost string `mapstructure:"metricsPromExporterHost"`
	// MetricsPromExporterPort is the metrics port (metricsPromExporterPort, 5557); 0
	// means kernel-chosen (tests).
	MetricsPromExporterPort int `mapstructure:"metricsPromExporterPort"`
	// MetricsMaxTopicSeries caps the distinct topic and consumer group label values;
	// past it they read "__other__" (1000).
	MetricsMaxTopicSeries int `mapstructure:"metricsMaxTopicSeries"`
	// EnablePprof serves Go's pprof under /debug/pprof/ on the metrics port (off).
	EnablePprof bool `mapstructure:"enablePprof"`
	// StoreReplyMessageEnable keeps a copy of every request/reply answer in
	// <cluster>_REPLY_TOPIC besides pushing it to the requester (true, as in RocketMQ).
	StoreReplyMessageEnable bool `mapstructure:"storeReplyMessageEnable"`

	// Logger receives the broker's logs; the zero value discards them.
	Logger zerolog.Logger `mapstructure:"-"`
	// Now is the broker's clock (time.Now when nil).
	Now func() time.Time `mapstructure:"-"`
}

// DefaultOptions returns RocketMQ's defaults (docs/protocol.md Appendix B).
func DefaultOptions() Options {
	return withRoleDefaults(Options{
		ListenAddr:                  "0.0.0.0:10911",
		BrokerName:                  "broker-a",
		ClusterName:                 "DefaultCluster",
		BrokerRole:                  RoleAsyncMaster,
		NamesrvAddrs:                []string{"127.0.0.1:9876"},
		AutoCreateTopicEnable:       true,
		AutoCreateSubscriptionGroup: true,
		DefaultTopicQueueNums:       8,
		RegisterPeriod:              30 * time.Second,
		ClientExpiry:                120 * time.Second,
		LongPollingEnable:           true,
		ShortPollingTime:            time.Second,
		MaxFrameBytes:               codec.DefaultMaxFrameBytes,
		Region:                      "DefaultRegion",
		TraceOn:                     true,
		TraceTopicEnable:            true,
		MsgTraceTopicName:           meta.TopicTrace,
		MaxTransferCount:            32,
		MaxTransferBytes:            256 << 10,
		MaxParkedPulls:              longpoll.DefaultMaxTotal,
		MaxParkedPullsPerConn:       longpoll.DefaultMaxPerOwner,
		TransactionCheckInterval:    defaultTxnCheckInterval,
		TransactionTimeout:          defaultTxnTimeout,
		TransactionCheckMax:         defaultTxnCheckMax,
		DuplicateWindowMaxKeys:      dedup.DefaultMaxKeys,
		MessageDelayLevel:           defaultDelayLevels,
		TimerMaxDelay:               defaultTimerMaxDelay,
		AclFile:                     "conf/plain_acl.yml",
		MetricsExporterType:         im.ExporterProm,
		MetricsPromExporterPort:     im.DefaultBrokerPort,
		MetricsMaxTopicSeries:       im.DefaultMaxSeries,
		StoreReplyMessageEnable:     true,
		Logger:                      zerolog.Nop(),
	})
}

// Limits Validate enforces on options that size memory or protocol fields.
const (
	maxTransferCountLimit = 4096 // messages per pull response
	minRegisterPeriod     = 10 * time.Second
	maxRegisterPeriod     = 60 * time.Second
)

// Validate checks the options and names the first invalid one.
func (o Options) Validate() error {
	switch {
	case o.ListenAddr == "":
		return errors.New("broker: listenAddr is empty")
	case o.BrokerName == "":
		return errors.New("broker: brokerName is empty")
	case !meta.ValidName(o.BrokerName):
		return fmt.Errorf("broker: brokerName %q: only [%%|a-zA-Z0-9_-], at most %d characters", o.BrokerName, meta.MaxNameLen)
	case o.ClusterName == "":
		return errors.New("broker: brokerClusterName is empty")
	case !meta.ValidName(o.ClusterName):
		return fmt.Errorf("broker: brokerClusterName %q: only [%%|a-zA-Z0-9_-], at most %d characters", o.ClusterName, meta.MaxNameLen)
	case o.BrokerID < 0:
		return fmt.Errorf("broker: brokerId %d is negative", o.BrokerID)
	case o.DefaultTopicQueueNums < 1 || o.DefaultTopicQueueNums > meta.MaxQueueNums:
		return fmt.Errorf("broker: defaultTopicQueueNums %d outside 1..%d", o.DefaultTopicQueueNums, meta.MaxQueueNums)
	case o.RegisterPeriod <= 0:
		return fmt.Errorf("broker: registerNameServerPeriod %v is not positive", o.RegisterPeriod)
	case o.ClientExpiry < time.Second:
		return fmt.Errorf("broker: clientChannelExpiry %v is under 1s (durations take a unit, e.g. 120s)", o.ClientExpiry)
	case o.ShortPollingTime < time.Millisecond:
		return fmt.Errorf("broker: shortPollingTimeMills %v is under 1ms (durations take a unit, e.g. 1s)", o.ShortPollingTime)
	case o.MaxFrameBytes < 64<<10:
		return fmt.Errorf("broker: maxFrameBytes %d is under 64 KiB", o.MaxFrameBytes)
	case o.DuplicateWindow < 0 || o.DuplicateWindow > dedup.MaxWindow:
		return fmt.Errorf("broker: duplicateWindow %v outside 0..%v", o.DuplicateWindow, dedup.MaxWindow)
	case o.MaxTransferCount < 1 || o.MaxTransferCount > maxTransferCountLimit:
		return fmt.Errorf("broker: maxTransferCountOnMessageInMemory %d outside 1..%d", o.MaxTransferCount, maxTransferCountLimit)
	case o.MaxTransferBytes < 1 || o.MaxTransferBytes > o.MaxFrameBytes/2:
		return fmt.Errorf("broker: maxTransferBytesOnMessageInMemory %d outside 1..maxFrameBytes/2 (%d)", o.MaxTransferBytes, o.MaxFrameBytes/2)
	case o.MaxParkedPulls < 1:
		return fmt.Errorf("broker: maxParkedPulls %d is not positive", o.MaxParkedPulls)
	case o.MaxParkedPullsPerConn < 1:
		return fmt.Errorf("broker: maxParkedPullsPerConn %d is not positive", o.MaxParkedPullsPerConn)
	case o.TraceTopicEnable && !meta.ValidName(o.MsgTraceTopicName):
		return fmt.Errorf("broker: msgTraceTopicName %q: only [%%|a-zA-Z0-9_-], at most %d characters", o.MsgTraceTopicName, meta.MaxNameLen)
	}
	if err := o.validateMetrics(); err != nil { // observe.go
		return err
	}
	if err := o.validateTxn(); err != nil {
		return err
	}
	if err := o.validateSchedule(); err != nil {
		return err
	}
	if err := o.validateRole(); err != nil {
		return err
	}
	if o.AdvertiseIP != "" {
		if _, err := netip.ParseAddr(o.AdvertiseIP); err != nil {
			return fmt.Errorf("broker: brokerIP1 %q is not an IP address", o.AdvertiseIP)
		}
	}
	if _, _, err := net.SplitHostPort(o.ListenAddr); err != nil {
		return fmt.Errorf("broker: listenAddr %q: %v", o.ListenAddr, err)
	}
	for _, a := range o.NamesrvAddrs {
		if _, err := netip.ParseAddrPort(a); err != nil {
			return fmt.Errorf("broker: namesrvAddr %q is not ip:port", a)
		}
	}
	return nil
}

// clampedRegisterPeriod returns RegisterPeriod clamped to 10 s .. 60 s, as Java does.
func (o Options) clampedRegisterPeriod() time.Duration {
	return min(max(o.RegisterPeriod, minRegisterPeriod), maxRegisterPeriod)
}

// Broker is one running broker. Its methods are safe from any goroutine.
type Broker struct {
	opts  Options
	sopts store.Options
	log   zerolog.Logger
	now   func() time.Time

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
	locks     *locks.Table
	registrar *registrar
	txn       *txnsvc.Service
	dedup     *dedup.Window // dedup.go
	sched     *scheduler    // delay.go: delay levels, timers, retry
	sqlCache  sqlCache      // propfilter.go: compiled SQL92 subscriptions
	acl       *acl.Plain    // aclguard.go: nil when aclEnable is off

	cfg        liveConfig   // admin_config.go: settings changed by UPDATE_BROKER_CONFIG
	cfgUpdates atomic.Int64 // admin_config.go: the configuration's data version

	repl replication   // role.go: the HA server of a master, the HA client of a slave
	obs  observability // observe.go: metrics, health and pprof

	srv *server.Server
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
	if err := b.openACL(); err != nil {
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

	b.stats = runstats.New(b.now())
	b.clients = newClientTable(b)
	b.locks = newLockTable(b)
	b.registrar = newRegistrar(b)
	b.topics.OnChange = b.registrar.Trigger
	b.openMetrics() // observe.go

	b.srv = server.NewServer(server.ServerOptions{
		Addr:          o.ListenAddr,
		MaxFrameBytes: o.MaxFrameBytes,
		Logger:        o.Logger,
	})
	b.registerRoutes(b.srv)
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
	b.srv.OnClose(b.onConnClose)
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
	b.clients.Start(ctx)
	if err := b.startReplication(ctx); err != nil {
		return err
	}
	if err := b.startMetrics(); err != nil { // observe.go
		return err
	}
	b.registrar.Start(ctx)
	b.txn.Start()
	b.sched.Start(ctx)
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
	b.txn.Close()
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
