// Package metrics holds the broker's Prometheus metrics under Apache RocketMQ 5's
// names and labels (BrokerMetricsConstant), plus rocketgo's own (prefix rocketgo_).
//
// Counters on the send and pull paths (Sent, Pulled) are cheap: each (topic, type) or
// (topic, group) pair resolves its label children once and caches them in a
// copy-on-write map, so a hot call is one atomic map load and a few atomic adds. The
// figures that describe state — consumer lag, storage, connections, replication — are
// not counted at all: a Collector reads them from the broker at scrape time.
//
// Topic and group label values are capped (metricsMaxTopicSeries): past the cap they
// read "__other__" (internal/metrics.Limiter). docs/metrics.md lists every metric.
package metrics

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	im "github.com/rocketgo/rocketgo/internal/metrics"
	"github.com/rocketgo/rocketgo/proto/message"
)

// Label names (BrokerMetricsConstant).
const (
	labelCluster  = "cluster"
	labelNodeType = "node_type"
	labelNodeID   = "node_id"
	labelTopic    = "topic"
	labelGroup    = "consumer_group"
	labelMsgType  = "message_type"
	labelIsRetry  = "is_retry"
	labelIsSystem = "is_system"
)

// retryPrefix marks a group's retry topic (%RETRY%group).
const retryPrefix = "%RETRY%"

// MessageType is the message_type label of a send.
type MessageType uint8

// Message types, as Apache's TopicMessageType names them.
const (
	Normal MessageType = iota
	FIFO
	Delay
	Transaction
	numTypes
)

var typeNames = [numTypes]string{"normal", "fifo", "delay", "transaction"}

func (t MessageType) String() string { return typeNames[t] }

// sizeBuckets are rocketmq_message_size's buckets in bytes (Apache's: 1 KiB, 4 KiB,
// 512 KiB, 1 MiB, 2 MiB, 4 MiB).
var sizeBuckets = []float64{1 << 10, 4 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20}

// Node identifies the broker in every series (cluster, node_type, node_id).
type Node struct {
	Cluster    string
	BrokerName string
}

// Metrics is a broker's metric set. Its methods are safe from any goroutine.
type Metrics struct {
	reg      *prometheus.Registry
	isSystem func(topic string) bool
	topics   *im.Limiter
	groups   *im.Limiter

	msgsIn   *prometheus.CounterVec
	bytesIn  *prometheus.CounterVec
	size     *prometheus.HistogramVec
	msgsOut  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	rpc      *rpcMetric // rocketmq_rpc_latency (rpc.go)

	mu  sync.Mutex // serializes inserts into in and out
	in  atomic.Pointer[map[inKey]*inSeries]
	out atomic.Pointer[map[outKey]*outSeries]

	pulled pullTable // where each group last pulled, for inflight and queueing latency
}

type inKey struct {
	topic string
	typ   MessageType
}

type inSeries struct {
	msgs, bytes prometheus.Counter
	size        prometheus.Observer
}

type outKey struct{ topic, group string }

type outSeries struct{ msgs, bytes prometheus.Counter }

// New builds the metric set for node. maxSeries caps the distinct topic and group
// label values (metricsMaxTopicSeries); isSystem tells system topics apart (nil:
// none are).
func New(node Node, maxSeries int, isSystem func(string) bool) *Metrics {
	if isSystem == nil {
		isSystem = func(string) bool { return false }
	}
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		isSystem: isSystem,
		topics:   im.NewLimiter(maxSeries),
		groups:   im.NewLimiter(maxSeries),
	}
	m.msgsIn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rocketmq_messages_in_total",
		Help: "Messages stored by sends."}, []string{labelTopic, labelMsgType, labelIsSystem})
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rocketmq_throughput_in_total",
		Help: "Body bytes of the messages stored by sends (a batch counts its encoded batch body)."},
		[]string{labelTopic, labelMsgType, labelIsSystem})
	m.size = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rocketmq_message_size",
		Help: "Body size of the messages stored by sends, in bytes.", Buckets: sizeBuckets},
		[]string{labelTopic, labelMsgType})
	m.msgsOut = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rocketmq_messages_out_total",
		Help: "Messages delivered by pulls."}, []string{labelTopic, labelGroup, labelIsRetry, labelIsSystem})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rocketmq_throughput_out_total",
		Help: "Body bytes of the messages delivered by pulls."}, []string{labelTopic, labelGroup, labelIsRetry, labelIsSystem})
	empty := map[inKey]*inSeries{}
	m.in.Store(&empty)
	emptyOut := map[outKey]*outSeries{}
	m.out.Store(&emptyOut)
	m.pulled.m = make(map[pullKey]int64)
	m.rpc = newRPCMetric()

	nodeReg := prometheus.WrapRegistererWith(prometheus.Labels{
		labelCluster: node.Cluster, labelNodeType: "broker", labelNodeID: node.BrokerName,
	}, m.reg)
	nodeReg.MustRegister(m.msgsIn, m.bytesIn, m.size, m.msgsOut, m.bytesOut, m.rpc.vec)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry to serve (internal/metrics.Config.Registry).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Register adds a scrape-time collector with the node labels.
