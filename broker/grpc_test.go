package broker

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// grpcHarness is a broker with its gRPC endpoint on and a client of it.
type grpcHarness struct {
	*harness
	cli pb.MessagingServiceClient
}

func newGRPCHarness(t *testing.T, useTLS bool, opts ...harnessOpt) *grpcHarness {
	t.Helper()
	opts = append(opts, func(o *Options, _ *store.Options) { o.GRPCListenAddr = "127.0.0.1:0" })
	h := newHarness(t, opts...)
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}) // the endpoint's self-signed certificate
	}
	cc, err := grpc.NewClient(h.b.GRPCAddr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &grpcHarness{harness: h, cli: pb.NewMessagingServiceClient(cc)}
}

// ctx is a call context with the metadata a 5.x SDK sends.
func grpcCtx(t *testing.T, clientID string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "x-mq-client-id", clientID, "x-mq-language", "GO", "x-mq-protocol", "v2")
}

func grpcMessage(topic, id, tag, body string, keys ...string) *pb.Message {
	return &pb.Message{
		Topic:          &pb.Resource{Name: topic},
		UserProperties: map[string]string{"color": "blue"},
		SystemProperties: &pb.SystemProperties{
			Tag: &tag, Keys: keys, MessageId: id, BornTimestamp: timestamppb.Now(),
			BodyEncoding: pb.Encoding_IDENTITY, MessageType: pb.MessageType_NORMAL,
		},
		Body: []byte(body),
	}
}

// Plaintext and TLS clients reach the same endpoint on one port; a route names it, and a
// sent message is stored with its tag, keys, id and user property, as a pull shows.
func TestGRPCRouteAndSendOverTLSAndPlaintext(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "plaintext"
		if useTLS {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			g := newGRPCHarness(t, useTLS)
			g.createTopic("gt", 2, 6)
			ctx := grpcCtx(t, "cid-1")
			rr, err := g.cli.QueryRoute(ctx, &pb.QueryRouteRequest{Topic: &pb.Resource{Name: "gt"}})
			if err != nil || rr.Status.Code != pb.Code_OK {
				t.Fatalf("QueryRoute: %v %v", err, rr.GetStatus())
			}
			if len(rr.MessageQueues) != 2 || rr.MessageQueues[1].Permission != pb.Permission_READ_WRITE {
				t.Fatalf("queues: %v", rr.MessageQueues)
			}
			ep := rr.MessageQueues[0].Broker.Endpoints.Addresses[0]
			if got := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port))); got != g.b.GRPCAddr() {
				t.Fatalf("route endpoint %s, want %s", got, g.b.GRPCAddr())
			}
			id := message.NewUniqID()
			sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{grpcMessage("gt", id, "TagA", "hello grpc", "k1", "k2")}})
			if err != nil || sr.Status.Code != pb.Code_OK || len(sr.Entries) != 1 || sr.Entries[0].MessageId != id {
				t.Fatalf("SendMessage: %v %v", err, sr)
			}
			var found *message.Ext
			testutil.Eventually(t, 5*time.Second, "the sent message in a queue", func() bool {
				for q := int32(0); q < 2 && found == nil; q++ {
					resp := g.pull(&header.PullMessageRequest{ConsumerGroup: "g", Topic: "gt", QueueID: q, MaxMsgNums: 8, Subscription: "*"})
					if resp.Code == 0 {
						found = records(t, resp.Body)[0]
					}
				}
				return found != nil
			})
			if string(found.Body) != "hello grpc" || found.Tags() != "TagA" || found.UniqKey() != id ||
				strings.Join(found.Keys(), ",") != "k1,k2" || found.Properties["color"] != "blue" {
				t.Fatalf("stored message: body %q props %v", found.Body, found.Properties)
			}
		})
	}
}

