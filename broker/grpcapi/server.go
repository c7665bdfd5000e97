package grpcapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rocketgo/rocketgo/broker/msgtype"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
)

// Options configures the endpoint.
type Options struct {
	// ListenAddr is where gRPC is served ("0.0.0.0:8081", the Proxy's port; "127.0.0.1:0"
	// in tests).
	ListenAddr string
	// AdvertiseHost is the host put in routes for clients to dial; the listen host when
	// empty and specific, else 127.0.0.1.
	AdvertiseHost string
	// CertPath and KeyPath name a PEM certificate and key for TLS; when both are empty a
	// self-signed certificate is created in CertDir at first start.
	CertPath, KeyPath, CertDir string
	// MaxMessageBytes bounds one message body (the broker's maxMessageSize).
	MaxMessageBytes int
	// SessionExpiry drops a client's session (and its broker connection, which unregisters
	// it) after this long without a call; 120 s when zero, the broker's client expiry.
	SessionExpiry time.Duration
	Logger        zerolog.Logger
	Now           func() time.Time
}

// Backend is what the endpoint needs from the broker it runs in.
type Backend struct {
	// BrokerName is put in routes and receipt handles.
	BrokerName string
	// RemotingAddr returns the broker's remoting address on this host; every request the
	// endpoint relays goes there.
	RemotingAddr func() string
	// RemotingTLS, when set, is how the relay dials RemotingAddr (the broker's listener
	// enforces TLS).
	RemotingTLS *tls.Config
	// Topic describes a topic the broker serves.
	Topic func(name string) (TopicInfo, bool)
	// Authenticate checks a request's credentials (nil: no ACL). It returns the
	// account's secret key, with which relayed requests are signed, so the broker's own
	// checks apply to the account exactly as to a remoting client.
	Authenticate func(accessKey string) (secretKey string, ok bool)
}

// TopicInfo is what routes need of a topic.
type TopicInfo struct {
	ReadQueues, WriteQueues int
	Perm                    int          // PERM_READ 4 | PERM_WRITE 2
	MessageType             msgtype.Type // from the message.type attribute (msgtype.ParseAttribute)
	MessageTypeErr          error        // the attribute does not parse: sends are refused
}

// Server is the gRPC endpoint.
type Server struct {
	pb.UnimplementedMessagingServiceServer

	o    Options
	be   Backend
	log  zerolog.Logger
	gs   *grpc.Server
	ln   *dualListener
	addr net.Addr

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	stop     chan struct{}
	done     sync.WaitGroup
}

// New builds an endpoint; Start listens.
func New(o Options, be Backend) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionExpiry <= 0 {
		o.SessionExpiry = 120 * time.Second
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 4 << 20
	}
	return &Server{o: o, be: be, log: o.Logger, sessions: make(map[string]*session), stop: make(chan struct{})}
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	cert, err := loadOrCreateCert(s.o.CertPath, s.o.KeyPath, s.o.CertDir, s.o.Now())
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", s.o.ListenAddr)
	if err != nil {
		return fmt.Errorf("grpc: listen on %s: %w", s.o.ListenAddr, err)
	}
	s.addr = l.Addr()
	s.ln = newDualListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	// A frame larger than a message plus its properties is refused by grpc-go itself
	// with RESOURCE_EXHAUSTED before any of it is decoded.
	s.gs = grpc.NewServer(
		grpc.MaxRecvMsgSize(s.o.MaxMessageBytes+(1<<20)),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	pb.RegisterMessagingServiceServer(s.gs, s)
	s.done.Add(2)
	go func() {
		defer s.done.Done()
		_ = s.gs.Serve(s.ln)
	}()
	go func() {
		defer s.done.Done()
		s.expireLoop()
	}()
	s.log.Info().Str("addr", s.addr.String()).Msg("grpc endpoint serving (TLS and plaintext)")
	return nil
}

