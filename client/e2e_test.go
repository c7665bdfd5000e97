package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// End-to-end tests: the SDK against a real NameServer and broker on 127.0.0.1, messages
// read back with PULL_MESSAGE through the bare transport.

// e2eProducer starts a producer against a test cluster.
func e2eProducer(t *testing.T, c *cluster.Cluster, opts ...ProducerOption) *Producer {
	t.Helper()
	return startProducer(t, c.NamesrvAddr(), opts...)
}

// pullQueue reads every message of one queue from offset 0 with PULL_MESSAGE.
func pullQueue(t *testing.T, rc *transport.Client, addr, topic string, queueID int32) []*MessageExt {
	t.Helper()
	var out []*MessageExt
	offset := int64(0)
	for round := 0; round < 1000; round++ {
		h := header.PullMessageRequest{
			ConsumerGroup: "e2e-reader", Topic: topic, QueueID: queueID, QueueOffset: offset, MaxMsgNums: 32,
			SysFlag: header.PullSubscription, Subscription: "*", ExpressionType: "TAG",
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := rc.Invoke(ctx, addr, codec.NewRequest(code.PullMessage, h.Encode(), nil))
		cancel()
		if err != nil {
			t.Fatalf("pull %s/%d@%d: %v", topic, queueID, offset, err)
		}
		var rh header.PullMessageResponse
		if err := rh.Decode(resp.ExtFields); err != nil {
			t.Fatalf("pull response header: %v", err)
		}
		switch resp.Code {
		case code.Success:
			msgs, err := DecodeMessages(resp.Body)
			if err != nil {
				t.Fatalf("decode pulled records: %v", err)
			}
			out = append(out, msgs...)
			offset = rh.NextBeginOffset
		case code.PullNotFound, code.PullOffsetMoved:
			return out
		default:
			t.Fatalf("pull %s/%d@%d: code %d %s", topic, queueID, offset, resp.Code, resp.Remark)
		}
	}
	t.Fatalf("pull %s/%d never ended", topic, queueID)
	return nil
}

// pullTopic reads every queue of a topic and returns the messages by queue.
func pullTopic(t *testing.T, c *cluster.Cluster, topic string, queues int) map[int32][]*MessageExt {
	t.Helper()
	rc := transport.NewClient(transport.ClientOptions{})
	defer rc.Close()
	out := map[int32][]*MessageExt{}
	for q := int32(0); q < int32(queues); q++ {
		out[q] = pullQueue(t, rc, c.BrokerAddr(), topic, q)
	}
	return out
}

// waitStored pulls a topic until n messages are readable: a send is acknowledged once
// appended, and the consume queues are built just after.
func waitStored(t *testing.T, c *cluster.Cluster, topic string, queues, n int) map[int32][]*MessageExt {
	t.Helper()
	var byQueue map[int32][]*MessageExt
	got := 0
	if !testutil.Poll(10*time.Second, func() bool {
		byQueue = pullTopic(t, c, topic, queues)
		got = 0
		for _, ms := range byQueue {
			got += len(ms)
		}
		return got >= n
	}) {
		t.Fatalf("%s: %d messages readable, want %d", topic, got, n)
	}
	return byQueue
}

func TestE2ESendModes(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cluster.Start(t)
	c.CreateTopic(t, "E2E", 4)
	p := e2eProducer(t, c, WithProducerGroup("e2e-pg"))
	ctx := context.Background()

	want := map[string][]byte{} // UNIQ_KEY → body
	res, err := p.Send(ctx, NewMessage("E2E", []byte("sync-1")).WithTags("a").WithKeys("key-1"))
	if err != nil {
		t.Fatalf("sync send: %v", err)
	}
	want[res.MsgID] = []byte("sync-1")

	big := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB, compressed on the wire
	resBig, err := p.Send(ctx, NewMessage("E2E", big))
	if err != nil {
		t.Fatalf("big send: %v", err)
	}
	want[resBig.MsgID] = big

	batch := []*Message{NewMessage("E2E", []byte("b-0")), NewMessage("E2E", []byte("b-1")), NewMessage("E2E", []byte("b-2"))}
	resBatch, err := p.Send(ctx, batch...)
	if err != nil {
		t.Fatalf("batch send: %v", err)
	}
	batchIDs := strings.Split(resBatch.MsgID, ",")
	for i, id := range batchIDs {
		want[id] = batch[i].Body
	}

	var mu sync.Mutex
	asyncDone := make(chan error, 10)
	for i := 0; i < 10; i++ {
		body := []byte(fmt.Sprintf("async-%d", i))
		err := p.SendAsync(ctx, func(r *SendResult, err error) {
			if err == nil {
				mu.Lock()
				want[r.MsgID] = body
				mu.Unlock()
			}
			asyncDone <- err
		}, NewMessage("E2E", body))
		if err != nil {
			t.Fatalf("async send: %v", err)
		}
	}
	for i := 0; i < 10; i++ {
		if err := <-asyncDone; err != nil {
			t.Fatalf("async callback: %v", err)
		}
	}
	for i := 0; i < 5; i++ {
		m := NewMessage("E2E", []byte(fmt.Sprintf("oneway-%d", i))).WithProperty("UNIQ_KEY", fmt.Sprintf("ONEWAY%d", i))
		if err := p.SendOneway(ctx, m); err != nil {
			t.Fatalf("oneway: %v", err)
		}
		want[fmt.Sprintf("ONEWAY%d", i)] = m.Body
	}

	byQueue := waitStored(t, c, "E2E", 4, len(want))

	got := map[string]*MessageExt{}
	for q, ms := range byQueue {
		for i, m := range ms {
			if m.QueueOffset != int64(i) || m.Queue.QueueID != q || m.Topic != "E2E" {
				t.Fatalf("queue %d message %d: offset %d queue %d topic %s", q, i, m.QueueOffset, m.Queue.QueueID, m.Topic)
			}
			got[m.MsgID] = m
		}
	}
	if len(got) != len(want) {
		t.Fatalf("stored %d messages, sent %d", len(got), len(want))
	}
	for id, b := range want {
		m := got[id]
		if m == nil || !bytes.Equal(m.Body, b) {
			t.Fatalf("message %s: got %v, want body %q", id, m, b)
		}
	}
	// The sync message: properties, store position as the result reported.
	m := got[res.MsgID]
	if m.Tags() != "a" || !slices.Equal(m.Keys(), []string{"key-1"}) || m.QueueOffset != res.QueueOffset ||
		m.Queue.QueueID != res.MessageQueue.QueueID || m.OffsetMsgID != res.OffsetMsgID {
		t.Fatalf("sync message %v vs result %v", m, res)
	}
	// The big body is stored compressed and read back identical.
	mb := got[resBig.MsgID]
	if mb.SysFlag&1 == 0 || int(mb.StoreSize) >= len(big) {
		t.Fatalf("big message sysflag %d, stored %d bytes for a %d-byte body", mb.SysFlag, mb.StoreSize, len(big))
	}
	// A batch lands on one queue at consecutive offsets, in order.
	for i, id := range batchIDs {
		bm := got[id]
		if bm.Queue.QueueID != resBatch.MessageQueue.QueueID || bm.QueueOffset != resBatch.QueueOffset+int64(i) {
			t.Fatalf("batch message %d at queue %d offset %d, batch result %v", i, bm.Queue.QueueID, bm.QueueOffset, resBatch)
		}
	}
}

func TestE2EAutoCreateAndShardingKey(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cluster.Start(t)
	c.WaitRoute(t, "TBW102", 0) // the broker registers its topics asynchronously
	p := e2eProducer(t, c, WithQueueSelector(SelectByShardingKey()))
	ctx := context.Background()
	queueOf := map[string]int32{}
	for i := 0; i < 30; i++ {
		key := fmt.Sprintf("k%d", i%5)
		res, err := p.Send(ctx, NewMessage("AUTO", []byte(fmt.Sprintf("%s-%d", key, i))).WithShardingKey(key))
		if err != nil {
			t.Fatalf("send to a new topic: %v", err)
		}
		if q, ok := queueOf[key]; ok && q != res.MessageQueue.QueueID {
			t.Fatalf("key %s moved from queue %d to %d", key, q, res.MessageQueue.QueueID)
		}
		queueOf[key] = res.MessageQueue.QueueID
	}
	c.WaitRoute(t, "AUTO", 0)
	byQueue := waitStored(t, c, "AUTO", 4, 30)
	// Per key, the stored order is the send order.
	next := map[string]int{}
	for _, ms := range byQueue {
		for _, m := range ms {
			key, seq, _ := strings.Cut(string(m.Body), "-")
			var n int
			fmt.Sscan(seq, &n)
			if n < next[key] {
				t.Fatalf("key %s: message %d after %d", key, n, next[key])
			}
			next[key] = n
		}
	}
	if len(next) != 5 {
		t.Fatalf("keys read back: %v", next)
	}
}

func TestE2EAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cluster.Start(t)
	c.WaitRoute(t, "TBW102", 0) // registered with the NameServer
	ctx := context.Background()
	adm, err := NewAdmin(WithNameServer(c.NamesrvAddr()), WithInstanceName(uniqueInstance(t)), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()

	ci, err := adm.Clusters(ctx)
	if err != nil {
		t.Fatalf("clusters: %v", err)
	}
	if names := ci.ClusterAddrTable[c.ClusterName()]; !slices.Equal(names, []string{c.BrokerName()}) ||
		ci.BrokerAddrTable[c.BrokerName()].BrokerAddrs[0] != c.BrokerAddr() {
		t.Fatalf("cluster info %+v", ci)
	}
	if err := adm.CreateTopic(ctx, TopicConfig{Topic: "ADM", ReadQueueNums: 2, WriteQueueNums: 2}, OnCluster(c.ClusterName())); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	c.WaitRoute(t, "ADM", 0)
	r, err := adm.TopicRoute(ctx, "ADM")
	if err != nil || len(r.QueueDatas) != 1 || r.QueueDatas[0].WriteQueueNums != 2 || r.QueueDatas[0].Perm != 6 {
		t.Fatalf("route %+v %v", r, err)
	}
	if err := adm.UpdateTopic(ctx, TopicConfig{Topic: "ADM", ReadQueueNums: 3, WriteQueueNums: 3}, OnBrokers(c.BrokerAddr())); err != nil {
		t.Fatalf("update topic: %v", err)
	}
	c.CreateTopic(t, "ADM", 3) // waits until the route shows 3 queues
	topics, err := adm.ListTopics(ctx)
	if err != nil || !slices.Contains(topics, "ADM") {
		t.Fatalf("list topics: %v %v", topics, err)
	}
	if err := adm.CreateTopic(ctx, TopicConfig{}, Target{}); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("empty topic: %v", err)
	}
	if err := adm.CreateTopic(ctx, TopicConfig{Topic: "X"}, OnCluster("no-such-cluster")); !errors.Is(err, ErrBrokerNotFound) {
		t.Fatalf("unknown cluster: %v", err)
	}

	// Messages to query and to consume.
	p := e2eProducer(t, c)
	before := time.Now().Add(-time.Second)
	var results []*SendResult
	for i := 0; i < 9; i++ {
		res, err := p.Send(ctx, NewMessage("ADM", []byte(fmt.Sprintf("m%d", i))).WithKeys(fmt.Sprintf("order-%d", i%3)))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	testutil.Eventually(t, 10*time.Second,

		"the key index to hold order-1", func() bool {
			ms, err := adm.QueryMessageByKey(ctx, "ADM", "order-1", time.Time{}, time.Time{}, 0)
			return err == nil && len(ms) == 3
		})

	ms, _ := adm.QueryMessageByKey(ctx, "ADM", "order-1", time.Time{}, time.Time{}, 0)
	for _, m := range ms {
		if !slices.Contains(m.Keys(), "order-1") || m.Topic != "ADM" {
			t.Fatalf("query by key returned %v", m)
		}
	}
	if ms, err := adm.QueryMessageByKey(ctx, "ADM", "no-such-key", time.Time{}, time.Time{}, 0); err != nil || len(ms) != 0 {
		t.Fatalf("missing key: %v %v", ms, err)
	}
	byOffset, err := adm.QueryMessageByID(ctx, "ADM", results[4].OffsetMsgID)
	if err != nil || string(byOffset.Body) != "m4" {
		t.Fatalf("by offset id: %v %v", byOffset, err)
	}
	byUniq, err := adm.QueryMessageByID(ctx, "ADM", results[5].MsgID)
	if err != nil || string(byUniq.Body) != "m5" {
		t.Fatalf("by unique key: %v %v", byUniq, err)
	}

	// Progress and reset: commit some offsets, read the lag, then reset to the start.
	waitStored(t, c, "ADM", 3, 9)
	rc := transport.NewClient(transport.ClientOptions{})
	defer rc.Close()
	var total int64
	for q := 0; q < 3; q++ {
		total += c.MaxOffset(t, "ADM", q)
		uh := header.UpdateConsumerOffsetRequest{ConsumerGroup: "adm-cg", Topic: "ADM", QueueID: int32(q), CommitOffset: 1}
		resp, err := rc.Invoke(ctx, c.BrokerAddr(), codec.NewRequest(code.UpdateConsumerOffset, uh.Encode(), nil))
		if err != nil || resp.Code != code.Success {
			t.Fatalf("commit offset: %v %v", resp, err)
		}
	}
	if total != 9 {
		t.Fatalf("9 messages, max offsets sum to %d", total)
	}
	stats, err := adm.TopicStats(ctx, "ADM")
	if err != nil || len(stats) != 3 {
		t.Fatalf("topic stats: %v %v", stats, err)
	}
	var statTotal int64
	for i, s := range stats {
		if s.Queue.QueueID != int32(i) || s.Queue.Topic != "ADM" || s.MinOffset != 0 || s.MaxOffset != c.MaxOffset(t, "ADM", i) {
			t.Fatalf("stats row %d: %+v", i, s)
		}
		statTotal += s.MaxOffset - s.MinOffset
	}
	if statTotal != 9 {
		t.Fatalf("topic stats count %d messages, want 9", statTotal)
	}
	prog, err := adm.ConsumerProgress(ctx, "adm-cg", "ADM")
	if err != nil {
		t.Fatalf("consumer progress: %v", err)
	}
	if len(prog.Queues) != 3 || prog.TotalLag != 9-3 {
		t.Fatalf("progress: %+v", prog)
	}
	for i, q := range prog.Queues {
		if q.Queue.QueueID != int32(i) || q.Queue.Topic != "ADM" || q.ConsumerOffset != 1 || q.Lag != q.BrokerOffset-1 {
			t.Fatalf("progress row %d: %+v", i, q)
		}
	}
	reset, err := adm.ResetOffsetByTimestamp(ctx, "adm-cg", "ADM", before)
	if err != nil || len(reset) != 3 {
		t.Fatalf("reset: %v %v", reset, err)
	}
	for q := 0; q < 3; q++ {
		if off, ok := c.ConsumerOffset(t, "adm-cg", "ADM", q); !ok || off != 0 {
			t.Fatalf("queue %d offset after reset: %d %v", q, off, ok)
		}
	}
	reset, err = adm.ResetOffsetByTimestamp(ctx, "adm-cg", "ADM", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("reset to the future: %v", err)
	}
	for mq, off := range reset {
		if want := c.MaxOffset(t, "ADM", int(mq.QueueID)); off != want {
			t.Fatalf("reset to the future: queue %d at %d, want max %d", mq.QueueID, off, want)
		}
	}

	if err := adm.DeleteTopic(ctx, "ADM", Target{}); err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	c.WaitNoRoute(t, "ADM", 0)
	if _, err := adm.TopicRoute(ctx, "ADM"); !errors.Is(err, ErrTopicNotExist) {
		t.Fatalf("route after delete: %v", err)
	}
	if err := adm.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ListTopics(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestE2ENamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cluster.Start(t)
	c.WaitRoute(t, "TBW102", 0) // registered with the NameServer
	ctx := context.Background()
	adm, err := NewAdmin(WithNameServer(c.NamesrvAddr()), WithNamespace("tenant"), WithInstanceName(uniqueInstance(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if err := adm.CreateTopic(ctx, TopicConfig{Topic: "NS", ReadQueueNums: 1, WriteQueueNums: 1}, Target{}); err != nil {
		t.Fatal(err)
	}
	c.WaitRoute(t, "tenant%NS", 0)
	p := e2eProducer(t, c, WithNamespace("tenant"))
	res, err := p.Send(ctx, NewMessage("NS", []byte("hello")))
	if err != nil || res.MessageQueue.Topic != "NS" {
		t.Fatalf("send: %v %v", res, err)
	}
	ms := waitStored(t, c, "tenant%NS", 1, 1)[0]
	if len(ms) != 1 || string(ms[0].Body) != "hello" {
		t.Fatalf("stored under tenant%%NS: %v", ms)
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil || !slices.Equal(topics, []string{"NS"}) {
		t.Fatalf("namespaced listing: %v %v", topics, err)
	}
}
