package client

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

func TestProducerSendSingle(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 4, b)
	p := startProducer(t, ns.addr, WithProducerGroup("PG"))

	msg := NewMessage("T", []byte("hello")).WithTags("tagA").WithKeys("k1", "k2").WithProperty("color", "red")
	msg.Flag = 7
	res, err := p.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.Status != SendOK || res.MessageQueue.Topic != "T" || res.MessageQueue.BrokerName != "broker-a" {
		t.Fatalf("result: got %+v", res)
	}
	sends := b.sends()
	if len(sends) != 1 {
		t.Fatalf("broker got %d sends, want 1", len(sends))
	}
	r := sends[0]
	if r.Code != code.SendMessageV2 {
		t.Fatalf("code: got %d, want %d", r.Code, code.SendMessageV2)
	}
	var h header.SendMessageRequest
	if err := h.Decode(r.Ext); err != nil {
		t.Fatalf("decode header: %v", err)
	}
	if h.ProducerGroup != "PG" || h.Topic != "T" || h.DefaultTopic != "TBW102" || h.DefaultTopicQueueNums != 4 ||
		h.Flag != 7 || h.SysFlag != 0 || h.Batch || h.QueueID != res.MessageQueue.QueueID {
		t.Fatalf("header: got %+v (result queue %d)", h, res.MessageQueue.QueueID)
	}
	if d := time.Since(time.UnixMilli(h.BornTimestamp)); d < 0 || d > time.Minute {
		t.Fatalf("bornTimestamp %d is %v from now", h.BornTimestamp, d)
	}
	props := message.DecodeProperties(h.Properties)
	if props["TAGS"] != "tagA" || props["KEYS"] != "k1 k2" || props["color"] != "red" {
		t.Fatalf("properties: got %q", props)
	}
	if id := props["UNIQ_KEY"]; len(id) != 32 || id != res.MsgID {
		t.Fatalf("UNIQ_KEY %q, result MsgID %q", id, res.MsgID)
	}
	if !bytes.Equal(r.Body, []byte("hello")) {
		t.Fatalf("body: got %q", r.Body)
	}
	if _, ok := msg.Properties["UNIQ_KEY"]; ok {
		t.Fatal("Send modified the caller's message")
	}
	if res.OffsetMsgID == "" || res.QueueOffset != 0 {
		t.Fatalf("offset id %q, queue offset %d", res.OffsetMsgID, res.QueueOffset)
	}
	// A second send goes to the next queue (round robin) and keeps its own UNIQ_KEY.
	res2, err := p.Send(context.Background(), NewMessage("T", []byte("x")).WithProperty("UNIQ_KEY", "MYID"))
	if err != nil {
		t.Fatalf("second send: %v", err)
	}
	if res2.MsgID != "MYID" {
		t.Fatalf("MsgID: got %q, want the caller's MYID", res2.MsgID)
	}
	if res2.MessageQueue.QueueID != (res.MessageQueue.QueueID+1)%4 {
		t.Fatalf("round robin: queue %d after %d", res2.MessageQueue.QueueID, res.MessageQueue.QueueID)
	}
}

func TestProducerCompression(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 1, b)
	p := startProducer(t, ns.addr)

	big := bytes.Repeat([]byte("compressible payload "), 400) // 8400 bytes
	small := bytes.Repeat([]byte("s"), 4095)
	for _, body := range [][]byte{big, small} {
		if _, err := p.Send(context.Background(), NewMessage("T", body)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	sends := b.sends()
	if len(sends) != 2 {
		t.Fatalf("got %d sends", len(sends))
	}
	if sends[0].Ext["sysFlag"] != "1" {
		t.Fatalf("big body sysFlag: got %s, want 1", sends[0].Ext["sysFlag"])
	}
	if len(sends[0].Body) >= len(big) {
		t.Fatalf("big body sent as %d bytes, not compressed", len(sends[0].Body))
	}
	got, err := message.Decompress(sends[0].Body, 1<<20)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("inflate: %v, equal=%v", err, bytes.Equal(got, big))
	}
	if sends[1].Ext["sysFlag"] != "0" || !bytes.Equal(sends[1].Body, small) {
		t.Fatalf("4095-byte body: sysFlag %s, %d bytes", sends[1].Ext["sysFlag"], len(sends[1].Body))
	}
}

