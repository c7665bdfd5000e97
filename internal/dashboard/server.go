package dashboard

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client"
)

//go:embed static
var staticFiles embed.FS

// Config says which cluster a Server shows.
type Config struct {
	NameServers []string
	Logger      zerolog.Logger
	// CallTimeout bounds each API request's calls to the cluster (0: 10 s).
	CallTimeout time.Duration
	// TLS, when set, makes every connection to the cluster TLS (mqdashboard -tls).
	TLS *tls.Config
	// Credentials, when set, sign every request the dashboard sends (brokers with
	// aclEnable; docs/acl.md). The account needs admin for the admin pages.
	Credentials *client.Credentials
	// ControllerAddrs are the controller group's addresses (mqdashboard -controller);
	// none leaves the Controller page "controller mode not configured".
	ControllerAddrs []string
}

// clientOptions are the options of the dashboard's admin client and producer.
func (cfg Config) clientOptions() []client.Option {
	opts := []client.Option{client.WithNameServer(cfg.NameServers...), client.WithLogger(cfg.Logger),
		client.WithInstanceName("dashboard"), client.WithTLS(cfg.TLS)}
	if cfg.Credentials != nil {
		opts = append(opts, client.WithCredentials(*cfg.Credentials))
	}
	return opts
}

// Server is the dashboard: an http.Handler plus the admin client and producer it uses.
type Server struct {
	cfg   Config
	admin *client.Admin
	mux   *http.ServeMux

	prodMu   sync.Mutex
	producer *client.Producer // for test messages, started on first use

	httpSrv *http.Server
}

// New connects an admin client to cfg's NameServers. Close releases it.
func New(cfg Config) (*Server, error) {
	if len(cfg.NameServers) == 0 {
		return nil, errors.New("dashboard: no NameServer address")
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	var aopts []client.AdminOption
	for _, o := range cfg.clientOptions() {
		aopts = append(aopts, o)
	}
	a, err := client.NewAdmin(aopts...)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s := &Server{cfg: cfg, admin: a, mux: http.NewServeMux()}
	sub, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("/", http.FileServerFS(sub))
	s.routes()
	return s, nil
}

// ServeHTTP serves the UI and the API. A handler that panics answers 500 instead of
// dropping the connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Logger.Error().Interface("panic", v).Str("path", r.URL.Path).Msg("dashboard handler panicked")
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprint("internal error: ", v)})
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// Start listens on addr (":8080", "127.0.0.1:0") and serves in the background until ctx
// ends or Close. It returns the address it listens on.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("dashboard: listen %s: %w", addr, err)
	}
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error().Err(err).Msg("dashboard stopped")
		}
	}()
	go func() {
		<-ctx.Done()
		s.httpSrv.Close()
	}()
	return ln.Addr().String(), nil
}

// Close stops serving and releases the admin client and the producer.
func (s *Server) Close() error {
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
	s.prodMu.Lock()
	if s.producer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.producer.Shutdown(ctx)
		cancel()
		s.producer = nil
	}
	s.prodMu.Unlock()
	return s.admin.Close()
}

// testProducer returns the producer of test messages, starting it on first use.
func (s *Server) testProducer(ctx context.Context) (*client.Producer, error) {
	s.prodMu.Lock()
	defer s.prodMu.Unlock()
	if s.producer != nil {
		return s.producer, nil
	}
	popts := []client.ProducerOption{client.WithProducerGroup("DASHBOARD_PRODUCER_GROUP")}
	for _, o := range s.cfg.clientOptions() {
		popts = append(popts, o)
	}
	p, err := client.NewProducer(popts...)
	if err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	s.producer = p
	return p, nil
}

// badRequest is an error the API answers with 400.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func bad(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

// apiFunc handles one API call and returns the value to answer as JSON.
type apiFunc func(ctx context.Context, r *http.Request) (any, error)

// handle registers an API route: its error becomes {"error": ...} with 400 for bad
// input, 501 for what the cluster does not support, else 502.
func (s *Server) handle(pattern string, fn apiFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
		v, err := fn(ctx, r)
		if err != nil {
			status := http.StatusBadGateway
			var br badRequest
			switch {
			case errors.As(err, &br), errors.Is(err, client.ErrInvalidOption), errors.Is(err, client.ErrInvalidMessage):
				status = http.StatusBadRequest
			case errors.Is(err, client.ErrNotSupported):
				status = http.StatusNotImplemented
			}
			writeJSON(w, status, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON request body into v; anything malformed is a bad request.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad("request body: %v", err)
	}
	return nil
}
