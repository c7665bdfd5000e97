package grpcapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/code"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// session is one gRPC client (by x-mq-client-id) and its own remoting connection to the
// broker. Giving each client its own connection makes it a client of the broker like any
// other: the broker's client table, CHECK_TRANSACTION_STATE and the consumer lists see
// one channel per gRPC client, and closing the session unregisters it.
type session struct {
	srv      *Server
	id       string
	language string
	rc       *transport.Client
	seen     atomic.Int64 // unix nanoseconds of the last call

	mu        sync.Mutex
	settings  *pb.Settings
	telemetry chan *pb.TelemetryCommand // the open Telemetry stream's outbox; nil when none
	creds     struct{ ak, sk string }
	verifying map[string]chan *pb.VerifyMessageResult // nonce → waiter
}

// session returns the client's session, creating it on first use, and marks it seen.
func (s *Server) session(m callMeta) *session {
	s.mu.Lock()
	ss, ok := s.sessions[m.clientID]
	if !ok {
		ss = &session{srv: s, id: m.clientID, language: m.language, verifying: map[string]chan *pb.VerifyMessageResult{}}
		ss.rc = transport.NewClient(transport.ClientOptions{Logger: s.log, TLS: s.be.RemotingTLS})
		ss.rc.Handle(code.CheckTransactionState, ss.onCheckTransaction)
		ss.rc.Handle(code.ConsumeMessageDirectly, ss.onConsumeDirectly)
		ss.rc.Handle(code.NotifyConsumerIDsChanged, func(string, *codec.Command) *codec.Command { return nil })
		if !s.closed {
			s.sessions[m.clientID] = ss
		}
	}
	s.mu.Unlock()
	ss.mu.Lock()
	if m.accessKey != "" {
		ss.creds.ak, ss.creds.sk = m.accessKey, m.secretKey
	}
	ss.mu.Unlock()
	ss.seen.Store(s.o.Now().UnixNano())
	return ss
}

func (ss *session) lastSeen() time.Time { return time.Unix(0, ss.seen.Load()) }

// close ends the session: its broker connection closes, which unregisters the client.
func (ss *session) close() {
	ss.mu.Lock()
	if ss.telemetry != nil {
		close(ss.telemetry)
		ss.telemetry = nil
	}
	ss.mu.Unlock()
	_ = ss.rc.Close()
}

// remotingLanguage maps the x-mq-language value to the remoting header's language.
func remotingLanguage(l string) string {
	switch strings.ToUpper(l) {
	case "GO", "GOLANG":
		return "GO"
	case "CPP":
		return "CPP"
	case "DOTNET", "DOT_NET":
		return "DOTNET"
	case "PYTHON":
		return "PYTHON"
	case "NODE_JS", "NODEJS":
		return "NODEJS"
	default:
		return "JAVA"
	}
}

// call relays one request to the broker on the session's connection, signed with the
// client's account when ACL is on.
func (ss *session) call(ctx context.Context, req *codec.Command) (*codec.Command, error) {
	req.Language = remotingLanguage(ss.language)
	ss.sign(req)
	return ss.rc.Invoke(ctx, ss.srv.be.RemotingAddr(), req)
}

// oneway relays a request that needs no answer.
func (ss *session) oneway(req *codec.Command) error {
	req.Language = remotingLanguage(ss.language)
	ss.sign(req)
	return ss.rc.InvokeOneway(ss.srv.be.RemotingAddr(), req)
}

func (ss *session) sign(req *codec.Command) {
	ss.mu.Lock()
	ak, sk := ss.creds.ak, ss.creds.sk
	ss.mu.Unlock()
	if ak == "" {
		return
	}
	if req.ExtFields == nil {
		req.ExtFields = map[string]string{}
	}
	delete(req.ExtFields, acl.Signature)
	req.ExtFields[acl.AccessKey] = ak
	req.ExtFields[acl.Signature] = acl.Sign(req.ExtFields, req.Body, sk)
}

// push queues a command on the client's Telemetry stream; false when none is open or
// its outbox is full (the client is not reading).
func (ss *session) push(c *pb.TelemetryCommand) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.telemetry == nil {
		return false
	}
	select {
	case ss.telemetry <- c:
		return true
	default:
		return false
	}
}

// verifySignature checks the authorization metadata the 5.x SDKs send:
//
//	MQv2-HMAC-SHA1 Credential=<accessKey>/<region>/Rocketmq, SignedHeaders=x-mq-date-time, Signature=<hex>
//
// where the signature is HMAC-SHA1 of the x-mq-date-time value under the secret key, in
// lower-case hex (docs/grpc.md). It returns the access key and its secret.
func (s *Server) verifySignature(auth, dateTime string) (ak, sk string, st *pb.Status) {
	if auth == "" {
		return "", "", statusOf(pb.Code_UNAUTHORIZED, "no authorization metadata: credentials are required")
	}
	rest, ok := strings.CutPrefix(auth, "MQv2-HMAC-SHA1 ")
	if !ok {
		return "", "", statusOf(pb.Code_UNAUTHORIZED, "authorization: want the MQv2-HMAC-SHA1 scheme")
	}
	var cred, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "Signature":
			sig = v
		}
	}
	ak, _, _ = strings.Cut(cred, "/")
	if ak == "" || sig == "" {
		return "", "", statusOf(pb.Code_UNAUTHORIZED, "authorization: Credential and Signature are required")
	}
	sk, ok = s.be.Authenticate(ak)
	if !ok {
		return "", "", statusOf(pb.Code_UNAUTHORIZED, "access key "+ak+" is not known")
	}
	h := hmac.New(sha1.New, []byte(sk))
	h.Write([]byte(dateTime))
	want := hex.EncodeToString(h.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(sig)), []byte(want)) != 1 {
		return "", "", statusOf(pb.Code_UNAUTHORIZED, "signature of access key "+ak+" does not match")
	}
	return ak, sk, nil
}
