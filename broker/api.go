package broker

// This file fixes the broker's outward API and the seams between its files, so that the
// files can be written side by side. Delete this file once broker.go carries the same
// doc comments.
//
// Outward (used by bin/ and tests/):
//
//	type Options struct {   // mapstructure tags; DefaultOptions(); Validate()
//	    ListenAddr          string        // "0.0.0.0:10911"; tests "127.0.0.1:0"
//	    AdvertiseIP         string        // brokerIP1: the IP clients dial; "" = first non-loopback IPv4, or 127.0.0.1
//	    BrokerName          string        // "broker-a"
//	    ClusterName         string        // "DefaultCluster"
//	    BrokerID            int64         // 0 master
//	    BrokerRole          string        // ASYNC_MASTER (SYNC_MASTER, SLAVE arrive with the HA issue: refused by Validate for now)
//	    NamesrvAddrs        []string      // "127.0.0.1:9876"
//	    AutoCreateTopicEnable       bool  // true
//	    AutoCreateSubscriptionGroup bool  // true
//	    DefaultTopicQueueNums       int   // 8 (TBW102)
//	    RegisterPeriod      time.Duration // 30s, clamped 10s..60s
//	    ClientExpiry        time.Duration // 120s
//	    LongPollingEnable   bool          // true
//	    ShortPollingTime    time.Duration // 1s
//	    MaxFrameBytes       int           // 16 MiB
//	    Region              string        // "DefaultRegion"
//	    TraceOn             bool          // true
//	    Logger zerolog.Logger   `mapstructure:"-"`
//	    Now    func() time.Time `mapstructure:"-"`
//	}
//	func Open(o Options, so store.Options) (*Broker, error) // opens store + metadata, registers handlers
//	func (b *Broker) Start(ctx context.Context) error         // listen, register with namesrvs, start loops
//	func (b *Broker) Addr() string                             // advertised "ip:port"
//	func (b *Broker) Close() error                             // stop accepting, finish in-flight, unregister, close store
//	func (b *Broker) Store() *store.Store                      // for tests
//
// File ownership and seams inside the package:
//
//	broker.go, respond.go, meta.go (pebble), topics.go, groups.go, offsets.go,
//	send.go, pull.go, longpoll.go, admin_topic.go     — the data path
//	clients.go, heartbeat.go, locks.go, query.go, stats.go, registrar.go — clients and admin
//
// Seams (methods one side calls on the other):
//
//	// topics.go
//	func (t *topicTable) Get(topic string) (*metapb.TopicConfig, bool)
//	func (t *topicTable) All() ([]*metapb.TopicConfig, DataVersion)
//	func (t *topicTable) EnsureRetry(group string, queues int32) (*metapb.TopicConfig, error) // %RETRY%group
//	func (t *topicTable) Put(tc *metapb.TopicConfig) error   // create/update, bumps DataVersion, triggers registration
//	func (t *topicTable) Delete(topic string) error
//	// groups.go
//	func (g *groupTable) Ensure(group string) (*metapb.SubscriptionGroup, error) // auto-create if enabled
//	func (g *groupTable) Get(group string) (*metapb.SubscriptionGroup, bool)
//	// offsets.go
//	func (o *offsetTable) Get(group, topic string, queueID int32) (int64, bool)
//	func (o *offsetTable) Groups(topic string) []string  // groups with offsets on the topic
//	// clients.go
//	func (c *clientTable) Subscription(group, topic string) (*body.SubscriptionData, bool)
//	func (c *clientTable) ConsumeFromWhere(group string) (string, bool)
//	func (c *clientTable) ConsumerIDs(group string) []string
//	func (c *clientTable) ProducerConns(group string) []*remoting.Conn
//	// registrar.go
//	func (r *registrar) Trigger()      // register with every namesrv now (topic changed)
//	// respond.go: the one table from Go errors to response codes and remarks
//	func errorResponse(req *remoting.Command, err error) *remoting.Command
