package compat5

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"

	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

func TestMain(m *testing.M) {
	// The SDK logs to a file under the home directory unless told otherwise.
	os.Setenv(rmq.CLIENT_LOG_ROOT, os.TempDir())
	os.Setenv(rmq.CLIENT_LOG_LEVEL, "warn")
	rmq.ResetLogger()
	rlog.SetLogLevel("error") // the 4.x client's info log is one line per heartbeat
	os.Exit(m.Run())
}

// server is one standalone rocketgo (NameServer + broker) with its gRPC endpoint.
type server struct {
	proc     *proctest.Proc
	namesrv  string // NameServer address, for the 4.x client
	remoting string // broker remoting address
	grpc     string // gRPC endpoint address
	store    string
	// admin signs the remoting admin requests (createTopic, createGroup) when the
	// broker runs with aclEnable.
	admin acl.Credentials
}

// startServer runs bin/mqbroker -standalone with its gRPC endpoint on a free port.
func startServer(t *testing.T, env ...string) *server {
	t.Helper()
	b := proctest.Build(t)
	s := &server{store: filepath.Join(t.TempDir(), "data")}
	s.proc = proctest.Launch(t, func() proctest.Spec {
		s.namesrv, s.remoting, s.grpc = proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: b.Broker, Dir: b.Root,
			Args: []string{"-standalone", "-listen", s.remoting, "-brokerIP1", "127.0.0.1"},
			Env: append([]string{
				"ROCKETGO_NAMESRV_LISTENADDR=" + s.namesrv,
				"ROCKETGO_STORE_STOREPATHROOTDIR=" + s.store,
				"ROCKETGO_BROKER_GRPCLISTENADDR=" + s.grpc,
				proctest.AnyHAPort,
			}, env...)}
	}, proctest.Logged("grpc endpoint serving"))
	return s
}

// createTopic creates a topic through the broker's remoting admin code, with RocketMQ
// 5's attributes (e.g. "+message.type=FIFO").
func (s *server) createTopic(t *testing.T, topic string, queues int, attrs string) {
	t.Helper()
	h := header.CreateTopicRequest{Topic: topic, DefaultTopic: "TBW102", ReadQueueNums: int32(queues),
		WriteQueueNums: int32(queues), Perm: 6, TopicFilterType: "SINGLE_TAG", Attributes: attrs}
	resp, err := proctest.Invoke(s.remoting, codec.NewRequest(code.UpdateAndCreateTopic, s.admin.SignExt(h.Encode(), nil), nil))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("create topic %s: %v %v", topic, err, resp)
	}
}

// createGroup creates a subscription group; orderly makes it a FIFO group.
func (s *server) createGroup(t *testing.T, group string, orderly bool, maxRetries int) {
	t.Helper()
	b := []byte(`{"groupName":"` + group + `","consumeEnable":true,"consumeBroadcastEnable":true,"consumeMessageOrderly":` +
		strconv.FormatBool(orderly) + `,"retryQueueNums":1,"retryMaxTimes":` + strconv.Itoa(maxRetries) + `,"brokerId":0,"whichBrokerWhenConsumeSlowly":1,"notifyConsumerIdsChangedEnable":true}`)
	resp, err := proctest.Invoke(s.remoting, codec.NewRequest(code.UpdateAndCreateSubGroup, s.admin.SignExt(map[string]string{}, b), b))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("create group %s: %v %v", group, err, resp)
	}
}

func (s *server) config(group string) *rmq.Config {
	return &rmq.Config{Endpoint: s.grpc, ConsumerGroup: group, Credentials: &credentials.SessionCredentials{}}
}

// producer starts an SDK producer with its default TLS.
func (s *server) producer(t *testing.T, opts ...rmq.ProducerOption) rmq.Producer {
	t.Helper()
	p, err := rmq.NewProducer(s.config(""), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer start: %v", err)
	}
	t.Cleanup(func() { _ = p.GracefulStop() })
	return p
}

// consumer starts a SimpleConsumer of group on topic with expr ("*" for all).
func (s *server) consumer(t *testing.T, group, topic, expr string) rmq.SimpleConsumer {
	t.Helper()
	c, err := rmq.NewSimpleConsumer(s.config(group), rmq.WithAwaitDuration(2*time.Second),
		rmq.WithSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.NewFilterExpression(expr)}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("consumer start: %v", err)
	}
	t.Cleanup(func() { _ = c.GracefulStop() })
	return c
}

// receiveAll receives until want messages arrived (acking each unless keep) or the
// deadline passed.
func receiveAll(t *testing.T, c rmq.SimpleConsumer, want int, invisible time.Duration, ack bool) []*rmq.MessageView {
	t.Helper()
	var got []*rmq.MessageView
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		mvs, err := c.Receive(ctx, 16, invisible)
		cancel()
		if err != nil {
			t.Logf("receive: %v", err)
			continue // "no new message" is an error in the SDK's API
		}
		for _, mv := range mvs {
			if ack {
				if err := c.Ack(context.Background(), mv); err != nil {
					t.Fatalf("ack %s: %v", mv.GetMessageId(), err)
				}
			}
			got = append(got, mv)
		}
	}
	return got
}
