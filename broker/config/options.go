// Package config is the broker's configuration (Apache RocketMQ's BrokerConfig and
// the broker's part of MessageStoreConfig): Options with RocketMQ's key names,
// Default with RocketMQ's defaults, and Validate, which names the first invalid key.
// It imports no broker code, so configuration loaders and tools can use it alone.
package config

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/internal/longpoll"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/schedule"
	im "github.com/rocketgo/rocketgo/internal/metrics"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// Broker roles (brokerRole).
const (
	RoleAsyncMaster = "ASYNC_MASTER" // answers sends without waiting for a slave
	RoleSyncMaster  = "SYNC_MASTER"  // answers sends once a slave has them (the broker's role.go)
	RoleSlave       = "SLAVE"        // replicates a master, serves pulls (the broker's role.go)
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
	// BrokerRole is ASYNC_MASTER, SYNC_MASTER or SLAVE (the broker's role.go).
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
	// MaxBufferedRequestBytes bounds the bytes held for all peers in unfinished frames
	// and queued requests (128 MiB); past it, large frames wait with their sockets
	// unread (docs/operations.md §1.5).
	MaxBufferedRequestBytes int64 `mapstructure:"maxBufferedRequestBytes"`
	// MaxBufferedRequestBytesPerConn bounds the same for one connection (32 MiB).
	MaxBufferedRequestBytesPerConn int64 `mapstructure:"maxBufferedRequestBytesPerConn"`
	// FrameReadTimeout closes a connection whose frame has not arrived whole this long
	// after its first byte (30 s).
	FrameReadTimeout time.Duration `mapstructure:"frameReadTimeout"`
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
	// InnerClientAuthenticationCredentials signs what the broker sends itself — a
	// slave's requests to its master, registration with the NameServers — as JSON
	// {"accessKey":"...","secretKey":"..."} (Apache 5's key; empty: unsigned).
	InnerClientAuthenticationCredentials string `mapstructure:"innerClientAuthenticationCredentials"`

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

	// GRPCListenAddr is where the RocketMQ 5 gRPC endpoint listens (grpcListenAddr,
	// "0.0.0.0:8081", the Proxy's port, in conf/broker.yaml; empty turns it off — the
	// zero value, so embedded and test brokers open no fixed port; docs/grpc.md).
	GRPCListenAddr string `mapstructure:"grpcListenAddr"`
	// TLS is the process's `tls` section (conf copies it here): the listener's and the
	// HA port's tls.mode, and tls.enable for the broker's own outgoing links
	// (docs/tls.md). The zero value is TLS off.
	TLS tlsconf.Options `mapstructure:"-"`
	// VIPAddr, when set, is where the VIP channel listens instead of listenPort - 2.
	// Apache has no key for it, and neither does the config; an embedding program sets
	// it to reopen a broker on its old addresses (a broker first started on kernel-chosen
	// ports had its VIP channel on one of its own, not at listenPort - 2).
	VIPAddr string `mapstructure:"-"`

	// Logger receives the broker's logs; the zero value discards them.
	Logger zerolog.Logger `mapstructure:"-"`
	// Now is the broker's clock (time.Now when nil).
	Now func() time.Time `mapstructure:"-"`

	// Controller mode (docs/failover.md): a controller group elects the master.
	//
	// EnableControllerMode lets the controllers at ControllerAddr choose this broker's
	// role and brokerId (enableControllerMode); brokerRole then only says how a master
	// acknowledges (SYNC_MASTER or ASYNC_MASTER).
	EnableControllerMode bool `mapstructure:"enableControllerMode"`
	// ControllerAddr lists the controllers' remoting addresses, ';'-separated
	// (controllerAddr).
	ControllerAddr string `mapstructure:"controllerAddr"`
	// AllAckInSyncStateSet: a SYNC_MASTER acknowledges a write only once every member
	// of the SyncStateSet holds it (allAckInSyncStateSet, false).
	AllAckInSyncStateSet bool `mapstructure:"allAckInSyncStateSet"`
	// InSyncReplicas is how many replicas, the master counted, a SYNC_MASTER write
	// reaches without allAckInSyncStateSet (inSyncReplicas, 1; rocketgo supports 1
	// and 2).
	InSyncReplicas int `mapstructure:"inSyncReplicas"`
	// TotalReplicas is the group's size, the master counted (totalReplicas, 1).
	TotalReplicas int `mapstructure:"totalReplicas"`
	// MinInSyncReplicas: with allAckInSyncStateSet, a smaller SyncStateSet refuses SYNC
	// writes (minInSyncReplicas, 1).
	MinInSyncReplicas int `mapstructure:"minInSyncReplicas"`
	// HAMaxTimeSlaveNotCatchup: a slave that has not had the master's whole log for this
	// long leaves the SyncStateSet (haMaxTimeSlaveNotCatchup, 15s).
	HAMaxTimeSlaveNotCatchup time.Duration `mapstructure:"haMaxTimeSlaveNotCatchup"`
	// ControllerHeartBeatTimeout is how long the controllers count this broker alive
	// after a heartbeat (controllerHeartBeatTimeoutMills, 10s).
	ControllerHeartBeatTimeout time.Duration `mapstructure:"controllerHeartBeatTimeoutMills"`
	// BrokerHeartbeatInterval is how often the broker sends the controllers a heartbeat
	// and reads its group's state back (brokerHeartbeatInterval, 1s).
	BrokerHeartbeatInterval time.Duration `mapstructure:"brokerHeartbeatInterval"`
}

