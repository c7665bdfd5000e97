package broker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

func withPropertyFilter(o *Options, _ *store.Options) { o.EnablePropertyFilter = true }

// sqlPull is a pull consumer's pull carrying a SQL92 subscription.
func sqlPull(topic string, offset int64, expr string) *header.PullMessageRequest {
	p := pullReq("SG", topic, 0, offset)
	p.SysFlag = header.PullSubscription
	p.Subscription = expr
	p.ExpressionType = exprSQL92
	return p
}

// TestPullSQL92 filters a queue of messages with typed properties and checks the
// records, codes and nextBeginOffset of each answer.
func TestPullSQL92(t *testing.T) {
	h := newHarness(t, withPropertyFilter)
	h.createTopic("Q", 1, 6)
	for i := 0; i < 10; i++ {
		h.send("Q", 0, strconv.Itoa(i), map[string]string{"n": strconv.Itoa(i), "even": strconv.FormatBool(i%2 == 0),
			message.PropTags: fmt.Sprint("t", i%3)})
	}
	cases := []struct {
		expr   string
		offset int64
		max    int32
		code   int32
		bodies string
		next   int64
	}{
		{"n >= 5 AND n < 8", 0, 32, code.Success, "[5 6 7]", 10},
		{"even = TRUE AND TAGS IN ('t0', 't1')", 0, 32, code.Success, "[0 4 6]", 10},
		{"n BETWEEN 2 AND 3 OR n = 9", 3, 32, code.Success, "[3 9]", 10},
		{"missing IS NULL", 0, 4, code.Success, "[0 1 2 3]", 4}, // stops at the first match that does not fit
		{"n > 100", 0, 32, code.PullRetryImmediately, "[]", 10},
		{"n > 100", 10, 32, code.PullNotFound, "[]", 10},
		{"n > 100", 11, 32, code.PullOffsetMoved, "[]", 10},
		{"TAGS = 't2' AND NOT (n = 5)", 0, 1, code.Success, "[2]", 8}, // skips to the next match, 8
	}
	for _, c := range cases {
		p := sqlPull("Q", c.offset, c.expr)
		p.MaxMsgNums = c.max
		resp := h.pull(p)
		ph := pullHeader(t, resp)
		if resp.Code != c.code || bodiesOf(records(t, resp.Body)) != c.bodies || ph.NextBeginOffset != c.next {
			t.Errorf("%q from %d: code %d %s next %d, want code %d %s next %d", c.expr, c.offset, resp.Code,
				bodiesOf(records(t, resp.Body)), ph.NextBeginOffset, c.code, c.bodies, c.next)
		}
	}
	// A bad expression names where it is wrong.
	wantCode(t, "bad expression", h.pull(sqlPull("Q", 0, "n > ")), code.SubscriptionParseFailed, "line 1, column 5")
	wantCode(t, "string compare", h.pull(sqlPull("Q", 0, "n > 'x'")), code.SubscriptionParseFailed, "numbers only")
}

// TestPullSQL92Disabled checks that without enablePropertyFilter SQL92 is refused as
// Java refuses it, and that the tag filter is untouched.
func TestPullSQL92Disabled(t *testing.T) {
	h := newHarness(t)
	h.createTopic("Q", 1, 6)
	h.send("Q", 0, "x", map[string]string{message.PropTags: "a"})
	wantCode(t, "sql off", h.pull(sqlPull("Q", 0, "TAGS = 'a'")), code.SystemError, "enablePropertyFilter")
	p := pullReq("SG", "Q", 0, 0)
	p.SysFlag, p.Subscription = header.PullSubscription, "a || b"
	if resp := h.pull(p); resp.Code != code.Success || len(records(t, resp.Body)) != 1 {
		t.Fatalf("tag pull: code %d", resp.Code)
	}
	cc := checkClient(t, h, "SQL92", "TAGS = 'a'")
	wantCode(t, "check sql off", cc, code.SystemError, "SQL92")
}

// checkClient sends CHECK_CLIENT_CONFIG for one subscription.
func checkClient(t *testing.T, h *harness, typ, expr string) *codec.Command {
	t.Helper()
	b, err := json.Marshal(body.CheckClientRequestBody{ClientID: "c", Group: "SG",
		SubscriptionData: &body.SubscriptionData{Topic: "Q", SubString: expr, ExpressionType: typ}})
	if err != nil {
		t.Fatal(err)
	}
	return h.call(code.CheckClientConfig, nil, b)
}

