package compat_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// offsetMsgID is the broker's offset message id for IPv4: store IP, port and commitlog
// offset as 32 upper-case hex digits (docs/protocol.md §5.1).
var offsetMsgID = regexp.MustCompile(`^[0-9A-F]{32}$`)

// checkSendResult checks what the client made of a SEND response.
func checkSendResult(t *testing.T, e *env, topic string, res *primitive.SendResult) {
	t.Helper()
	if res.MessageQueue == nil || res.MessageQueue.Topic != topic || res.MessageQueue.BrokerName != e.c.BrokerName() {
		t.Fatalf("send result queue %+v, want topic %s on %s", res.MessageQueue, topic, e.c.BrokerName())
	}
	if !offsetMsgID.MatchString(res.OffsetMsgID) {
		t.Fatalf("send result offset msgId %q, want 32 upper-case hex digits", res.OffsetMsgID)
	}
	id, err := primitive.UnmarshalMsgID([]byte(res.OffsetMsgID))
	if err != nil {
		t.Fatalf("offset msgId %q: %v", res.OffsetMsgID, err)
	}
	if want := e.c.BrokerAddr(); fmt.Sprintf("%s:%d", id.Addr, id.Port) != want {
		t.Fatalf("offset msgId %q names store host %s:%d, want %s", res.OffsetMsgID, id.Addr, id.Port, want)
	}
}

// checkDelivered compares a consumed message with what was sent and acknowledged.
func checkDelivered(t *testing.T, e *env, got *primitive.MessageExt, sent *primitive.Message, res *primitive.SendResult) {
	t.Helper()
	where := fmt.Sprintf("message %q", sent.Body)
	if string(got.Body) != string(sent.Body) {
		t.Fatalf("%s: body %q", where, got.Body)
	}
	if got.Topic != sent.Topic {
		t.Fatalf("%s: topic %q, want %q", where, got.Topic, sent.Topic)
	}
	if got.Flag != sent.Flag {
		t.Fatalf("%s: flag %d, want %d", where, got.Flag, sent.Flag)
	}
	for k, v := range sent.GetProperties() {
		if g := got.GetProperty(k); g != v {
			t.Fatalf("%s: property %s = %q, want %q (all: %v)", where, k, g, v, got.GetProperties())
		}
	}
	if c := got.GetProperty(primitive.PropertyCluster); c != e.c.ClusterName() {
		t.Fatalf("%s: property CLUSTER = %q, want the broker's cluster %q", where, c, e.c.ClusterName())
	}
	if res != nil {
		if got.Queue.QueueId != res.MessageQueue.QueueId || got.QueueOffset != res.QueueOffset {
			t.Fatalf("%s: delivered from q%d@%d, acknowledged as q%d@%d", where, got.Queue.QueueId, got.QueueOffset,
				res.MessageQueue.QueueId, res.QueueOffset)
		}
		if got.OffsetMsgId != res.OffsetMsgID {
			t.Fatalf("%s: offset msgId %s, acknowledged %s", where, got.OffsetMsgId, res.OffsetMsgID)
		}
		if res.MsgID != "" && got.MsgId != res.MsgID {
			t.Fatalf("%s: msgId (UNIQ_KEY) %s, acknowledged %s", where, got.MsgId, res.MsgID)
		}
		id, _ := primitive.UnmarshalMsgID([]byte(res.OffsetMsgID))
		if id != nil && got.CommitLogOffset != id.Offset {
			t.Fatalf("%s: commitlog offset %d, the acknowledged msgId says %d", where, got.CommitLogOffset, id.Offset)
		}
	}
	if got.StoreHost != e.c.BrokerAddr() {
		t.Fatalf("%s: store host %q, want %q", where, got.StoreHost, e.c.BrokerAddr())
	}
	if got.ReconsumeTimes != 0 {
		t.Fatalf("%s: reconsume times %d, want 0", where, got.ReconsumeTimes)
	}
	if got.BornTimestamp <= 0 || got.StoreTimestamp < got.BornTimestamp-1000 || got.StoreTimestamp > time.Now().UnixMilli()+1000 {
		t.Fatalf("%s: born %d, stored %d, now %d", where, got.BornTimestamp, got.StoreTimestamp, time.Now().UnixMilli())
	}
}

