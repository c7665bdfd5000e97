package compat_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// Deadlines. The client's own timers set the scale: a push consumer that misses
// NOTIFY_CONSUMER_IDS_CHANGED rebalances only every 20 s, and persists offsets every
// 5 s after a first wait of 10 s.
const (
	sendTimeout    = 10 * time.Second // one send, including the client's retries
	consumeTimeout = 30 * time.Second // until every expected message has arrived
	settleTimeout  = 45 * time.Second // until a rebalance has settled (covers one 20 s timer)
)

// env is one test's world: a fresh cluster and a name prefix for its topics, groups
// and client instances.
type env struct {
	t      testing.TB
	c      *cluster.Cluster
	prefix string
}

var instanceSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// newEnv starts a cluster for t. Topic and group names derive from the test name, so a
// log line names its test.
func newEnv(t testing.TB, opts ...cluster.Option) *env {
	t.Helper()
	c := cluster.Start(t, opts...)
	prefix := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(prefix) > 60 {
		prefix = prefix[len(prefix)-60:]
	}
	e := &env{t: t, c: c, prefix: prefix}
	watchClient(t, prefix, c.NamesrvAddr(), c.BrokerAddr())
	return e
}

// name returns a topic or group name unique to this test.
func (e *env) name(kind string) string { return kind + "_" + e.prefix }

// instance returns a client instance name unique in the process: the official client
// shares one client object among all producers and consumers with the same ClientID
// (ip@instance), and refuses a second one with a different NameServer list.
func (e *env) instance() string {
	return fmt.Sprintf("%s-%d", e.prefix, instanceSeq.Add(1))
}

func (e *env) nameserver() []string { return []string{e.c.NamesrvAddr()} }

// producer starts a producer of a group unique to the test; t.Cleanup shuts it down.
func (e *env) producer(opts ...producer.Option) rocketmq.Producer {
	e.t.Helper()
	all := append([]producer.Option{
		producer.WithNameServer(e.nameserver()),
		producer.WithGroupName(e.name("PG")),
		producer.WithInstanceName(e.instance()),
		producer.WithRetry(2),
	}, opts...)
	p, err := rocketmq.NewProducer(all...)
	if err != nil {
		e.t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		e.t.Fatalf("start producer: %v", err)
	}
	e.t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// pushClient is a started push consumer plus views of its internal state that the
// client exposes through GetConsumerRunningInfo (the concrete type is unexported, so
// they are closures over it).
type pushClient struct {
	rocketmq.PushConsumer
	id string
	// queues lists the queues of topic the consumer currently owns, by queue id.
	queues func(topic string) []int
	// offsets gives the consumer's in-memory committed offset per queue id of topic.
	offsets func(topic string) map[int]int64
	stop    func()
}

// pushConsumer starts a clustering push consumer of group subscribed to topic with
// expr, delivering into box. t.Cleanup shuts it down unless the test did.
func (e *env) pushConsumer(group, topic, expr string, from consumer.ConsumeFromWhere, box *inbox, opts ...consumer.Option) *pushClient {
	e.t.Helper()
	id := e.instance()
	all := append([]consumer.Option{
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(group),
		consumer.WithInstance(id),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(from),
	}, opts...)
	pc, err := consumer.NewPushConsumer(all...)
	if err != nil {
		e.t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: expr}, box.handle); err != nil {
		e.t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := pc.Start(); err != nil {
		e.t.Fatalf("start push consumer of %s on %s: %v", group, topic, err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = pc.Shutdown() }) }
	e.t.Cleanup(stop)
	return &pushClient{
		PushConsumer: pc,
		id:           id,
		stop:         stop,
		queues: func(topic string) []int {
			var ids []int
			for mq := range pc.GetConsumerRunningInfo(false).MQTable {
				if mq.Topic == topic {
					ids = append(ids, mq.QueueId)
				}
			}
			sort.Ints(ids)
			return ids
		},
		offsets: func(topic string) map[int]int64 {
			out := map[int]int64{}
			for mq, pq := range pc.GetConsumerRunningInfo(false).MQTable {
				if mq.Topic == topic {
					out[mq.QueueId] = pq.CommitOffset
				}
			}
			return out
		},
	}
}

// waitCaughtUp waits until the consumer owns exactly the given queues of topic and its
// in-memory offset of each equals the queue's max offset: everything stored there so
// far has been delivered or filtered, so anything the consumer has not received by then
// it will never receive. The max offset is the broker's, but at least what the
// acknowledged sends imply: a send is acknowledged once it is in the CommitLog, and its
// ConsumeQueue unit follows from the dispatcher a moment later (as in RocketMQ, whose
// reput service is asynchronous too).
func (e *env) waitCaughtUp(pc *pushClient, topic string, queueIDs []int) {
	e.t.Helper()
	var last, want map[int]int64
	ok := testutil.Poll(consumeTimeout, func() bool {
		last = pc.offsets(topic)
		want = map[int]int64{}
		for _, q := range queueIDs {
			want[q] = max(e.c.MaxOffset(e.t, topic, q), acked.max(topic, q))
		}
		if len(last) != len(want) {
			return false
		}
		for q, max := range want {
			if off, ok := last[q]; !ok || off != max {
				return false
			}
		}
		return true
	})

	if !ok {
		e.t.Fatalf("consumer %s did not catch up on %s: offsets %v, broker max offsets %v", pc.id, topic, last, want)
	}
}

// queueIDs returns 0, 1, ..., n-1.
func queueIDs(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	return ids
}

// inbox collects what a consumer callback receives.
type inbox struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
	// timeout bounds wait; consumeTimeout when zero.
	timeout time.Duration
}

func (b *inbox) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	b.mu.Lock()
	b.msgs = append(b.msgs, msgs...)
	b.mu.Unlock()
	return consumer.ConsumeSuccess, nil
}

