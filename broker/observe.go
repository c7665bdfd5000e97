package broker

import (
	"errors"

	"github.com/rocketgo/rocketgo/broker/metrics"
	im "github.com/rocketgo/rocketgo/internal/metrics"
)

// observability is the broker's metrics endpoint (docs/metrics.md): the metric set
// the send and pull paths count into, and the HTTP server that serves it with
// /healthz, /readyz and pprof. Both are nil with metricsExporterType DISABLE.
type observability struct {
	m   *metrics.Metrics
	srv *im.Server
	// rpc is each route's rocketmq_rpc_latency observer, filled while the routes are
	// registered and only read afterwards (observe_rpc.go).
	rpc map[int32]*metrics.RPCRoute
}

// openMetrics builds the metric set when the exporter is on.
func (b *Broker) openMetrics() {
	if b.opts.MetricsExporterType != im.ExporterProm {
		return
	}
	node := metrics.Node{Cluster: b.opts.ClusterName, BrokerName: b.opts.BrokerName}
	b.obs.m = metrics.New(node, b.opts.MetricsMaxTopicSeries, b.topics.IsSystem)
	if err := b.obs.m.Register(metrics.NewCollector(b.obs.m, b.metricsSnapshot), node); err != nil {
		panic(err) // the descriptors are fixed: a clash is a programming error
	}
}

// startMetrics listens on the metrics port.
func (b *Broker) startMetrics() error {
	if b.obs.m == nil {
		return nil
	}
	srv, err := im.Start(im.Config{
		Host:     b.opts.MetricsPromExporterHost,
		Port:     b.opts.MetricsPromExporterPort,
		Registry: b.obs.m.Registry(),
		Ready:    b.ready,
		Pprof:    b.opts.EnablePprof,
		Log:      b.log,
	})
	if err != nil {
		// Messages matter more than their metrics: a taken port is reported loudly,
		// and the broker serves without the endpoint.
		b.log.Error().Err(err).Int("port", b.opts.MetricsPromExporterPort).Msg("metrics endpoint not started")
		return nil
	}
	b.obs.srv = srv
	b.log.Info().Str("addr", srv.Addr()).Bool("pprof", b.opts.EnablePprof).Msg("metrics serving")
	return nil
}

// closeMetrics stops the metrics server.
func (b *Broker) closeMetrics() {
	if b.obs.srv != nil {
		if err := b.obs.srv.Close(); err != nil {
			b.log.Warn().Err(err).Msg("close metrics server")
		}
	}
}

// MetricsAddr returns the "host:port" the metrics endpoint listens on, empty when it
// does not.
func (b *Broker) MetricsAddr() string {
	if b.obs.srv == nil {
		return ""
	}
	return b.obs.srv.Addr()
}

// ready is /readyz: the store is open (recovered), the broker serves, its role is
// known (a slave knows its master) and the last registration round reached a
// NameServer (when any is configured).
func (b *Broker) ready() error {
	switch {
	case b.closing.Load():
		return errors.New("shutting down")
	case b.Addr() == "":
		return errors.New("not serving yet")
	case len(b.opts.NamesrvAddrs) > 0 && !b.registrar.Registered():
		return errors.New("not registered with any NameServer")
	case b.isSlave() && b.repl.meta != nil && b.repl.meta.MasterAddr() == "":
		return errors.New("slave does not know its master yet")
	}
	return nil
}

// countSent counts a stored send: one message, or a batch of len(sizes).
func (b *Broker) countSent(topic string, sp *propScan, body []byte, sizes []int) {
	typ := metrics.Normal
	if sp.sched.set {
		typ = metrics.Delay
	}
	b.obs.m.Sent(topic, typ, max(len(sizes), 1), len(body))
}