// consumeAll reads topic from the beginning with a push consumer of a new group and
// returns n distinct messages, ordered by queue and offset.
func consumeAll(t *testing.T, e *env, topic string, n int) []*primitive.MessageExt {
	t.Helper()
	box := &inbox{}
	e.pushConsumer(e.name("CG_verify"), topic, "*", consumer.ConsumeFromFirstOffset, box)
	got := box.wait(t, n)
	if len(got) != n {
		t.Fatalf("read %d distinct messages from %s, want %d: %s", len(got), topic, n, describe(got))
	}
	return got
}

// checkQueueOffsets requires the acknowledged queue offsets of each queue to be
// 0, 1, 2, ... in the order the sends were acknowledged.
func checkQueueOffsets(t *testing.T, results []*primitive.SendResult) {
	t.Helper()
	next := map[int]int64{}
	for i, r := range results {
		q := r.MessageQueue.QueueId
		if r.QueueOffset != next[q] {
			t.Fatalf("send %d: queue %d offset %d, want %d", i, q, r.QueueOffset, next[q])
		}
		next[q]++
	}
}

// A send to a topic nobody created goes through TBW102 (autoCreateTopicEnable): the
// broker creates the topic with min(4, 8) queues, registers it, and the messages are
// readable with everything the producer put in them.
func TestSendSyncAutoCreatesTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	p := e.producer()

	const n = 12
	sent := make([]*primitive.Message, n)
	results := make([]*primitive.SendResult, n)
	for i := range sent {
		m := message(topic, "sync", i)
		m.WithTag(fmt.Sprintf("tag%d", i%3))
		m.WithKeys([]string{fmt.Sprintf("key-%d", i), "common"})
		m.Flag = int32(i)
		sent[i] = m
		results[i] = sendSync(t, p, m)
		checkSendResult(t, e, topic, results[i])
	}
	checkQueueOffsets(t, results)

	route := e.c.WaitRoute(t, topic, 0)
	q, _ := route.Queue(e.c.BrokerName())
	if q.ReadQueueNums != 4 || q.WriteQueueNums != 4 || q.Perm != 6 {
		t.Fatalf("auto-created topic route %+v, want 4 read and 4 write queues with perm 6", q)
	}
	used := map[int]bool{}
	for _, r := range results {
		used[r.MessageQueue.QueueId] = true
	}
	if len(used) != 4 {
		t.Fatalf("12 sends used queues %v, want all 4 (the client round-robins)", used)
	}

	got := byBody(t, consumeAll(t, e, topic, n))
	for i, m := range sent {
		checkDelivered(t, e, got[string(m.Body)], m, results[i])
	}
}

// SendAsync hands every acknowledgement to its callback exactly once.
func TestSendAsync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 4)
	p := e.producer()

	type outcome struct {
		i   int
		res *primitive.SendResult
		err error
	}
	const n = 24
	done := make(chan outcome, n)
	sent := make([]*primitive.Message, n)
	for i := range sent {
		sent[i] = message(topic, "async", i)
		i := i
		err := p.SendAsync(context.Background(), func(_ context.Context, res *primitive.SendResult, err error) {
			done <- outcome{i, res, err}
		}, sent[i])
		if err != nil {
			t.Fatalf("send async %d: %v", i, err)
		}
	}
	results := make([]*primitive.SendResult, n)
	deadline := time.NewTimer(sendTimeout)
	defer deadline.Stop()
	for k := 0; k < n; k++ {
		select {
		case o := <-done:
			if o.err != nil {
				t.Fatalf("async send %d failed: %v", o.i, o.err)
			}
			if o.res.Status != primitive.SendOK {
				t.Fatalf("async send %d: status %v", o.i, o.res.Status)
			}
			if results[o.i] != nil {
				t.Fatalf("async send %d: callback called twice", o.i)
			}
			checkSendResult(t, e, topic, o.res)
			results[o.i] = o.res
		case <-deadline.C:
			t.Fatalf("%d of %d async callbacks within %v", k, n, sendTimeout)
		}
	}
	// Concurrent sends may be stored in any order, but each queue's offsets must be
	// exactly 0..k-1, every one used once.
	perQueue := map[int][]int64{}
	for _, r := range results {
		perQueue[r.MessageQueue.QueueId] = append(perQueue[r.MessageQueue.QueueId], r.QueueOffset)
	}
	for q, offs := range perQueue {
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("queue %d acknowledged offsets %v, want 0..%d", q, offs, len(offs)-1)
			}
		}
	}

	got := byBody(t, consumeAll(t, e, topic, n))
	for i, m := range sent {
		checkDelivered(t, e, got[string(m.Body)], m, results[i])
	}
}