// Default returns RocketMQ's defaults (docs/protocol.md Appendix B).
func Default() Options {
	return withRoleDefaults(Options{
		ListenAddr:                     "0.0.0.0:10911",
		BrokerName:                     "broker-a",
		ClusterName:                    "DefaultCluster",
		BrokerRole:                     RoleAsyncMaster,
		NamesrvAddrs:                   []string{"127.0.0.1:9876"},
		AutoCreateTopicEnable:          true,
		AutoCreateSubscriptionGroup:    true,
		DefaultTopicQueueNums:          8,
		RegisterPeriod:                 30 * time.Second,
		ClientExpiry:                   120 * time.Second,
		LongPollingEnable:              true,
		ShortPollingTime:               time.Second,
		MaxFrameBytes:                  codec.DefaultMaxFrameBytes,
		MaxBufferedRequestBytes:        server.DefaultMaxBufferedRequestBytes,
		MaxBufferedRequestBytesPerConn: server.DefaultMaxBufferedRequestBytesPerConn,
		FrameReadTimeout:               server.DefaultFrameReadTimeout,
		Region:                         "DefaultRegion",
		TraceOn:                        true,
		TraceTopicEnable:               true,
		MsgTraceTopicName:              meta.TopicTrace,
		MaxTransferCount:               32,
		MaxTransferBytes:               256 << 10,
		MaxParkedPulls:                 longpoll.DefaultMaxTotal,
		MaxParkedPullsPerConn:          longpoll.DefaultMaxPerOwner,
		TransactionCheckInterval:       defaultTxnCheckInterval,
		TransactionTimeout:             defaultTxnTimeout,
		TransactionCheckMax:            defaultTxnCheckMax,
		DuplicateWindowMaxKeys:         dedup.DefaultMaxKeys,
		MessageDelayLevel:              defaultDelayLevels,
		TimerMaxDelay:                  defaultTimerMaxDelay,
		AclFile:                        "conf/plain_acl.yml",
		MetricsExporterType:            im.ExporterProm,
		MetricsPromExporterPort:        im.DefaultBrokerPort,
		MetricsMaxTopicSeries:          im.DefaultMaxSeries,
		StoreReplyMessageEnable:        true,
		Logger:                         zerolog.Nop(),
		InSyncReplicas:                 1,
		TotalReplicas:                  1,
		MinInSyncReplicas:              1,
		HAMaxTimeSlaveNotCatchup:       15 * time.Second,
		ControllerHeartBeatTimeout:     10 * time.Second,
		BrokerHeartbeatInterval:        time.Second,
	})
}

// Defaults of the scheduling options.
const (
	// defaultDelayLevels is RocketMQ's messageDelayLevel.
	defaultDelayLevels = schedule.DefaultLevels
	// defaultTimerMaxDelay is how far ahead a timer message may be due (30 days).
	defaultTimerMaxDelay = 30 * 24 * time.Hour
)

// Transaction defaults (BrokerConfig.java).
const (
	defaultTxnCheckInterval = 60 * time.Second
	defaultTxnTimeout       = 6 * time.Second
	defaultTxnCheckMax      = 15
	maxTxnCheckMax          = 1 << 20
)

// Defaults of the replication options (RocketMQ's MessageStoreConfig / BrokerConfig).
const (
	defaultHABatchBytes   = 256 << 10 // Java's 32 KiB; larger runs cost fewer writes
	defaultHAHeartbeat    = 5 * time.Second
	defaultHAHousekeeping = 20 * time.Second
	defaultSlaveTimeout   = 3 * time.Second
	defaultFallBehindMax  = 256 << 20
	defaultInMemoryRatio  = 40
	defaultSlaveSync      = 10 * time.Second
	minHABatchBytes       = 4 << 10
)

// withRoleDefaults sets the replication options' defaults in o.
func withRoleDefaults(o Options) Options {
	o.HATransferBatchBytes = defaultHABatchBytes
	o.HASendHeartbeatInterval = defaultHAHeartbeat
	o.HAHousekeepingInterval = defaultHAHousekeeping
	o.HASlaveFallbehindMax = defaultFallBehindMax
	o.SlaveTimeout = defaultSlaveTimeout
	o.AccessMessageInMemoryMaxRatio = defaultInMemoryRatio
	o.SlaveSyncInterval = defaultSlaveSync
	return o
}