func (b *inbox) all() []*primitive.MessageExt {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*primitive.MessageExt(nil), b.msgs...)
}

// distinct returns one message per stored record (OffsetMsgId: store host and
// commitlog offset), ordered by queue id and queue offset, and how many deliveries
// were duplicates.
func (b *inbox) distinct() (msgs []*primitive.MessageExt, dups int) {
	seen := map[string]bool{}
	for _, m := range b.all() {
		if seen[m.OffsetMsgId] {
			dups++
			continue
		}
		seen[m.OffsetMsgId] = true
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool {
		if msgs[i].Queue.QueueId != msgs[j].Queue.QueueId {
			return msgs[i].Queue.QueueId < msgs[j].Queue.QueueId
		}
		return msgs[i].QueueOffset < msgs[j].QueueOffset
	})
	return msgs, dups
}

// wait waits until the inbox holds at least n distinct messages and returns them.
func (b *inbox) wait(t testing.TB, n int) []*primitive.MessageExt {
	t.Helper()
	timeout := b.timeout
	if timeout == 0 {
		timeout = consumeTimeout
	}
	var got []*primitive.MessageExt
	ok := testutil.Poll(timeout, func() bool {
		got, _ = b.distinct()
		return len(got) >= n
	})

	if !ok {
		t.Fatalf("received %d distinct messages within %v, want %d: %s", len(got), timeout, n, describe(got))
	}
	return got
}

// describe renders messages compactly for failure messages.
func describe(msgs []*primitive.MessageExt) string {
	s := ""
	for i, m := range msgs {
		if i == 20 {
			s += fmt.Sprintf(" ... (%d more)", len(msgs)-i)
			break
		}
		s += fmt.Sprintf(" [q%d@%d %q tags=%q]", m.Queue.QueueId, m.QueueOffset, m.Body, m.GetTags())
	}
	return s
}

// byBody indexes messages by body; a body seen twice fails the test.
func byBody(t testing.TB, msgs []*primitive.MessageExt) map[string]*primitive.MessageExt {
	t.Helper()
	out := make(map[string]*primitive.MessageExt, len(msgs))
	for _, m := range msgs {
		if prev, dup := out[string(m.Body)]; dup {
			t.Fatalf("body %q stored twice: q%d@%d and q%d@%d", m.Body, prev.Queue.QueueId, prev.QueueOffset, m.Queue.QueueId, m.QueueOffset)
		}
		out[string(m.Body)] = m
	}
	return out
}

// message builds a message whose body names the test, a batch and an index, so every
// body in a test is unique and says where it came from.
func message(topic, batch string, i int) *primitive.Message {
	m := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s-%s-%03d", topic, batch, i)))
	m.WithProperty("seq", strconv.Itoa(i))
	m.WithProperty("batch", batch)
	return m
}

// ackLog remembers, per topic and queue, the max offset the acknowledged sends imply
// (the last acknowledged offset + 1). Topic names are unique per test.
type ackLog struct {
	mu sync.Mutex
	m  map[string]map[int]int64
}

var acked = &ackLog{m: map[string]map[int]int64{}}

func (a *ackLog) record(res *primitive.SendResult, count int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	qs := a.m[res.MessageQueue.Topic]
	if qs == nil {
		qs = map[int]int64{}
		a.m[res.MessageQueue.Topic] = qs
	}
	if end := res.QueueOffset + int64(count); end > qs[res.MessageQueue.QueueId] {
		qs[res.MessageQueue.QueueId] = end
	}
}

func (a *ackLog) max(topic string, queueID int) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[topic][queueID]
}

// sendSync sends msgs (one message, or a batch) and requires SEND_OK.
func sendSync(t testing.TB, p rocketmq.Producer, msgs ...*primitive.Message) *primitive.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	res, err := p.SendSync(ctx, msgs...)
	if err != nil {
		t.Fatalf("send to %s: %v", msgs[0].Topic, err)
	}
	if res.Status != primitive.SendOK {
		t.Fatalf("send to %s: status %v, want SEND_OK (%+v)", msgs[0].Topic, res.Status, res)
	}
	if res.MessageQueue != nil {
		acked.record(res, len(msgs))
	}
	return res
}

// sendN sends n single messages of batch synchronously and returns their results in
// order.
func sendN(t testing.TB, p rocketmq.Producer, topic, batch string, n int) []*primitive.SendResult {
	t.Helper()
	out := make([]*primitive.SendResult, n)
	for i := 0; i < n; i++ {
		out[i] = sendSync(t, p, message(topic, batch, i))
	}
	return out
}

// bodies returns the set of message bodies.
func bodies(msgs []*primitive.MessageExt) map[string]bool {
	out := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		out[string(m.Body)] = true
	}
	return out
}

// wantBodies returns the bodies message(topic, batch, i) has for i in [0, n).
func wantBodies(topic, batch string, n int) map[string]bool {
	out := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		out[string(message(topic, batch, i).Body)] = true
	}
	return out
}

// sameSet reports the differences between got and want as "missing" and "unexpected".
func sameSet(got, want map[string]bool) (missing, unexpected []string) {
	for b := range want {
		if !got[b] {
			missing = append(missing, b)
		}
	}
	for b := range got {
		if !want[b] {
			unexpected = append(unexpected, b)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	return missing, unexpected
}

// requireSet fails the test unless got equals want exactly.
func requireSet(t testing.TB, what string, got, want map[string]bool) {
	t.Helper()
	missing, unexpected := sameSet(got, want)
	if len(missing) > 0 || len(unexpected) > 0 {
		t.Fatalf("%s: %d missing %v, %d unexpected %v", what, len(missing), missing, len(unexpected), unexpected)
	}
}