// Malformed requests get a status naming what was wrong, and the endpoint keeps serving.
func TestGRPCRejectsBadRequests(t *testing.T) {
	g := newGRPCHarness(t, false, func(_ *Options, so *store.Options) { so.MaxMessageBytes = 1024 })
	g.createTopic("gt", 1, 6)
	ctx := grpcCtx(t, "cid-bad")
	send := func(m *pb.Message) *pb.Status {
		sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{m}})
		if err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
		return sr.Status
	}
	reserved := grpcMessage("gt", message.NewUniqID(), "t", "x")
	reserved.UserProperties["UNIQ_KEY"] = "mine"
	cases := []struct {
		name string
		got  *pb.Status
		want pb.Code
	}{
		{"unknown topic", send(grpcMessage("nope", message.NewUniqID(), "t", "x")), pb.Code_TOPIC_NOT_FOUND},
		{"empty body", send(grpcMessage("gt", message.NewUniqID(), "t", "")), pb.Code_MESSAGE_BODY_EMPTY},
		{"large body", send(grpcMessage("gt", message.NewUniqID(), "t", strings.Repeat("x", 2048))), pb.Code_MESSAGE_BODY_TOO_LARGE},
		{"no message id", send(grpcMessage("gt", "", "t", "x")), pb.Code_ILLEGAL_MESSAGE_ID},
		{"reserved property", send(reserved), pb.Code_ILLEGAL_MESSAGE_PROPERTY_KEY},
		{"bad tag", send(grpcMessage("gt", message.NewUniqID(), "a||b", "x")), pb.Code_ILLEGAL_MESSAGE_TAG},
	}
	ack, err := g.cli.AckMessage(ctx, &pb.AckMessageRequest{Group: &pb.Resource{Name: "g"}, Topic: &pb.Resource{Name: "gt"},
		Entries: []*pb.AckMessageEntry{{MessageId: "m", ReceiptHandle: "not a handle"}}})
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		got  *pb.Status
		want pb.Code
	}{"bad receipt handle", ack.Entries[0].Status, pb.Code_INVALID_RECEIPT_HANDLE})
	et, err := g.cli.EndTransaction(ctx, &pb.EndTransactionRequest{Topic: &pb.Resource{Name: "gt"}, TransactionId: "zz", Resolution: pb.TransactionResolution_COMMIT})
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		got  *pb.Status
		want pb.Code
	}{"bad transaction id", et.Status, pb.Code_INVALID_TRANSACTION_ID})
	rr, err := g.cli.QueryRoute(metadata.AppendToOutgoingContext(context.Background(), "x-mq-language", "GO"), &pb.QueryRouteRequest{Topic: &pb.Resource{Name: "gt"}})
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		got  *pb.Status
		want pb.Code
	}{"no client id", rr.Status, pb.Code_CLIENT_ID_REQUIRED})
	for _, c := range cases {
		if c.got.GetCode() != c.want || c.got.GetMessage() == "" {
			t.Errorf("%s: got %v %q, want %v with a message", c.name, c.got.GetCode(), c.got.GetMessage(), c.want)
		}
	}
	// Still serving.
	if st := send(grpcMessage("gt", message.NewUniqID(), "t", "fine")); st.Code != pb.Code_OK {
		t.Fatalf("a good send after bad ones: %v", st)
	}
}