// SendOneWay gets no acknowledgement; the messages are verified by reading them.
func TestSendOneway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 2)
	p := e.producer()

	const n = 10
	sent := make([]*primitive.Message, n)
	for i := range sent {
		sent[i] = message(topic, "oneway", i)
		sent[i].WithTag("ow")
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		err := p.SendOneWay(ctx, sent[i])
		cancel()
		if err != nil {
			t.Fatalf("send oneway %d: %v", i, err)
		}
	}
	got := byBody(t, consumeAll(t, e, topic, n))
	for _, m := range sent {
		checkDelivered(t, e, got[string(m.Body)], m, nil)
	}
	requireSet(t, "oneway messages", bodies(mapValues(got)), wantBodies(topic, "oneway", n))
}

func mapValues(m map[string]*primitive.MessageExt) []*primitive.MessageExt {
	out := make([]*primitive.MessageExt, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Several messages in one SendSync travel as SEND_BATCH_MESSAGE (320): they land in one
// queue with consecutive offsets, the response lists one offset msgId per message, and
// each keeps its own body, tags and properties. The client adds no UNIQ_KEY to batched
// messages, so their msgId is the offset msgId.
func TestSendBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 4)
	p := e.producer()

	batches := [][]*primitive.Message{}
	results := []*primitive.SendResult{}
	for b, size := range []int{5, 3, 7} {
		var msgs []*primitive.Message
		for i := 0; i < size; i++ {
			m := message(topic, fmt.Sprintf("batch%d", b), i)
			m.WithTag(fmt.Sprintf("b%d", b))
			m.WithKeys([]string{fmt.Sprintf("k%d-%d", b, i)})
			msgs = append(msgs, m)
		}
		res := sendSync(t, p, msgs...)
		if res.MessageQueue == nil || res.MessageQueue.Topic != topic {
			t.Fatalf("batch %d: result queue %+v", b, res.MessageQueue)
		}
		ids := strings.Split(res.OffsetMsgID, ",")
		if len(ids) != size {
			t.Fatalf("batch %d of %d: response msgId %q has %d ids", b, size, res.OffsetMsgID, len(ids))
		}
		for _, id := range ids {
			if !offsetMsgID.MatchString(id) {
				t.Fatalf("batch %d: offset msgId %q in %q", b, id, res.OffsetMsgID)
			}
		}
		batches = append(batches, msgs)
		results = append(results, res)
	}

	total := 5 + 3 + 7
	got := byBody(t, consumeAll(t, e, topic, total))
	for b, msgs := range batches {
		res := results[b]
		ids := strings.Split(res.OffsetMsgID, ",")
		for i, m := range msgs {
			g := got[string(m.Body)]
			if g == nil {
				t.Fatalf("batch %d message %d (%q) not delivered", b, i, m.Body)
			}
			checkDelivered(t, e, g, m, nil)
			if g.Queue.QueueId != res.MessageQueue.QueueId || g.QueueOffset != res.QueueOffset+int64(i) {
				t.Fatalf("batch %d message %d at q%d@%d, want q%d@%d (first offset %d + index)", b, i,
					g.Queue.QueueId, g.QueueOffset, res.MessageQueue.QueueId, res.QueueOffset+int64(i), res.QueueOffset)
			}
			if g.OffsetMsgId != ids[i] || g.MsgId != ids[i] {
				t.Fatalf("batch %d message %d: offset msgId %s, msgId %s, want both %s", b, i, g.OffsetMsgId, g.MsgId, ids[i])
			}
		}
	}
}
