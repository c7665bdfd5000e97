package namesrv

// This file fixes the NameServer's outward API (used by bin/ and tests/). Delete it once
// server.go carries the same doc comments.
//
//	type Options struct {   // mapstructure tags; DefaultOptions(); Validate()
//	    ListenAddr    string        // "0.0.0.0:9876"; tests "127.0.0.1:0"
//	    BrokerExpiry  time.Duration // 120s
//	    ScanInterval  time.Duration // 10s
//	    MaxFrameBytes int           // 16 MiB
//	    Logger zerolog.Logger   `mapstructure:"-"`
//	    Now    func() time.Time `mapstructure:"-"`
//	}
//	func New(o Options) *Server
//	func (s *Server) Start(ctx context.Context) error
//	func (s *Server) Addr() string   // "127.0.0.1:port"
//	func (s *Server) Close() error
