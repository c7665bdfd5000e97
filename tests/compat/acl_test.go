package compat_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// aclRules is plain_acl.yml for TestACL: account "alice" may publish and subscribe
// TOPIC, never touch DENIED, and consume only as GROUP; nothing is white-listed.
const aclRules = `
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: alice-key
    secretKey: alice-secret
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - TOPIC=PUB|SUB
      - DENIED=DENY
    groupPerms:
      - GROUP=SUB
      - PG=PUB
`

// TestACL runs the official client against a broker with aclEnable: the allowed
// account sends and consumes; a wrong secret, no credentials, a DENY topic, a group
// without SUB and an admin request are refused with NO_PERMISSION and a remark naming
// what was missing; plain_acl.yml edits apply while the broker runs, broken ones do not.
func TestACL(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plain_acl.yml")
	names := strings.NewReplacer("TOPIC", "T_ACL", "DENIED", "D_ACL", "GROUP", "G_ACL", "PG", "PG_ACL")
	rules := names.Replace(aclRules)
	if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, cluster.WithBrokerOptions(func(o *broker.Options) { o.AclEnable, o.AclFile = true, file }))
	alice := primitive.Credentials{AccessKey: "alice-key", SecretKey: "alice-secret"}
	msg := func(topic, body string) *primitive.Message { return primitive.NewMessage(topic, []byte(body)) }
	send := func(p interface {
		SendSync(context.Context, ...*primitive.Message) (*primitive.SendResult, error)
	}, topic, body string) error {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		_, err := p.SendSync(ctx, msg(topic, body))
		return err
	}
	refused := func(what string, err error, remark string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "CODE: 16") || !strings.Contains(err.Error(), remark) {
			t.Fatalf("%s: got %v, want NO_PERMISSION (16) with %q", what, err, remark)
		}
		if strings.Contains(err.Error(), "alice-secret") {
			t.Fatalf("%s: the refusal shows the secret: %v", what, err)
		}
	}

	good := e.producer(producer.WithGroupName("PG_ACL"), producer.WithCredentials(alice))
	for i := range 3 {
		if err := send(good, "T_ACL", "m"+string(rune('0'+i))); err != nil {
			t.Fatalf("allowed send %d: %v", i, err)
		}
	}
	var box inbox
	e.pushConsumer("G_ACL", "T_ACL", "*", consumer.ConsumeFromFirstOffset, &box, consumer.WithCredentials(alice))
	got := box.wait(t, 3)
	if string(got[0].Body) == "" {
		t.Fatal("empty body consumed")
	}

	wrong := e.producer(producer.WithGroupName("PG_ACL"), producer.WithCredentials(primitive.Credentials{AccessKey: "alice-key", SecretKey: "guess"}))
	refused("wrong secret", send(wrong, "T_ACL", "x"), "signature check failed for accessKey=alice-key")
	anon := e.producer(producer.WithGroupName("PG_ACL"))
	refused("no credentials", send(anon, "T_ACL", "x"), "no AccessKey in request code")
	refused("DENY topic", send(good, "D_ACL", "x"), "accessKey=alice-key has no PUB permission on topic=D_ACL (owns DENY)")

	// A consumer group alice lacks SUB on: its heartbeat is refused, so it never pulls;
	// a pull signed as the official client signs it is refused with the group named.
	var denied inbox
	e.pushConsumer("G_OTHER_ACL", "T_ACL", "*", consumer.ConsumeFromFirstOffset, &denied, consumer.WithCredentials(alice))
	rc := transport.NewClient(transport.ClientOptions{})
	t.Cleanup(func() { _ = rc.Close() })
	ext := map[string]string{"consumerGroup": "G_OTHER_ACL", "topic": "T_ACL", "queueId": "0", "queueOffset": "0",
		"maxMsgNums": "1", "sysFlag": "0", "commitOffset": "0", "suspendTimeoutMillis": "0", "subVersion": "0",
		acl.AccessKey: alice.AccessKey}
	ext[acl.Signature] = acl.Sign(ext, nil, alice.SecretKey)
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	resp, err := rc.Invoke(pctx, e.c.BrokerAddr(), codec.NewRequest(code.PullMessage, ext, nil))
	if err != nil || resp.Code != code.NoPermission || !strings.Contains(resp.Remark, "accessKey=alice-key has no SUB permission on group=G_OTHER_ACL (owns DENY)") {
		t.Fatalf("pull as a group without SUB: %v %+v", err, resp)
	}

	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver(e.nameserver())), admin.WithCredentials(alice))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = adm.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The official admin logs success whatever the answer (v2.1.2 ignores the response
	// code), so the same request is also sent signed by hand to read the answer.
	if err := adm.CreateTopic(ctx, admin.WithTopicCreate("NEW_ACL"), admin.WithBrokerAddrCreate(e.c.BrokerAddr())); err != nil {
		t.Fatalf("admin create topic: %v", err)
	}
	ext = map[string]string{"topic": "NEW_ACL", "defaultTopic": "TBW102", "readQueueNums": "1", "writeQueueNums": "1",
		"perm": "6", acl.AccessKey: alice.AccessKey}
	ext[acl.Signature] = acl.Sign(ext, nil, alice.SecretKey)
	resp, err = rc.Invoke(pctx, e.c.BrokerAddr(), codec.NewRequest(code.UpdateAndCreateTopic, ext, nil))
	if err != nil || resp.Code != code.NoPermission || !strings.Contains(resp.Remark, "request code 17 needs an admin account, accessKey=alice-key is not admin") {
		t.Fatalf("create topic as a non-admin: %v %+v", err, resp)
	}

	if err := send(good, "T_ACL", "after refusals"); err != nil {
		t.Fatalf("the allowed account after refusals: %v", err)
	}
	if n := len(denied.all()); n != 0 {
		t.Fatalf("a group without SUB consumed %d messages", n)
	}

	// White-list 127.0.0.1 while the broker runs: the unsigned producer passes.
	if err := os.WriteFile(file, []byte(strings.Replace(rules, "10.10.103.*", "127.0.0.1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if !testutil.Poll(10*time.Second, func() bool { return send(anon, "D_ACL", "white") == nil }) {
		t.Fatal("the white-listed address was still refused 10s after the edit")
	}
	// A broken edit keeps the previous rules: the white list stays for three polls.
	if err := os.WriteFile(file, []byte("accounts: [{accessKey: x"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if err := send(anon, "D_ACL", "still white"); err != nil {
			t.Fatalf("a broken acl file changed the rules: %v", err)
		}
	}
}