func TestProducerBatch(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 2, b)
	p := startProducer(t, ns.addr, WithProducerGroup("PG"))

	msgs := []*Message{
		NewMessage("T", []byte("one")).WithTags("a"),
		NewMessage("T", []byte("two")).WithKeys("k2"),
		NewMessage("T", bytes.Repeat([]byte("3"), 5000)), // never compressed inside a batch
	}
	msgs[1].Flag = 9
	res, err := p.Send(context.Background(), msgs...)
	if err != nil {
		t.Fatalf("send batch: %v", err)
	}
	sends := b.sends()
	if len(sends) != 1 || sends[0].Code != code.SendBatchMessage {
		t.Fatalf("got %d sends (first code %v), want one SEND_BATCH_MESSAGE", len(sends), sends)
	}
	r := sends[0]
	if r.Ext["a"] != "PG" || r.Ext["b"] != "T" || r.Ext["m"] != "true" || r.Ext["f"] != "0" {
		t.Fatalf("short header: got %v", r.Ext)
	}
	entries, err := message.DecodeBatch(r.Body, 0)
	if err != nil {
		t.Fatalf("decode batch: %v", err)
	}
	if len(entries) != 3 {
		t.Fatalf("entries: got %d", len(entries))
	}
	ids := strings.Split(res.MsgID, ",")
	if len(ids) != 3 {
		t.Fatalf("MsgID: got %q, want three ids", res.MsgID)
	}
	for i, e := range entries {
		if !bytes.Equal(e.Body, msgs[i].Body) || e.Flag != msgs[i].Flag {
			t.Fatalf("entry %d: body %d bytes flag %d", i, len(e.Body), e.Flag)
		}
		props := message.DecodeProperties(e.Properties)
		if props["UNIQ_KEY"] != ids[i] {
			t.Fatalf("entry %d UNIQ_KEY %q, want %q", i, props["UNIQ_KEY"], ids[i])
		}
	}
	if message.DecodeProperties(entries[0].Properties)["TAGS"] != "a" || message.DecodeProperties(entries[1].Properties)["KEYS"] != "k2" {
		t.Fatalf("entry properties lost: %q %q", entries[0].Properties, entries[1].Properties)
	}
}

func TestProducerRejectsBadMessages(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 1, b)
	p := startProducer(t, ns.addr, WithMaxMessageBytes(1000))
	ctx := context.Background()
	cases := []struct {
		name string
		msgs []*Message
		want error
	}{
		{"none", nil, ErrInvalidMessage},
		{"empty topic", []*Message{NewMessage("", []byte("x"))}, ErrInvalidMessage},
		{"bad char", []*Message{NewMessage("a b", []byte("x"))}, ErrInvalidMessage},
		{"reserved", []*Message{NewMessage("TBW102", []byte("x"))}, ErrInvalidMessage},
		{"long topic", []*Message{NewMessage(strings.Repeat("t", 128), []byte("x"))}, ErrInvalidMessage},
		{"empty body", []*Message{NewMessage("T", nil)}, ErrInvalidMessage},
		{"too big", []*Message{NewMessage("T", make([]byte, 1001))}, ErrInvalidMessage},
		{"mixed topics", []*Message{NewMessage("T", []byte("x")), NewMessage("U", []byte("y"))}, ErrInvalidMessage},
		{"delayed batch", []*Message{NewMessage("T", []byte("x")), NewMessage("T", []byte("y")).WithDelayLevel(3)}, ErrInvalidMessage},
		{"batch too large", []*Message{NewMessage("T", make([]byte, 600)), NewMessage("T", make([]byte, 600))}, ErrBatchTooLarge},
	}
	for _, c := range cases {
		if _, err := p.Send(ctx, c.msgs...); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if n := len(b.sends()); n != 0 {
		t.Fatalf("broker got %d sends for invalid messages", n)
	}
}

// answerCode makes a fake broker refuse every send with c.
func answerCode(c int32) func(req *codec.Command) *codec.Command {
	return func(req *codec.Command) *codec.Command {
		if isSend(req.Code) || req.Code == code.SendBatchMessage {
			return req.NewResponse(c, "refused by test")
		}
		return nil
	}
}

