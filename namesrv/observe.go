package namesrv

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	im "github.com/rocketgo/rocketgo/internal/metrics"
)

var (
	descBrokers  = prometheus.NewDesc("rocketgo_namesrv_brokers", "Broker addresses registered and not expired.", nil, nil)
	descTopics   = prometheus.NewDesc("rocketgo_namesrv_topics", "Topics in the route table.", nil, nil)
	descClusters = prometheus.NewDesc("rocketgo_namesrv_clusters", "Clusters in the route table.", nil, nil)
)

// routeCollector reads the route table's sizes at scrape time.
type routeCollector struct{ t *routeTable }

func (c routeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descBrokers
	ch <- descTopics
	ch <- descClusters
}

func (c routeCollector) Collect(ch chan<- prometheus.Metric) {
	c.t.mu.RLock()
	brokers, topics, clusters := len(c.t.mu.live), len(c.t.mu.topics), len(c.t.mu.clusters)
	c.t.mu.RUnlock()
	ch <- prometheus.MustNewConstMetric(descBrokers, prometheus.GaugeValue, float64(brokers))
	ch <- prometheus.MustNewConstMetric(descTopics, prometheus.GaugeValue, float64(topics))
	ch <- prometheus.MustNewConstMetric(descClusters, prometheus.GaugeValue, float64(clusters))
}

// validateMetrics checks the metrics options.
func (o Options) validateMetrics() error {
	if err := im.CheckExporterType("namesrv: metricsExporterType", o.MetricsExporterType); err != nil {
		return err
	}
	return im.CheckPort("namesrv: namesrvMetricsPromExporterPort", o.MetricsPromExporterPort)
}

// startMetrics serves /metrics, /healthz and /readyz when the exporter is on. A taken
// port is logged and the NameServer serves without the endpoint.
func (s *Server) startMetrics() {
	if s.o.MetricsExporterType != im.ExporterProm {
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	prometheus.WrapRegistererWith(prometheus.Labels{"node_type": "nameserver"}, reg).MustRegister(routeCollector{s.routes})
	srv, err := im.Start(im.Config{
		Host: s.o.MetricsPromExporterHost, Port: s.o.MetricsPromExporterPort, Registry: reg,
		Ready: func() error {
			if s.Addr() == "" {
				return errors.New("not serving yet")
			}
			return nil
		},
		Pprof: s.o.EnablePprof, Log: s.log,
	})
	if err != nil {
		s.log.Error().Err(err).Int("port", s.o.MetricsPromExporterPort).Msg("metrics endpoint not started")
		return
	}
	s.metrics = srv
	s.log.Info().Str("addr", srv.Addr()).Msg("metrics serving")
}

// MetricsAddr returns the metrics endpoint's "host:port", empty when it does not run.
func (s *Server) MetricsAddr() string {
	if s.metrics == nil {
		return ""
	}
	return s.metrics.Addr()
}

func (s *Server) closeMetrics() {
	if s.metrics != nil {
		_ = s.metrics.Close()
	}
}