// TestCheckClientConfigSQL92 checks CHECK_CLIENT_CONFIG with property filtering on.
func TestCheckClientConfigSQL92(t *testing.T) {
	h := newHarness(t, withPropertyFilter)
	wantCode(t, "good", checkClient(t, h, "SQL92", "a > 1 AND b IS NOT NULL"), code.Success, "")
	wantCode(t, "bad", checkClient(t, h, "SQL92", "a >> 1"), code.SubscriptionParseFailed, "column 4")
	wantCode(t, "tag", checkClient(t, h, "TAG", "x || y"), code.Success, "")
	wantCode(t, "unknown type", checkClient(t, h, "XPATH", "x"), code.SystemError, "XPATH")
}

// TestHeartbeatSQL92LongPoll registers a SQL92 subscription by heartbeat (as the Go
// client does: its pulls carry no subscription), parks a pull at the queue's end, and
// checks that a non-matching arrival answers NO_MATCHED and a matching one is found.
func TestHeartbeatSQL92LongPoll(t *testing.T) {
	h := newHarness(t, withPropertyFilter)
	h.createTopic("Q", 1, 6)
	hb := body.HeartbeatData{ClientID: "10.0.0.1@1", ConsumerDataSet: []body.ConsumerData{{
		GroupName: "SG", ConsumeType: "CONSUME_PASSIVELY", MessageModel: "CLUSTERING", ConsumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
		SubscriptionDataSet: []body.SubscriptionData{{Topic: "Q", SubString: "color = 'red'", ExpressionType: "SQL92", SubVersion: 1}},
	}}}
	wantCode(t, "heartbeat", h.call(code.HeartBeat, nil, hb.Encode()), code.Success, "")
	h.send("Q", 0, "blue", map[string]string{"color": "blue"})
	h.send("Q", 0, "red", map[string]string{"color": "red"})
	resp := h.pull(pullReq("SG", "Q", 0, 0))
	if resp.Code != code.Success || bodiesOf(records(t, resp.Body)) != "[red]" || pullHeader(t, resp).NextBeginOffset != 2 {
		t.Fatalf("heartbeat subscription pull: code %d %s", resp.Code, bodiesOf(records(t, resp.Body)))
	}
	// Long poll at the end: a blue arrival releases it with NO_MATCHED, offset past it.
	p := pullReq("SG", "Q", 0, 2)
	p.SysFlag = header.PullSuspend
	p.SuspendTimeoutMillis = 10000
	done := make(chan *codec.Command, 1)
	go func() { done <- h.pull(p) }()
	waitParked(t, h)
	h.send("Q", 0, "blue2", map[string]string{"color": "blue"})
	select {
	case r := <-done:
		if r.Code != code.PullRetryImmediately || pullHeader(t, r).NextBeginOffset != 3 {
			t.Fatalf("parked pull released with code %d next %d, want 20 and 3", r.Code, pullHeader(t, r).NextBeginOffset)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("parked pull not released by the arrival")
	}
}

// waitParked polls until one pull is parked.
func waitParked(t *testing.T, h *harness) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.b.polls.Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("pull not parked")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkPullSQL92 measures a pull whose SQL92 subscription matches every other
// message: 32 records returned out of 64 read and evaluated.
func BenchmarkPullSQL92(b *testing.B) {
	br := openInProcess(b, func(o *Options, _ *store.Options) { o.EnablePropertyFilter = true })
	createTopicDirect(b, br, "BenchSQL", 1)
	const n = 8192
	body := make([]byte, 1024)
	conn := &server.Conn{}
	for i := 0; i < n; i++ {
		h := sendReq("BenchSQL", 0, map[string]string{message.PropTags: "TagA", "region": []string{"eu", "us"}[i%2],
			"price": strconv.Itoa(i % 100), message.PropUniqKey: "0A0000010F3A000000000000000000AB"})
		if resp := br.handleSend(conn, codec.NewRequest(code.SendMessage, h.Encode(), body)); resp.Code != code.Success {
			b.Fatalf("fill: %d %s", resp.Code, resp.Remark)
		}
	}
	waitMax(b, br, "BenchSQL", 0, n)
	reqs := make([]*codec.Command, n/64)
	for i := range reqs {
		p := sqlPull("BenchSQL", int64(i*64), "region = 'eu' AND price >= 0")
		reqs[i] = codec.NewRequest(code.PullMessage, p.Encode(), nil)
	}
	b.SetBytes(32 * int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := br.handlePull(conn, reqs[i%len(reqs)])
		if resp.Code != code.Success || len(resp.BodyParts) != 32 {
			b.Fatalf("pull: code %d %s, %d records", resp.Code, resp.Remark, len(resp.BodyParts))
		}
	}
}