func TestProducerRetriesOnAnotherBroker(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	a.setAnswer(answerCode(code.ServiceNotAvailable))
	ns.setRoute("T", 2, a, b)
	p := startProducer(t, ns.addr)
	for i := 0; i < 10; i++ {
		res, err := p.Send(context.Background(), NewMessage("T", []byte("m")))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if res.MessageQueue.BrokerName != "broker-b" {
			t.Fatalf("send %d stored on %s", i, res.MessageQueue.BrokerName)
		}
	}
	// broker-a refused once; fault avoidance then keeps sends away from it.
	if n := len(a.sends()); n > 1 {
		t.Fatalf("broker-a got %d sends after refusing, want at most 1", n)
	}
	if n := len(b.sends()); n != 10 {
		t.Fatalf("broker-b got %d sends, want 10", n)
	}
}

func TestProducerRetriesWithoutFaultAvoidance(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	a.setAnswer(answerCode(code.SystemError))
	ns.setRoute("T", 1, a, b)
	p := startProducer(t, ns.addr, WithFaultAvoidance(false))
	for i := 0; i < 6; i++ {
		res, err := p.Send(context.Background(), NewMessage("T", []byte("m")))
		if err != nil || res.MessageQueue.BrokerName != "broker-b" {
			t.Fatalf("send %d: %v %v", i, res, err)
		}
	}
	// Without avoidance nothing remembers the refusal: with one queue per broker the
	// rotation (one step per attempt) lands on broker-a first on every send, and each
	// send is retried on broker-b.
	if n := len(a.sends()); n != 6 {
		t.Fatalf("broker-a got %d sends, want 6", n)
	}
	if n := len(b.sends()); n != 6 {
		t.Fatalf("broker-b got %d sends, want 6", n)
	}
}

func TestProducerNonRetryableCode(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	a.setAnswer(answerCode(code.MessageIllegal))
	b.setAnswer(answerCode(code.MessageIllegal))
	ns.setRoute("T", 1, a, b)
	p := startProducer(t, ns.addr)
	_, err := p.Send(context.Background(), NewMessage("T", []byte("m")))
	if c, ok := CodeOf(err); !ok || c != code.MessageIllegal {
		t.Fatalf("error %v: code %d", err, c)
	}
	if n := len(a.sends()) + len(b.sends()); n != 1 {
		t.Fatalf("%d attempts for a non-retryable answer, want 1", n)
	}
}

func TestProducerRetriesExhausted(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	a.setAnswer(answerCode(code.ServiceNotAvailable))
	b.setAnswer(answerCode(code.ServiceNotAvailable))
	ns.setRoute("T", 1, a, b)
	p := startProducer(t, ns.addr, WithRetries(3))
	_, err := p.Send(context.Background(), NewMessage("T", []byte("m")))
	if c, ok := CodeOf(err); !ok || c != code.ServiceNotAvailable {
		t.Fatalf("error %v: want code 14", err)
	}
	if n := len(a.sends()) + len(b.sends()); n != 4 {
		t.Fatalf("%d attempts, want 4 (1 + 3 retries)", n)
	}
	if !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("error does not say how many attempts: %v", err)
	}
}

func TestProducerRetriesAfterTransportError(t *testing.T) {
	ns := startFakeNamesrv(t)
	dead := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	_ = dead.srv.Close() // its address now refuses connections
	ns.setRoute("T", 1, dead, b)
	p := startProducer(t, ns.addr)
	for i := 0; i < 4; i++ {
		res, err := p.Send(context.Background(), NewMessage("T", []byte("m")))
		if err != nil || res.MessageQueue.BrokerName != "broker-b" {
			t.Fatalf("send %d: %v %v", i, res, err)
		}
	}
}