func (m *Metrics) Register(c prometheus.Collector, node Node) error {
	return prometheus.WrapRegistererWith(prometheus.Labels{
		labelCluster: node.Cluster, labelNodeType: "broker", labelNodeID: node.BrokerName,
	}, m.reg).Register(c)
}

// Sent counts n messages of bodyBytes body bytes stored on topic. A nil Metrics
// counts nothing, so the send path calls it unconditionally.
func (m *Metrics) Sent(topic string, typ MessageType, n, bodyBytes int) {
	if m == nil || n <= 0 {
		return
	}
	s := (*m.in.Load())[inKey{topic, typ}]
	if s == nil {
		s = m.resolveIn(topic, typ)
	}
	s.msgs.Add(float64(n))
	s.bytes.Add(float64(bodyBytes))
	per := float64(bodyBytes / n)
	for range n {
		s.size.Observe(per)
	}
}

// resolveIn creates the series of a (topic, type) pair on its first send.
func (m *Metrics) resolveIn(topic string, typ MessageType) *inSeries {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := *m.in.Load()
	if s := cur[inKey{topic, typ}]; s != nil {
		return s
	}
	t, sys := m.topics.Value(topic), boolLabel(m.isSystem(topic))
	s := &inSeries{
		msgs:  m.msgsIn.WithLabelValues(t, typ.String(), sys),
		bytes: m.bytesIn.WithLabelValues(t, typ.String(), sys),
		size:  m.size.WithLabelValues(t, typ.String()),
	}
	next := make(map[inKey]*inSeries, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	// Past the cap the map still grows by one entry per distinct topic, sharing the
	// __other__ children; the cap bounds series, the topic table bounds the map.
	next[inKey{topic, typ}] = s
	m.in.Store(&next)
	return s
}

// Pulled counts the records a pull by group delivered from topic's queue and notes
// next, the offset the group pulls from next.
func (m *Metrics) Pulled(topic, group string, queueID int32, next int64, records [][]byte) {
	if m == nil || len(records) == 0 {
		return
	}
	s := (*m.out.Load())[outKey{topic, group}]
	if s == nil {
		s = m.resolveOut(topic, group)
	}
	bytes := 0
	for _, r := range records {
		bytes += len(message.RecordBody(r))
	}
	s.msgs.Add(float64(len(records)))
	s.bytes.Add(float64(bytes))
	m.pulled.note(pullKey{group, topic, queueID}, next)
}

func (m *Metrics) resolveOut(topic, group string) *outSeries {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := *m.out.Load()
	if s := cur[outKey{topic, group}]; s != nil {
		return s
	}
	t, g := m.topics.Value(topic), m.groups.Value(group)
	retry, sys := boolLabel(strings.HasPrefix(topic, retryPrefix)), boolLabel(m.isSystem(topic))
	s := &outSeries{
		msgs:  m.msgsOut.WithLabelValues(t, g, retry, sys),
		bytes: m.bytesOut.WithLabelValues(t, g, retry, sys),
	}
	next := make(map[outKey]*outSeries, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[outKey{topic, group}] = s
	m.out.Store(&next)
	return s
}

// LastPulled returns the offset group pulls next from topic's queue, if it pulled.
func (m *Metrics) LastPulled(group, topic string, queueID int32) (int64, bool) {
	if m == nil {
		return 0, false
	}
	return m.pulled.get(pullKey{group, topic, queueID})
}

type pullKey struct {
	group, topic string
	queueID      int32
}

// pullTable remembers each queue's next pull offset per group: the part of a
// consumer's progress the committed offsets do not show yet.
type pullTable struct {
	mu sync.Mutex
	m  map[pullKey]int64
}

func (p *pullTable) note(k pullKey, next int64) {
	p.mu.Lock()
	p.m[k] = next
	p.mu.Unlock()
}

func (p *pullTable) get(k pullKey) (int64, bool) {
	p.mu.Lock()
	v, ok := p.m[k]
	p.mu.Unlock()
	return v, ok
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
