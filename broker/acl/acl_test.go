package acl

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	signer "github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
)

func TestAddrPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		in, out []string
	}{
		{"", nil, []string{"127.0.0.1"}},
		{"*", []string{"1.2.3.4", "::1"}, nil},
		{"*.*.*.*", []string{"10.0.0.1"}, nil},
		{"192.168.0.*", []string{"192.168.0.0", "192.168.0.255"}, []string{"192.168.1.1", "10.168.0.1"}},
		{"192.168.*.*", []string{"192.168.7.9"}, []string{"192.169.0.1"}},
		{"192.168.1.{1,2,3}", []string{"192.168.1.1", "192.168.1.3"}, []string{"192.168.1.4"}},
		{"192.168.1.1,2,3", []string{"192.168.1.2"}, []string{"192.168.1.4"}},
		{"10.0.0.1,10.0.0.9", []string{"10.0.0.9"}, []string{"10.0.0.2"}},
		{"192.168.1.1-10", []string{"192.168.1.1", "192.168.1.10"}, []string{"192.168.1.11", "192.168.1.0"}},
		{"10.1-10.*.*", []string{"10.5.200.1"}, []string{"10.11.0.1"}},
		{"127.0.0.1", []string{"127.0.0.1", "::ffff:127.0.0.1"}, []string{"127.0.0.2"}},
	}
	for _, c := range cases {
		m, err := parseAddrPattern(c.pattern)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		for _, a := range c.in {
			if !m.match(netip.MustParseAddr(a).Unmap()) {
				t.Errorf("%q should match %s", c.pattern, a)
			}
		}
		for _, a := range c.out {
			if m.match(netip.MustParseAddr(a).Unmap()) {
				t.Errorf("%q should not match %s", c.pattern, a)
			}
		}
	}
	for _, bad := range []string{"192.168.1", "192.168.*.1", "192.168.10-1.*", "1.2.3.{4,x}", "host", "1.2.3.300-400", "a,b"} {
		if _, err := parseAddrPattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

const sample = `
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    admin: true
`

var client = netip.MustParseAddr("172.16.0.5")

func signed(ak, sk string, ext map[string]string, b []byte) map[string]string {
	ext[signer.AccessKey] = ak
	ext[signer.Signature] = signer.Sign(ext, b, sk)
	return ext
}

func TestCheck(t *testing.T) {
	r, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	hb := (&body.HeartbeatData{ClientID: "c", ConsumerDataSet: []body.ConsumerData{{GroupName: "groupA",
		SubscriptionDataSet: []body.SubscriptionData{{Topic: "topicB"}}}}}).Encode()
	cases := []struct {
		name string
		code int32
		ext  map[string]string
		body []byte
		ip   netip.Addr
		want string // "" admits; else a substring of the remark
	}{
		{"send PUB|SUB", code.SendMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "topicB"}, []byte("m")), []byte("m"), client, ""},
		{"send v2 on DENY", code.SendMessageV2, signed("RocketMQ", "12345678", map[string]string{"b": "topicA"}, nil), nil, client,
			"accessKey=RocketMQ has no PUB permission on topic=topicA (owns DENY)"},
		{"send to SUB only", code.SendMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "topicC"}, nil), nil, client, "no PUB permission on topic=topicC"},
		{"default topic DENY", code.SendMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "other"}, nil), nil, client, "topic=other (owns DENY)"},
		{"pull, group default SUB", code.PullMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "topicC", "consumerGroup": "g9"}, nil), nil, client, ""},
		{"pull, group DENY", code.PullMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "topicC", "consumerGroup": "groupA"}, nil), nil, client,
			"no SUB permission on group=groupA"},
		{"retry topic follows its group", code.SendMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "%RETRY%groupB"}, nil), nil, client, ""},
		{"heartbeat group DENY", code.HeartBeat, signed("RocketMQ", "12345678", map[string]string{}, hb), hb, client, "group=groupA"},
		{"wrong secret", code.SendMessage, signed("RocketMQ", "nope", map[string]string{"topic": "topicB"}, nil), nil, client,
			"signature check failed for accessKey=RocketMQ"},
		{"tampered body", code.SendMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "topicB"}, []byte("a")), []byte("b"), client, "signature check failed"},
		{"unknown key", code.SendMessage, signed("ghost", "12345678", map[string]string{"topic": "topicB"}, nil), nil, client, "no account for accessKey=ghost"},
		{"no credentials", code.SendMessage, map[string]string{"topic": "topicB"}, nil, client, "no AccessKey in request code 10 from 172.16.0.5"},
		{"global white list", code.SendMessage, map[string]string{"topic": "topicA"}, nil, netip.MustParseAddr("10.10.103.7"), ""},
		{"account white list skips signature", code.UpdateAndCreateTopic, map[string]string{signer.AccessKey: "rocketmq2"}, nil, netip.MustParseAddr("192.168.1.20"), ""},
		{"admin code, not admin", code.UpdateAndCreateTopic, signed("RocketMQ", "12345678", map[string]string{"topic": "x"}, nil), nil, client,
			"request code 17 needs an admin account, accessKey=RocketMQ is not admin"},
		{"admin without perms may do anything", code.UpdateAndCreateTopic, signed("rocketmq2", "12345678", map[string]string{"topic": "x"}, nil), nil, client, ""},
	}
	for _, c := range cases {
		ref := r.Check(c.code, c.ext, c.body, c.ip)
		switch {
		case c.want == "" && ref != nil:
			t.Errorf("%s: refused: %s", c.name, ref.Remark)
		case c.want != "" && ref == nil:
			t.Errorf("%s: admitted", c.name)
		case c.want != "" && !strings.Contains(ref.Remark, c.want):
			t.Errorf("%s: remark %q, want %q", c.name, ref.Remark, c.want)
		case ref != nil && strings.Contains(ref.Remark, "12345678"):
			t.Errorf("%s: remark shows the secret: %q", c.name, ref.Remark)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		"accounts: [{accessKey: a}]",
		"accounts: [{accessKey: a, secretKey: b}, {accessKey: a, secretKey: c}]",
		"accounts: [{accessKey: a, secretKey: b, whiteRemoteAddress: 1.2.3}]",
		"accounts: [{accessKey: a, secretKey: b, topicPerms: [noequals]}]",
		"globalWhiteRemoteAddresses: [x.y]",
		"accounts: {",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestReload edits the file: a change applies, a broken edit keeps the rules in force.
func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain_acl.yml")
	if err := os.WriteFile(path, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Open(path, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	send := func() *Refusal {
		return p.Check(code.SendMessage, signed("RocketMQ", "12345678", map[string]string{"topic": "topicA"}, nil), nil, client)
	}
	if send() == nil {
		t.Fatal("topicA is DENY")
	}
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		// A different size guarantees a new stamp whatever the mtime resolution.
	}
	write(strings.Replace(sample, "topicA=DENY", "topicA=PUB", 1))
	if !p.Poll() || send() != nil {
		t.Fatal("the edit did not apply")
	}
	write(sample + "\n  - {{broken")
	if p.Poll() || send() != nil {
		t.Fatal("a broken file replaced the rules")
	}
	if p.Poll() {
		t.Fatal("an unchanged file reloaded")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.yml"), zerolog.Nop()); err == nil {
		t.Fatal("Open of a missing file succeeded")
	}
	p.Watch(time.Millisecond)
	p.Close()
}

// FuzzAclCheck feeds arbitrary extFields, bodies and codes to the check: never a panic,
// and an admitted request from a non-white-listed address always carried a good
// signature.
func FuzzAclCheck(f *testing.F) {
	r, err := Parse([]byte(sample))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(int32(34), "RocketMQ", "topicB", "g", []byte(`{"consumerDataSet":[{"groupName":"g"}]}`), "sig")
	f.Add(int32(41), "rocketmq2", "", "", []byte(`{"mqSet":[{"topic":"t"}]`), "")
	f.Add(int32(10), "", "%RETRY%", "%RETRY%", []byte{0xff}, "=")
	f.Fuzz(func(t *testing.T, c int32, ak, topic, group string, b []byte, sig string) {
		ext := map[string]string{"topic": topic, "b": topic, "consumerGroup": group, "group": group}
		if ak != "" {
			ext[signer.AccessKey] = ak
		}
		ext[signer.Signature] = sig
		if r.Check(c, ext, b, client) == nil && sig != signer.Sign(ext, b, "12345678") {
			t.Fatalf("admitted an unsigned request: %v", ext)
		}
		signed(ak, "12345678", ext, b)
		_ = r.Check(c, ext, b, client)
	})
}