func TestProducerBorrowsDefaultRoute(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("TBW102", 8, b)
	p := startProducer(t, ns.addr)
	seen := map[int32]bool{}
	for i := 0; i < 12; i++ {
		res, err := p.Send(context.Background(), NewMessage("NEW", []byte("m")))
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		seen[res.MessageQueue.QueueID] = true
		if res.MessageQueue.Topic != "NEW" {
			t.Fatalf("result topic %q", res.MessageQueue.Topic)
		}
	}
	if len(seen) != 4 || !seen[0] || !seen[3] {
		t.Fatalf("queues used: %v, want exactly 0..3 (TBW102 capped at 4)", seen)
	}
	for _, s := range b.sends() {
		if s.Ext["topic"] != "NEW" || s.Ext["defaultTopic"] != "TBW102" || s.Ext["defaultTopicQueueNums"] != "4" {
			t.Fatalf("header %v", s.Ext)
		}
	}
	// The stand-in route is cached: the real topic was asked for once only.
	if n := ns.routeQueries("NEW"); n != 1 {
		t.Fatalf("route of NEW asked %d times, want 1", n)
	}
}

func TestProducerNoRoute(t *testing.T) {
	ns := startFakeNamesrv(t)
	p := startProducer(t, ns.addr)
	_, err := p.Send(context.Background(), NewMessage("NOPE", []byte("m")))
	if !errors.Is(err, ErrTopicNotExist) {
		t.Fatalf("got %v, want ErrTopicNotExist", err)
	}
	p2 := startProducer(t, ns.addr, WithCreateTopicKey(""))
	if _, err := p2.Send(context.Background(), NewMessage("NOPE", []byte("m"))); !errors.Is(err, ErrTopicNotExist) {
		t.Fatalf("without create key: got %v", err)
	}
}

func TestProducerShardingKey(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	ns.setRoute("T", 4, a, b)
	p := startProducer(t, ns.addr, WithQueueSelector(SelectByShardingKey()))
	queueOf := map[string]MessageQueue{}
	for round := 0; round < 3; round++ {
		for _, key := range []string{"order-1", "order-2", "order-3", "order-4", "order-5"} {
			res, err := p.Send(context.Background(), NewMessage("T", []byte(key)).WithShardingKey(key))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if q, ok := queueOf[key]; ok && q != res.MessageQueue {
				t.Fatalf("key %s went to %v, then %v", key, q, res.MessageQueue)
			}
			queueOf[key] = res.MessageQueue
		}
	}
	distinct := map[MessageQueue]bool{}
	for _, q := range queueOf {
		distinct[q] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("five keys all hashed to one queue: %v", queueOf)
	}
}

func TestProducerCustomSelectorAndSendToQueue(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 4, a)
	last := QueueSelectorFunc(func(_ *Message, qs []MessageQueue) MessageQueue { return qs[len(qs)-1] })
	p := startProducer(t, ns.addr, WithQueueSelector(last))
	res, err := p.Send(context.Background(), NewMessage("T", []byte("m")))
	if err != nil || res.MessageQueue.QueueID != 3 {
		t.Fatalf("custom selector: %v %v", res, err)
	}
	res, err = p.SendToQueue(context.Background(), MessageQueue{Topic: "T", BrokerName: "broker-a", QueueID: 1}, NewMessage("T", []byte("m")))
	if err != nil || res.MessageQueue.QueueID != 1 {
		t.Fatalf("send to queue: %v %v", res, err)
	}
}

func TestProducerNamespace(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("ns1%T", 1, b)
	p := startProducer(t, ns.addr, WithNamespace("ns1"), WithProducerGroup("PG"))
	res, err := p.Send(context.Background(), NewMessage("T", []byte("m")))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.MessageQueue.Topic != "T" {
		t.Fatalf("result topic %q, want T", res.MessageQueue.Topic)
	}
	s := b.sends()[0]
	if s.Ext["topic"] != "ns1%T" || s.Ext["producerGroup"] != "ns1%PG" {
		t.Fatalf("header topic %q group %q", s.Ext["topic"], s.Ext["producerGroup"])
	}
}

