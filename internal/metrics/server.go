// Package metrics is the observability endpoint shared by the broker and the
// NameServer: one HTTP port serving Prometheus metrics (/metrics), liveness (/healthz),
// readiness (/readyz) and, behind a switch, Go's pprof (/debug/pprof/). It also holds
// the exporter settings both processes read (Apache RocketMQ 5's metricsExporterType,
// metricsPromExporterHost and metricsPromExporterPort) and the series cap that bounds
// label cardinality (Limiter). docs/metrics.md lists every metric.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Exporter types (metricsExporterType). Apache RocketMQ 5 also has OTLP_GRPC and LOG;
// rocketgo serves Prometheus's pull format only.
const (
	ExporterProm    = "PROM"
	ExporterDisable = "DISABLE"
)

// DefaultBrokerPort is Apache RocketMQ 5's metricsPromExporterPort default; the
// NameServer's default (DefaultNamesrvPort) is the next port, so both run on one host.
const (
	DefaultBrokerPort  = 5557
	DefaultNamesrvPort = 5558
)

// Limits of the HTTP server: a scrape is a small GET, so large headers or slow
// clients are refused rather than buffered.
const (
	maxHeaderBytes    = 16 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second // a scrape of many topics, or a pprof profile
	idleTimeout       = 60 * time.Second
)

// CheckExporterType refuses an exporter type other than PROM and DISABLE (empty reads
// as DISABLE), naming key.
func CheckExporterType(key, v string) error {
	switch v {
	case ExporterProm, ExporterDisable, "":
		return nil
	}
	return fmt.Errorf("%s %q: want %s or %s", key, v, ExporterProm, ExporterDisable)
}

// CheckPort refuses a port outside 0..65535 (0 means kernel-chosen, for tests).
func CheckPort(key string, p int) error {
	if p < 0 || p > 65535 {
		return fmt.Errorf("%s %d outside 0..65535", key, p)
	}
	return nil
}

// Config says what one endpoint serves.
type Config struct {
	// Host and Port are where to listen; an empty Host listens on every interface.
	Host string
	Port int
	// Registry holds the process's metrics.
	Registry *prometheus.Registry
	// Ready reports readiness: nil when ready, else the reason /readyz answers 503
	// with. Nil Ready means always ready.
	Ready func() error
	// Pprof mounts net/http/pprof under /debug/pprof/ (enablePprof).
	Pprof bool
	// Log receives the server's own errors.
	Log zerolog.Logger
}

// Server is a running endpoint.
type Server struct {
	ln  net.Listener
	srv *http.Server
	ch  chan error
}

// Start listens and serves in the background.
func Start(c Config) (*Server, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
	if err != nil {
		return nil, fmt.Errorf("metrics: listen: %w", err)
	}
	s := &Server{ln: ln, ch: make(chan error, 1)}
	s.srv = &http.Server{
		Handler:           Handler(c),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          nil,
	}
	go func() { s.ch <- s.srv.Serve(ln) }()
	return s, nil
}

// Handler returns the endpoint's routes; anything else is 404.
func Handler(c Config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.Registry, promhttp.HandlerOpts{
		ErrorLog:            promLogger{c.Log},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if c.Ready != nil {
			if err := c.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if c.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Addr returns the bound "host:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waiting up to 2 s for scrapes in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.ch; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// promLogger routes promhttp's collection errors to the process log.
type promLogger struct{ log zerolog.Logger }

func (l promLogger) Println(v ...any) { l.log.Warn().Msg(fmt.Sprint(v...)) }
