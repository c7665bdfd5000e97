package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Lag is one consumer group's progress on one topic, summed over its queues.
type Lag struct {
	Group, Topic string
	// Messages are stored but not committed (rocketmq_consumer_lag_messages).
	Messages int64
	// Inflight are pulled but not committed (rocketmq_consumer_inflight_messages).
	Inflight int64
	// LagLatency is the age of the oldest uncommitted message; QueueingLatency of the
	// oldest message not pulled yet (the largest over the queues).
	LagLatency, QueueingLatency time.Duration
}

// Snapshot is the broker state read at scrape time.
type Snapshot struct {
	Lags []Lag
	// StorageSize is the CommitLog's live bytes; FlushBehind and DispatchBehind how
	// far flushing and ConsumeQueue dispatch trail the log's end.
	StorageSize, FlushBehind, DispatchBehind int64
	ProducerConns                            int
	ConsumerConns                            map[string]int // per consumer group
	Topics, Groups                           int
	// ReplicationLag is how far the slowest slave (on a master) or this slave trails
	// the master's log, in bytes; HasReplication is false with no replication at all.
	ReplicationLag int64
	HasReplication bool
	HalfMessages   int // unresolved transaction half messages
	TimerBacklog   int // timer messages due within the scheduler's in-memory window
	ParkedPulls    int
	DiskUsage      float64 // used fraction of the store's file system
	DiskFull       bool
	Recovery       time.Duration // how long the store's last Open took to recover
}

// Collector turns a Snapshot into gauges at every scrape.
type Collector struct {
	m    *Metrics
	read func() Snapshot
}

// NewCollector returns a collector reading the broker through read; group and topic
// labels share m's caps.
func NewCollector(m *Metrics, read func() Snapshot) *Collector {
	return &Collector{m: m, read: read}
}

var (
	lagLabels    = []string{labelTopic, labelGroup, labelIsRetry, labelIsSystem}
	descLag      = prometheus.NewDesc("rocketmq_consumer_lag_messages", "Messages stored but not committed by the consumer group.", lagLabels, nil)
	descLagLat   = prometheus.NewDesc("rocketmq_consumer_lag_latency", "Age of the oldest message the consumer group has not committed, in milliseconds.", lagLabels, nil)
	descInflight = prometheus.NewDesc("rocketmq_consumer_inflight_messages", "Messages pulled but not committed by the consumer group.", lagLabels, nil)
	descQueueLat = prometheus.NewDesc("rocketmq_consumer_queueing_latency", "Age of the oldest message the consumer group has not pulled yet, in milliseconds.", lagLabels, nil)
	descStorage  = prometheus.NewDesc("rocketmq_storage_size", "Bytes of the CommitLog between its first and last live offset.", nil, nil)
	descFlush    = prometheus.NewDesc("rocketmq_storage_flush_behind_bytes", "CommitLog bytes appended but not flushed.", nil, nil)
	descDispatch = prometheus.NewDesc("rocketmq_storage_dispatch_behind_bytes", "CommitLog bytes not dispatched to the ConsumeQueues yet.", nil, nil)
	descProdConn = prometheus.NewDesc("rocketmq_producer_connections", "Producer connections registered by heartbeat.", nil, nil)
	descConsConn = prometheus.NewDesc("rocketmq_consumer_connections", "Consumer connections registered by heartbeat.", []string{labelGroup}, nil)
	descTopics   = prometheus.NewDesc("rocketmq_topic_number", "Topics in the topic table.", nil, nil)
	descGroups   = prometheus.NewDesc("rocketmq_consumer_group_number", "Subscription groups in the group table.", nil, nil)
	descReplLag  = prometheus.NewDesc("rocketgo_replication_lag_bytes", "How far the slowest slave (on a master) or this slave trails the master's CommitLog.", nil, nil)
	descHalf     = prometheus.NewDesc("rocketgo_half_messages", "Transaction half messages not committed or rolled back yet.", nil, nil)
	descTimer    = prometheus.NewDesc("rocketgo_timer_backlog_messages", "Timer messages due within the scheduler's in-memory window.", nil, nil)
	descParked   = prometheus.NewDesc("rocketgo_parked_pulls", "Long-polling pulls held by the broker.", nil, nil)
	descDisk     = prometheus.NewDesc("rocketgo_disk_usage_ratio", "Used fraction of the store's file system (0..1).", nil, nil)
	descDiskFull = prometheus.NewDesc("rocketgo_disk_full", "1 while appends are refused because the disk is over diskMaxUsedSpaceRatio.", nil, nil)
	descRecovery = prometheus.NewDesc("rocketgo_store_recovery_seconds", "Time the store's last Open spent recovering.", nil, nil)
)

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLag, descLagLat, descInflight, descQueueLat, descStorage, descFlush, descDispatch,
		descProdConn, descConsConn, descTopics, descGroups, descReplLag, descHalf, descTimer, descParked, descDisk, descDiskFull, descRecovery} {
		ch <- d
	}
}

// lagSum is one lag series after the cap folded topics and groups together: counts
// add up, latencies keep the largest.
type lagSum struct {
	msgs, inflight  int64
	lagLat, queueLt time.Duration
}

// Collect reads the broker once and sends every gauge.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	type key struct{ topic, group, retry, sys string }
	sums := make(map[key]*lagSum)
	var order []key
	for _, l := range s.Lags {
		k := key{c.m.topics.Value(l.Topic), c.m.groups.Value(l.Group),
			boolLabel(strings.HasPrefix(l.Topic, retryPrefix)), boolLabel(c.m.isSystem(l.Topic))}
		v := sums[k]
		if v == nil {
			v = &lagSum{}
			sums[k] = v
			order = append(order, k)
		}
		v.msgs += l.Messages
		v.inflight += l.Inflight
		v.lagLat = max(v.lagLat, l.LagLatency)
		v.queueLt = max(v.queueLt, l.QueueingLatency)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, k := range order {
		v := sums[k]
		gauge(descLag, float64(v.msgs), k.topic, k.group, k.retry, k.sys)
		gauge(descInflight, float64(v.inflight), k.topic, k.group, k.retry, k.sys)
		gauge(descLagLat, float64(v.lagLat.Milliseconds()), k.topic, k.group, k.retry, k.sys)
		gauge(descQueueLat, float64(v.queueLt.Milliseconds()), k.topic, k.group, k.retry, k.sys)
	}
	gauge(descStorage, float64(s.StorageSize))
	gauge(descFlush, float64(s.FlushBehind))
	gauge(descDispatch, float64(s.DispatchBehind))
	gauge(descProdConn, float64(s.ProducerConns))
	conns := make(map[string]int, len(s.ConsumerConns))
	for g, n := range s.ConsumerConns {
		conns[c.m.groups.Value(g)] += n
	}
	for g, n := range conns {
		gauge(descConsConn, float64(n), g)
	}
	gauge(descTopics, float64(s.Topics))
	gauge(descGroups, float64(s.Groups))
	if s.HasReplication {
		gauge(descReplLag, float64(s.ReplicationLag))
	}
	gauge(descHalf, float64(s.HalfMessages))
	gauge(descTimer, float64(s.TimerBacklog))
	gauge(descParked, float64(s.ParkedPulls))
	gauge(descDisk, s.DiskUsage)
	full := 0.0
	if s.DiskFull {
		full = 1
	}
	gauge(descDiskFull, full)
	gauge(descRecovery, s.Recovery.Seconds())
}
