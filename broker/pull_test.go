package broker

import (
	"context"
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
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

func TestPullBadInput(t *testing.T) {
	h := newHarness(t)
	h.createTopic("P", 2, 6)
	h.createTopic("WriteOnly", 1, 2)
	h.send("P", 0, "m", nil)
	wantCode(t, "queue 2 of 2", h.pull(pullReq("cg", "P", 2, 0)), code.SystemError, "queueId[2] is illegal")
	wantCode(t, "negative queue", h.pull(pullReq("cg", "P", -1, 0)), code.SystemError, "queueId[-1]")
	wantCode(t, "unknown topic", h.pull(pullReq("cg", "Missing", 0, 0)), code.TopicNotExist, "Missing")
	wantCode(t, "no read perm", h.pull(pullReq("cg", "WriteOnly", 0, 0)), code.NoPermission, "WriteOnly")
	sql := pullReq("cg", "P", 0, 0)
	sql.SysFlag = header.PullSubscription
	sql.ExpressionType = exprSQL92
	sql.Subscription = "a > 1"
	wantCode(t, "sql92", h.pull(sql), code.SystemError, "SQL92")
	ext := pullReq("cg", "P", 0, 0).Encode()
	ext["queueOffset"] = "x"
	wantCode(t, "bad offset", h.call(code.PullMessage, ext, nil), code.SystemError, "queueOffset")
	// Still serving.
	wantCode(t, "good pull", h.pull(pullReq("cg", "P", 0, 0)), code.Success, "FOUND")
}

// TestPullStatusTable drives every row of docs/protocol.md §2.4's table through PULL against
// a real store: code, remark and nextBeginOffset.
func TestPullStatusTable(t *testing.T) {
	h := newHarness(t)
	h.createTopic("S", 2, 6)
	for i := 0; i < 4; i++ {
		h.send("S", 0, fmt.Sprint("m", i), map[string]string{message.PropTags: []string{"A", "B"}[i%2]})
	}
	onlyC := func(p *header.PullMessageRequest) { p.SysFlag |= header.PullSubscription; p.Subscription = "C" }
	cases := []struct {
		name   string
		queue  int32
		offset int64
		mod    func(*header.PullMessageRequest)
		code   int32
		remark string
		next   int64
	}{
		{"empty queue at 0", 1, 0, nil, code.PullNotFound, "", 0},
		{"empty queue at 5", 1, 5, nil, code.PullOffsetMoved, "", 0},
		{"found", 0, 1, nil, code.Success, "FOUND", 4},
		{"overflow one", 0, 4, nil, code.PullNotFound, "OFFSET_OVERFLOW_ONE", 4},
		{"overflow badly", 0, 9, nil, code.PullOffsetMoved, "OFFSET_OVERFLOW_BADLY", 4},
		{"no matched", 0, 0, onlyC, code.PullRetryImmediately, "NO_MATCHED_MESSAGE", 4},
	}
	for _, c := range cases {
		p := pullReq("cg", "S", c.queue, c.offset)
		if c.mod != nil {
			c.mod(p)
		}
		resp := h.pull(p)
		wantCode(t, c.name, resp, c.code, c.remark)
		if ph := pullHeader(t, resp); ph.NextBeginOffset != c.next || ph.MaxOffset != map[int32]int64{0: 4, 1: 0}[c.queue] {
			t.Errorf("%s: next %d max %d, want next %d", c.name, ph.NextBeginOffset, ph.MaxOffset, c.next)
		}
		if c.code != code.Success && len(resp.Body) != 0 {
			t.Errorf("%s: body of %d bytes on code %d", c.name, len(resp.Body), c.code)
		}
	}
}

// fakeReader answers GetMessages with a fixed result, for the rows a fresh store cannot
// produce (OFFSET_TOO_SMALL needs deleted segments, MESSAGE_WAS_REMOVING a race with
// retention).
type fakeReader struct{ res store.GetResult }

func (f fakeReader) GetMessages(string, int32, int64, int, int, func(int64) bool) store.GetResult {
	return f.res
}
func (f fakeReader) MaxOffset(string, int32) int64 { return f.res.MaxOffset }

func TestPullStatusTableAllRows(t *testing.T) {
	h := newHarness(t)
	h.createTopic("F", 1, 6)
	b := h.b
	cases := []struct {
		res    store.GetResult
		offset int64
		code   int32
		next   int64
	}{
		{store.GetResult{Status: store.NoMatchedLogicQueue, NextBegin: 7}, 0, code.PullNotFound, 0},
		{store.GetResult{Status: store.NoMatchedLogicQueue, NextBegin: 7}, 3, code.PullOffsetMoved, 0},
		{store.GetResult{Status: store.NoMessageInQueue}, 0, code.PullNotFound, 0},
		{store.GetResult{Status: store.NoMessageInQueue}, 2, code.PullOffsetMoved, 0},
		{store.GetResult{Status: store.OffsetTooSmall, MinOffset: 100, MaxOffset: 200}, 5, code.PullOffsetMoved, 100},
		{store.GetResult{Status: store.OffsetOverflowOne, MinOffset: 0, MaxOffset: 9}, 9, code.PullNotFound, 9},
		{store.GetResult{Status: store.OffsetOverflowBadly, MinOffset: 3, MaxOffset: 9}, 50, code.PullOffsetMoved, 9},
		{store.GetResult{Status: store.Found, NextBegin: 12, MaxOffset: 20, Records: [][]byte{[]byte("r")}}, 10, code.Success, 12},
		{store.GetResult{Status: store.NoMatchedMessage, NextBegin: 14, MaxOffset: 20}, 10, code.PullRetryImmediately, 14},
		{store.GetResult{Status: store.MessageWasRemoving, NextBegin: 11, MaxOffset: 20}, 10, code.PullRetryImmediately, 11},
	}
	for _, c := range cases {
		b.pullSrc = fakeReader{c.res}
		req := codec.NewRequest(code.PullMessage, pullReq("cg", "F", 0, c.offset).Encode(), nil)
		resp := b.handlePull(&server.Conn{}, req)
		name := c.res.Status.String()
		if resp == nil {
			t.Fatalf("%s: no answer", name)
		}
		wantCode(t, name, resp, c.code, name)
		ph := pullHeader(t, resp)
		if ph.NextBeginOffset != c.next || ph.MinOffset != c.res.MinOffset || ph.MaxOffset != c.res.MaxOffset || ph.SuggestWhichBrokerID != 0 {
			t.Errorf("%s at %d: offsets %+v, want next %d", name, c.offset, ph, c.next)
		}
		if (c.code == code.Success) != (len(resp.BodyParts) > 0) {
			t.Errorf("%s: body parts %d on code %d", name, len(resp.BodyParts), c.code)
		}
	}
	b.pullSrc = b.store
}

func heartbeat(t *testing.T, h *harness, group, cfw string, subs ...body.SubscriptionData) {
	t.Helper()
	hb := &body.HeartbeatData{ClientID: "127.0.0.1@test", ConsumerDataSet: []body.ConsumerData{{
		GroupName: group, ConsumeType: body.ConsumePassively, MessageModel: body.Clustering,
		ConsumeFromWhere: cfw, SubscriptionDataSet: subs,
	}}}
	wantCode(t, "heartbeat", h.call(code.HeartBeat, nil, hb.Encode()), code.Success, "")
}

func TestTagFilter(t *testing.T) {
	h := newHarness(t)
	h.createTopic("Tags", 1, 6)
	tags := []string{"A", "B", "标签", "", "A", "C"}
	for i, tg := range tags {
		props := map[string]string{}
		if tg != "" {
			props[message.PropTags] = tg
		}
		h.send("Tags", 0, fmt.Sprint("m", i), props)
	}
	tagsOf := func(resp *codec.Command) []string {
		var out []string
		for _, m := range records(t, resp.Body) {
			out = append(out, m.Properties[message.PropTags])
		}
		return out
	}
	// The expression carried by the pull (pull consumer, sysFlag bit 2).
	p := pullReq("pc", "Tags", 0, 0)
	p.SysFlag = header.PullSubscription
	p.Subscription = "A || 标签"
	resp := h.pull(p)
	if got := fmt.Sprint(tagsOf(resp)); got != "[A 标签 A]" {
		t.Fatalf("pull with expression: tags %s, want [A 标签 A]", got)
	}
	if next := pullHeader(t, resp).NextBeginOffset; next != 6 {
		t.Fatalf("next %d, want 6 (every unit scanned)", next)
	}
	// The subscription registered by heartbeat (push consumer: no bit 2, empty
	// subscription). Its codeSet is the Go client's byte hash, which is wrong for the
	// non-ASCII tag; the broker recomputes from the tag strings.
	heartbeat(t, h, "push", body.ConsumeFromLastOffset, body.SubscriptionData{
		Topic: "Tags", SubString: "B || 标签", TagsSet: []string{"B", "标签"},
		CodeSet: body.CodeSet{"66", "12345"}, SubVersion: 10, ExpressionType: exprTag,
	})
	resp = h.pull(pullReq("push", "Tags", 0, 0))
	if got := fmt.Sprint(tagsOf(resp)); got != "[B 标签]" {
		t.Fatalf("pull by registered subscription: tags %s, want [B 标签]", got)
	}
	// A pull newer than the registered subscription.
	p = pullReq("push", "Tags", 0, 0)
	p.SubVersion = 11
	wantCode(t, "newer subscription", h.pull(p), code.SubscriptionNotLatest, "not latest")
	// No subscription at all (pull before the first heartbeat): served as "*".
	resp = h.pull(pullReq("nosub", "Tags", 0, 0))
	if got := len(records(t, resp.Body)); got != len(tags) {
		t.Fatalf("pull without subscription: %d records, want all %d", got, len(tags))
	}
	// Nothing matches from offset 5 on for tag B: 20 with next past the scan.
	p = pullReq("pc", "Tags", 0, 5)
	p.SysFlag = header.PullSubscription
	p.Subscription = "B"
	wantCode(t, "no match", h.pull(p), code.PullRetryImmediately, "NO_MATCHED_MESSAGE")
}

// asyncPull starts a pull and returns a channel for its answer and the start time.
func (h *harness) asyncPull(cl *transport.Client, p *header.PullMessageRequest) (<-chan *codec.Command, time.Time) {
	h.t.Helper()
	ch := make(chan *codec.Command, 1)
	start := time.Now()
	err := cl.InvokeAsync(context.Background(), h.b.Addr(), codec.NewRequest(code.PullMessage, p.Encode(), nil),
		func(resp *codec.Command, err error) {
			if err != nil {
				resp = nil // the connection closed first; receivers that expect an answer fail
			}
			ch <- resp
		})
	if err != nil {
		h.t.Fatalf("async pull: %v", err)
	}
	return ch, start
}

// waitParked polls until n pulls are parked.
func (h *harness) waitParked(n int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.b.polls.Len() != n {
		if time.Now().After(deadline) {
			h.t.Fatalf("parked pulls: %d, want %d", h.b.polls.Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func suspendReq(group, topic string, q int32, off int64, timeout int64) *header.PullMessageRequest {
	p := pullReq(group, topic, q, off)
	p.SysFlag = header.PullSuspend
	p.SuspendTimeoutMillis = timeout
	return p
}

func TestLongPollWokenBySend(t *testing.T) {
	h := newHarness(t)
	h.createTopic("LP", 1, 6)
	h.send("LP", 0, "old", nil)
	ch, _ := h.asyncPull(h.cl, suspendReq("cg", "LP", 0, 1, 15000))
	h.waitParked(1)
	sent := time.Now()
	h.send("LP", 0, "new", map[string]string{message.PropTags: "T"})
	select {
	case resp := <-ch:
		if resp == nil {
			t.Fatal("pull failed: connection closed before the answer")
		}
		if el := time.Since(sent); el > 2*time.Second {
			t.Fatalf("woken pull answered %v after the send, want well under the 15s deadline", el)
		}
		wantCode(t, "woken pull", resp, code.Success, "FOUND")
		msgs := records(t, resp.Body)
		if len(msgs) != 1 || string(msgs[0].Body) != "new" || msgs[0].QueueOffset != 1 {
			t.Fatalf("woken pull returned %d records", len(msgs))
		}
		if next := pullHeader(t, resp).NextBeginOffset; next != 2 {
			t.Fatalf("next %d, want 2", next)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parked pull not answered after a send")
	}
	if h.b.polls.Len() != 0 {
		t.Fatalf("parked after wake: %d", h.b.polls.Len())
	}
}

func TestLongPollTagFilterKeepsParked(t *testing.T) {
	h := newHarness(t)
	h.createTopic("LPT", 1, 6)
	p := suspendReq("cg", "LPT", 0, 0, 15000)
	p.SysFlag |= header.PullSubscription
	p.Subscription = "want"
	ch, _ := h.asyncPull(h.cl, p)
	h.waitParked(1)
	h.send("LPT", 0, "skip", map[string]string{message.PropTags: "other"})
	h.send("LPT", 0, "take", map[string]string{message.PropTags: "want"})
	select {
	case resp := <-ch:
		if resp == nil {
			t.Fatal("pull failed: connection closed before the answer")
		}
		wantCode(t, "filtered wake", resp, code.Success, "FOUND")
		msgs := records(t, resp.Body)
		if len(msgs) != 1 || string(msgs[0].Body) != "take" {
			t.Fatalf("woken pull returned %d records", len(msgs))
		}
		if next := pullHeader(t, resp).NextBeginOffset; next != 2 {
			t.Fatalf("next %d, want 2", next)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parked pull not answered")
	}
}

func TestLongPollDeadline(t *testing.T) {
	h := newHarness(t)
	h.createTopic("LD", 1, 6)
	const suspend = 300 * time.Millisecond
	ch, start := h.asyncPull(h.cl, suspendReq("cg", "LD", 0, 0, suspend.Milliseconds()))
	select {
	case resp := <-ch:
		if resp == nil {
			t.Fatal("pull failed: connection closed before the answer")
		}
		el := time.Since(start)
		if el < suspend || el > suspend+time.Second {
			t.Fatalf("answered after %v, want %v (+1s tolerance)", el, suspend)
		}
		wantCode(t, "expired pull", resp, code.PullNotFound, "")
		if ph := pullHeader(t, resp); ph.NextBeginOffset != 0 {
			t.Fatalf("next %d, want 0", ph.NextBeginOffset)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parked pull not answered at its deadline")
	}
}

func TestShortPolling(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) {
		o.LongPollingEnable = false
		o.ShortPollingTime = 200 * time.Millisecond
	})
	h.createTopic("SP", 1, 6)
	ch, start := h.asyncPull(h.cl, suspendReq("cg", "SP", 0, 0, 20000))
	select {
	case resp := <-ch:
		if resp == nil {
			t.Fatal("pull failed: connection closed before the answer")
		}
		if el := time.Since(start); el < 200*time.Millisecond || el > 1200*time.Millisecond {
			t.Fatalf("short poll answered after %v, want about 200ms", el)
		}
		wantCode(t, "short poll", resp, code.PullNotFound, "")
	case <-time.After(10 * time.Second):
		t.Fatal("short poll not answered")
	}
}

func TestLongPollBounds(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.MaxParkedPullsPerConn = 2 })
	h.createTopic("LB", 4, 6)
	var chans []<-chan *codec.Command
	for q := int32(0); q < 2; q++ {
		ch, _ := h.asyncPull(h.cl, suspendReq("cg", "LB", q, 0, 15000))
		chans = append(chans, ch)
	}
	h.waitParked(2)
	wantCode(t, "third parked pull", h.pull(suspendReq("cg", "LB", 2, 0, 15000)), code.SystemBusy, "system busy")
	// Another connection still has room.
	other := transport.NewClient(transport.ClientOptions{})
	defer other.Close()
	ch3, _ := h.asyncPull(other, suspendReq("cg", "LB", 3, 0, 15000))
	h.waitParked(3)
	// Closing a connection drops its parked pulls.
	other.Close()
	h.waitParked(2)
	// Close answers the rest.
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	for i, ch := range chans {
		select {
		case resp := <-ch:
			if resp == nil {
				t.Fatalf("parked pull %d: connection closed before the answer", i)
			}
			wantCode(t, fmt.Sprint("parked pull ", i, " at close"), resp, code.PullNotFound, "")
		case <-time.After(10 * time.Second):
			t.Fatalf("parked pull %d not answered at close", i)
		}
	}
	select {
	case resp := <-ch3:
		if resp != nil {
			t.Fatalf("dropped pull answered: %d", resp.Code)
		}
	default:
	}
}

func TestPullMaxTransfer(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.MaxTransferCount = 5 })
	h.createTopic("MT", 1, 6)
	for i := 0; i < 8; i++ {
		h.send("MT", 0, strconv.Itoa(i), nil)
	}
	resp := h.pull(pullReq("cg", "MT", 0, 0)) // asks for 32
	if n := len(records(t, resp.Body)); n != 5 || pullHeader(t, resp).NextBeginOffset != 5 {
		t.Fatalf("capped pull: %d records next %d, want 5 and 5", n, pullHeader(t, resp).NextBeginOffset)
	}
}