// Addr returns the listening address (valid after Start).
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops serving, ends every stream and closes every session's broker connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	sessions := s.sessions
	s.sessions = map[string]*session{}
	s.mu.Unlock()
	close(s.stop)
	if s.gs != nil {
		s.gs.Stop()
	}
	for _, ss := range sessions {
		ss.close()
	}
	s.done.Wait()
	return nil
}

// advertised returns the endpoints clients are told to dial.
func (s *Server) advertised() *pb.Endpoints {
	host, port := s.o.AdvertiseHost, 0
	if ta, ok := s.addr.(*net.TCPAddr); ok {
		port = ta.Port
		if host == "" && !ta.IP.IsUnspecified() {
			host = ta.IP.String()
		}
	}
	if host == "" {
		host = "127.0.0.1"
	}
	scheme := pb.AddressScheme_IPv4
	if ip := net.ParseIP(host); ip == nil {
		scheme = pb.AddressScheme_DOMAIN_NAME
	} else if ip.To4() == nil {
		scheme = pb.AddressScheme_IPv6
	}
	return &pb.Endpoints{Scheme: scheme, Addresses: []*pb.Address{{Host: host, Port: int32(port)}}}
}

// expireLoop drops sessions that made no call for SessionExpiry.
func (s *Server) expireLoop() {
	t := time.NewTicker(s.o.SessionExpiry / 4)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := s.o.Now()
		var gone []*session
		s.mu.Lock()
		for id, ss := range s.sessions {
			if now.Sub(ss.lastSeen()) > s.o.SessionExpiry {
				delete(s.sessions, id)
				gone = append(gone, ss)
			}
		}
		s.mu.Unlock()
		for _, ss := range gone {
			ss.close()
		}
	}
}

// callMeta is what every call carries in its metadata (x-mq-*).
type callMeta struct {
	clientID, language, namespace, requestID string
	accessKey, secretKey                     string
	remote                                   string
}

// errNoClientID answers a call without x-mq-client-id.
var errNoClientID = errors.New("x-mq-client-id is required")

// meta reads and checks the call's metadata: the client id is required, and with ACL
// on the signature must verify.
func (s *Server) meta(ctx context.Context) (callMeta, *pb.Status) {
	md, _ := metadata.FromIncomingContext(ctx)
	get := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	m := callMeta{
		clientID:  get("x-mq-client-id"),
		language:  get("x-mq-language"),
		namespace: get("x-mq-namespace"),
		requestID: get("x-mq-request-id"),
	}
	if m.clientID == "" {
		return m, statusOf(pb.Code_CLIENT_ID_REQUIRED, errNoClientID.Error())
	}
	if len(m.clientID) > 256 {
		return m, statusOf(pb.Code_BAD_REQUEST, "x-mq-client-id longer than 256 bytes")
	}
	if s.be.Authenticate != nil {
		ak, sk, st := s.verifySignature(get("authorization"), get("x-mq-date-time"))
		if st != nil {
			return m, st
		}
		m.accessKey, m.secretKey = ak, sk
	}
	return m, nil
}

func statusOf(c pb.Code, msg string) *pb.Status { return &pb.Status{Code: c, Message: msg} }

func okStatus() *pb.Status { return &pb.Status{Code: pb.Code_OK, Message: "OK"} }

// grpcErr turns a status into a gRPC error for the streaming methods, whose clients read
// the transport status.
func grpcErr(st *pb.Status) error {
	c := codes.InvalidArgument
	switch {
	case st.Code == pb.Code_UNAUTHORIZED:
		c = codes.Unauthenticated
	case st.Code == pb.Code_FORBIDDEN:
		c = codes.PermissionDenied
	case st.Code >= 40400 && st.Code < 40500:
		c = codes.NotFound
	case st.Code >= 50000:
		c = codes.Internal
	}
	return status.Error(c, st.Message)
}

// resourceName joins a namespace and a name as RocketMQ 5 does ("ns%name").
func resourceName(r *pb.Resource) string {
	if r == nil {
		return ""
	}
	if r.ResourceNamespace != "" {
		return r.ResourceNamespace + "%" + r.Name
	}
	return r.Name
}