// A transactional message left unresolved is checked back through the producer's
// Telemetry stream; committing with the transaction id the command carries makes it
// visible.
func TestGRPCTransactionCheckBackThroughTelemetry(t *testing.T) {
	g := newGRPCHarness(t, false, func(o *Options, _ *store.Options) {
		o.TransactionCheckInterval = 100 * time.Millisecond
		o.TransactionTimeout = 100 * time.Millisecond
	})
	req := &header.CreateTopicRequest{Topic: "tx", DefaultTopic: meta.TopicAutoCreate, ReadQueueNums: 1, WriteQueueNums: 1,
		Perm: 6, TopicFilterType: body.FilterSingleTag, Attributes: "+message.type=TRANSACTION"}
	if resp := g.call(code.UpdateAndCreateTopic, req.Encode(), nil); resp.Code != code.Success {
		t.Fatalf("create topic: %d %s", resp.Code, resp.Remark)
	}
	ctx := grpcCtx(t, "cid-tx")
	// A NORMAL topic refuses a transactional message, as Apache's Proxy does.
	g.createTopic("plain", 1, 6)
	wrong := grpcMessage("plain", message.NewUniqID(), "t", "x")
	wrong.SystemProperties.MessageType = pb.MessageType_TRANSACTION
	if sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{wrong}}); err != nil || sr.Status.Code != pb.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE {
		t.Fatalf("transactional message to a NORMAL topic: %v %v", err, sr)
	}
	tel, err := g.cli.Telemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ct := pb.ClientType_PRODUCER
	if err := tel.Send(&pb.TelemetryCommand{Command: &pb.TelemetryCommand_Settings{Settings: &pb.Settings{
		ClientType: &ct, PubSub: &pb.Settings_Publishing{Publishing: &pb.Publishing{Topics: []*pb.Resource{{Name: "tx"}}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	first, err := tel.Recv()
	if err != nil || first.GetSettings().GetPublishing().GetMaxBodySize() <= 0 || first.Status.Code != pb.Code_OK {
		t.Fatalf("settings answer: %v %v", err, first)
	}
	id := message.NewUniqID()
	m := grpcMessage("tx", id, "t", "half")
	m.SystemProperties.MessageType = pb.MessageType_TRANSACTION
	sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{m}})
	if err != nil || sr.Status.Code != pb.Code_OK || sr.Entries[0].TransactionId == "" {
		t.Fatalf("send half: %v %v", err, sr)
	}
	if resp := g.pull(&header.PullMessageRequest{ConsumerGroup: "g", Topic: "tx", QueueID: 0, MaxMsgNums: 8, Subscription: "*"}); resp.Code == 0 {
		t.Fatal("a half message is visible before commit")
	}
	var rec *pb.RecoverOrphanedTransactionCommand
	for rec == nil {
		c, err := tel.Recv()
		if err != nil {
			t.Fatalf("no check-back: %v", err)
		}
		rec = c.GetRecoverOrphanedTransactionCommand()
	}
	if rec.Message.SystemProperties.MessageId != id || string(rec.Message.Body) != "half" {
		t.Fatalf("check-back for %q body %q, want %q", rec.Message.SystemProperties.MessageId, rec.Message.Body, id)
	}
	et, err := g.cli.EndTransaction(ctx, &pb.EndTransactionRequest{Topic: &pb.Resource{Name: "tx"}, MessageId: id,
		TransactionId: rec.TransactionId, Resolution: pb.TransactionResolution_COMMIT, Source: pb.TransactionSource_SOURCE_SERVER_CHECK})
	if err != nil || et.Status.Code != pb.Code_OK {
		t.Fatalf("EndTransaction: %v %v", err, et)
	}
	g.waitDispatched("tx", 0, 1)
	resp := g.pull(&header.PullMessageRequest{ConsumerGroup: "g", Topic: "tx", QueueID: 0, MaxMsgNums: 8, Subscription: "*"})
	if resp.Code != 0 || string(records(t, resp.Body)[0].Body) != "half" {
		t.Fatalf("after commit: code %d", resp.Code)
	}
}

// With the remoting listener enforcing TLS and requiring client certificates, the
// endpoint's relay still reaches it, and a gRPC send is stored.
func TestGRPCRelayUnderEnforcingTLS(t *testing.T) {
	certs := testcert.Write(t)
	g := newGRPCHarness(t, true, func(o *Options, _ *store.Options) {
		o.TLS = certs.Options(tlsconf.Enforcing, tlsconf.ClientAuthRequire)
	})
	g.cl.Close()
	g.cl = transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second, TLS: certs.Client(t, true)})
	g.createTopic("tlsgt", 1, 6)
	ctx := grpcCtx(t, "cid-tls")
	sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{grpcMessage("tlsgt", message.NewUniqID(), "t", "over tls")}})
	if err != nil || sr.Status.Code != pb.Code_OK {
		t.Fatalf("SendMessage: %v %v", err, sr)
	}
	g.waitDispatched("tlsgt", 0, 1)
	resp := g.pull(&header.PullMessageRequest{ConsumerGroup: "g", Topic: "tlsgt", QueueID: 0, MaxMsgNums: 8, Subscription: "*"})
	if resp.Code != 0 || string(records(t, resp.Body)[0].Body) != "over tls" {
		t.Fatalf("pull: code %d", resp.Code)
	}
}
