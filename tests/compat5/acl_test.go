package compat5

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"

	"github.com/rocketgo/rocketgo/proto/acl"
)

// aclRules5 is plain_acl.yml (Apache 4.9's format, docs/acl.md) for TestSDKCredentials:
// nothing is white-listed by address, not even loopback, from which the gRPC endpoint
// relays (docs/grpc.md §3). admin creates the topic and group; alice may publish and
// subscribe acl5 as gacl5; bob may only subscribe acl5.
const aclRules5 = `
globalWhiteRemoteAddresses:
accounts:
  - accessKey: admin-key
    secretKey: admin-secret
    admin: true
  - accessKey: alice-key
    secretKey: alice-secret
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - acl5=PUB|SUB
    groupPerms:
      - gacl5=SUB
  - accessKey: bob-key
    secretKey: bob-secret
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - acl5=SUB
    groupPerms:
      - gacl5=SUB
`

// TestSDKCredentials runs the 5.x SDK against a broker with aclEnable: with the session
// credentials of an allowed account it sends and receives; a wrong secret is
// UNAUTHORIZED and an account without PUB on the topic is FORBIDDEN.
func TestSDKCredentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain_acl.yml")
	if err := os.WriteFile(file, []byte(aclRules5), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "ROCKETGO_BROKER_ACLENABLE=true", "ROCKETGO_BROKER_ACLFILE="+file)
	s.admin = acl.Credentials{AccessKey: "admin-key", SecretKey: "admin-secret"}
	s.createTopic(t, "acl5", 1, "")
	s.createGroup(t, "gacl5", false, 16)

	as := func(key, secret, group string) *rmq.Config {
		return &rmq.Config{Endpoint: s.grpc, ConsumerGroup: group,
			Credentials: &credentials.SessionCredentials{AccessKey: key, AccessSecret: secret}}
	}
	send := func(cfg *rmq.Config, body string) error {
		p, err := rmq.NewProducer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			return err
		}
		defer func() { _ = p.GracefulStop() }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		msg := &rmq.Message{Topic: "acl5", Body: []byte(body)}
		msg.SetTag("T")
		_, err = p.Send(ctx, msg)
		return err
	}
	refused := func(what string, err error, words ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: the send succeeded, want %v", what, words)
		}
		for _, w := range words {
			if strings.Contains(err.Error(), w) {
				if strings.Contains(err.Error(), "-secret") {
					t.Fatalf("%s: the refusal shows a secret: %v", what, err)
				}
				t.Logf("%s: refused: %v", what, err)
				return
			}
		}
		t.Fatalf("%s: got %v, want one of %v", what, err, words)
	}

	for _, body := range []string{"a0", "a1", "a2"} {
		if err := send(as("alice-key", "alice-secret", ""), body); err != nil {
			t.Fatalf("allowed send %s: %v", body, err)
		}
	}
	c, err := rmq.NewSimpleConsumer(as("alice-key", "alice-secret", "gacl5"), rmq.WithAwaitDuration(2*time.Second),
		rmq.WithSubscriptionExpressions(map[string]*rmq.FilterExpression{"acl5": rmq.SUB_ALL}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("allowed consumer start: %v", err)
	}
	t.Cleanup(func() { _ = c.GracefulStop() })
	got := bodiesOf(receiveAll(t, c, 3, 20*time.Second, true))
	if strings.Join(got, ",") != "a0,a1,a2" {
		t.Fatalf("alice received %v, want [a0 a1 a2]", got)
	}

	refused("wrong secret", send(as("alice-key", "guess", ""), "x"), "UNAUTHORIZED", "40100")
	refused("no PUB on acl5", send(as("bob-key", "bob-secret", ""), "x"), "FORBIDDEN", "40300")
}