func TestProducerSendAsync(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	ns.setRoute("T", 2, a, b)
	a.setAnswer(answerCode(code.ServiceNotAvailable)) // async sends retry too
	p := startProducer(t, ns.addr)
	const n = 50
	var (
		mu      sync.Mutex
		results []*SendResult
		errs    []error
		done    = make(chan struct{}, n)
	)
	for i := 0; i < n; i++ {
		err := p.SendAsync(context.Background(), func(r *SendResult, err error) {
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			} else {
				results = append(results, r)
			}
			mu.Unlock()
			done <- struct{}{}
		}, NewMessage("T", []byte("m")))
		if err != nil {
			t.Fatalf("send async %d: %v", i, err)
		}
	}
	for i := 0; i < n; i++ {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d callbacks", i, n)
		}
	}
	if len(errs) != 0 || len(results) != n {
		t.Fatalf("%d results, errors %v", len(results), errs)
	}
	for _, r := range results {
		if r.MessageQueue.BrokerName != "broker-b" {
			t.Fatalf("stored on %s", r.MessageQueue.BrokerName)
		}
	}
	if got := len(b.sends()); got != n {
		t.Fatalf("broker-b got %d, want %d", got, n)
	}
	// A non-retryable refusal reaches the callback as an error with its code.
	b.setAnswer(answerCode(code.MessageIllegal))
	errc := make(chan error, 1)
	if err := p.SendAsync(context.Background(), func(_ *SendResult, err error) { errc <- err }, NewMessage("T", []byte("m"))); err != nil {
		t.Fatalf("send async: %v", err)
	}
	if err := <-errc; err == nil {
		t.Fatal("callback got no error for MESSAGE_ILLEGAL")
	} else if c, _ := CodeOf(err); c != code.MessageIllegal {
		t.Fatalf("callback error %v", err)
	}
	// Invalid input fails at once and never calls back.
	if err := p.SendAsync(context.Background(), func(*SendResult, error) { t.Error("called back") }); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("empty async send: %v", err)
	}
}

func TestProducerSendOneway(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 1, b)
	p := startProducer(t, ns.addr)
	for i := 0; i < 3; i++ {
		if err := p.SendOneway(context.Background(), NewMessage("T", []byte("m"))); err != nil {
			t.Fatalf("oneway: %v", err)
		}
	}
	testutil.Eventually(t, 5*time.Second, "three oneway sends", func() bool { return len(b.sends()) == 3 })
	for _, s := range b.sends() {
		if s.Flag&codec.FlagOneway == 0 {
			t.Fatalf("flag %d: oneway bit not set", s.Flag)
		}
	}
}

func TestProducerLifecycleErrors(t *testing.T) {
	if _, err := NewProducer(); !errors.Is(err, ErrNoNameServer) {
		t.Fatalf("no name server: %v", err)
	}
	ns := startFakeNamesrv(t)
	p, err := NewProducer(WithNameServer(ns.addr), WithInstanceName(uniqueInstance(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), NewMessage("T", []byte("m"))); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("send before start: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("second start: %v", err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	if _, err := p.Send(context.Background(), NewMessage("T", []byte("m"))); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("send after shutdown: %v", err)
	}
}

func TestProducerHeaderSerialization(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 1, b)
	binary := startProducer(t, ns.addr)
	json := startProducer(t, ns.addr, WithJSONHeaders())
	for _, p := range []*Producer{binary, json} {
		if _, err := p.Send(context.Background(), NewMessage("T", []byte("m")).WithTags("x")); err != nil {
			t.Fatal(err)
		}
	}
	sends := b.sends()
	if len(sends) != 2 || sends[0].Serialize != codec.SerializeRocketMQ || sends[1].Serialize != codec.SerializeJSON {
		t.Fatalf("serializations: %+v", sends)
	}
	for _, s := range sends {
		if s.Ext["topic"] != "T" || message.DecodeProperties(s.Ext["properties"])["TAGS"] != "x" {
			t.Fatalf("header lost in %d form: %v", s.Serialize, s.Ext)
		}
	}
}

func TestProducerRefetchesRouteWithoutMaster(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.putRoute("T", &body.TopicRouteData{
		QueueDatas:  []body.QueueData{{BrokerName: "broker-a", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}},
		BrokerDatas: []body.BrokerData{{BrokerName: "broker-a", BrokerAddrs: map[int64]string{1: b.addr}}}, // slave only
	})
	p := startProducer(t, ns.addr)
	if _, err := p.Send(context.Background(), NewMessage("T", []byte("m"))); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("no master: got %v, want ErrNoRoute", err)
	}
	ns.setRoute("T", 1, b) // the master is back
	if _, err := p.Send(context.Background(), NewMessage("T", []byte("m"))); err != nil {
		t.Fatalf("master back: %v", err)
	}
}
