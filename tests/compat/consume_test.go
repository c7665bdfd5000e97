package compat_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/rocketgo/rocketgo/internal/testutil"
)

// A push consumer started before the messages gets every one of them, woken by long
// polling, with body, flag, tags, keys and user properties intact — including a body
// large enough for the producer to compress (≥ 4 KiB, zlib, sysflag bit 0).
func TestPushConsumerReceivesEverything(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 4)
	box := &inbox{}
	e.pushConsumer(e.name("CG"), topic, "*", consumer.ConsumeFromLastOffset, box)
	p := e.producer()

	const n = 20
	sent := make([]*primitive.Message, n)
	results := make([]*primitive.SendResult, n)
	for i := range sent {
		m := message(topic, "push", i)
		if i == 7 {
			m.Body = []byte(strings.Repeat(fmt.Sprintf("large body %s %d|", topic, i), 800))
		}
		m.WithTag(fmt.Sprintf("t%d", i%4))
		m.WithKeys([]string{fmt.Sprintf("order-%d", i), fmt.Sprintf("user-%d", i%5)})
		m.WithProperty("unicode", "wert-värde-值")
		m.WithProperty("empty-looking", " ")
		m.Flag = int32(1000 + i)
		sent[i] = m
		results[i] = sendSync(t, p, m)
	}
	got := byBody(t, box.wait(t, n))
	for i, m := range sent {
		g := got[string(m.Body)]
		if g == nil {
			t.Fatalf("message %d not delivered", i)
		}
		checkDelivered(t, e, g, m, results[i])
		if g.GetKeys() != fmt.Sprintf("order-%d user-%d", i, i%5) {
			t.Fatalf("message %d: KEYS %q", i, g.GetKeys())
		}
	}
	if g := got[string(sent[7].Body)]; int(g.SysFlag)&primitive.CompressedFlag == 0 || len(g.Body) < 4096 {
		t.Fatalf("large message: sysflag %#x, body %d bytes; want the compressed flag and the inflated body", g.SysFlag, len(g.Body))
	}
	if _, dups := box.distinct(); dups != 0 {
		t.Fatalf("%d duplicate deliveries to a single consumer with no failures", dups)
	}
}

// Two consumers of one group split a 4-queue topic 2 + 2 (AllocateByAveragely), each
// receives only its own queues' messages, and together they receive all of them. The
// second consumer's heartbeat makes the broker send NOTIFY_CONSUMER_IDS_CHANGED (40) to
// the first, which is what lets the split settle without the client's 20 s timer.
func TestTwoConsumersSplitQueues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	group := e.name("CG")
	e.c.CreateTopic(t, topic, 4)

	box1, box2 := &inbox{}, &inbox{}
	c1 := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box1)
	testutil.Eventually(t, settleTimeout, "the first consumer to own all 4 queues", func() bool { return len(c1.queues(topic)) == 4 })
	began := time.Now()
	c2 := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box2)

	var q1, q2 []int
	ok := testutil.Poll(settleTimeout, func() bool {
		q1, q2 = c1.queues(topic), c2.queues(topic)
		if len(q1) != 2 || len(q2) != 2 {
			return false
		}
		seen := map[int]bool{}
		for _, q := range append(append([]int{}, q1...), q2...) {
			seen[q] = true
		}
		return len(seen) == 4
	})

	if !ok {
		t.Fatalf("queues did not split 2+2 within %v: first %v, second %v; broker lists consumers %v",
			settleTimeout, q1, q2, e.c.ConsumerIDs(t, group))
	}
	settled := time.Since(began)
	t.Logf("rebalance settled in %v: %s owns %v, %s owns %v", settled.Round(time.Millisecond), c1.id, q1, c2.id, q2)
	if ids := e.c.ConsumerIDs(t, group); len(ids) != 2 {
		t.Fatalf("broker lists consumers %v, want 2", ids)
	}
	if notified := clientLog.withAll(began, "receive broker's notification", "consumerGroup="+group); len(notified) == 0 {
		t.Errorf("no NOTIFY_CONSUMER_IDS_CHANGED reached the first consumer; the split took %v (the 20 s rebalance timer)", settled)
	}

	p := e.producer()
	const n = 40
	results := sendN(t, p, topic, "split", n)
	owner := map[int]int{}
	for _, q := range q1 {
		owner[q] = 1
	}
	for _, q := range q2 {
		owner[q] = 2
	}
	want1, want2 := map[string]bool{}, map[string]bool{}
	for i, r := range results {
		body := string(message(topic, "split", i).Body)
		if owner[r.MessageQueue.QueueId] == 1 {
			want1[body] = true
		} else {
			want2[body] = true
		}
	}
	if len(want1) == 0 || len(want2) == 0 {
		t.Fatalf("sends did not reach both consumers' queues: %d and %d", len(want1), len(want2))
	}
	e.waitCaughtUp(c1, topic, q1)
	e.waitCaughtUp(c2, topic, q2)
	got1, dups1 := box1.distinct()
	got2, dups2 := box2.distinct()
	requireSet(t, "first consumer's messages", bodies(got1), want1)
	requireSet(t, "second consumer's messages", bodies(got2), want2)
	if dups1+dups2 != 0 {
		t.Fatalf("duplicate deliveries: %d and %d", dups1, dups2)
	}
}

// A consumer that is shut down commits its offsets (UPDATE_CONSUMER_OFFSET); a new
// consumer of the group continues from them: it gets every message sent while the group
// was away and none of those consumed before.
func TestConsumerRestartResumesFromCommittedOffset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	group := e.name("CG")
	const queues = 4
	e.c.CreateTopic(t, topic, queues)
	p := e.producer()

	box1 := &inbox{}
	c1 := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box1)
	const n1, n2 = 16, 12
	sendN(t, p, topic, "before", n1)
	box1.wait(t, n1)
	e.waitCaughtUp(c1, topic, queueIDs(queues))
	c1.stop()
	waitCommitted(t, e, group, topic, queues)

	sendN(t, p, topic, "after", n2)
	// CONSUME_FROM_FIRST_OFFSET applies only to a group without committed offsets; were
	// the committed offsets lost, this consumer would re-read the first batch.
	box2 := &inbox{}
	e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box2)
	got := box2.wait(t, n2)
	_, dups := box2.distinct()
	old := 0
	for _, m := range got {
		if m.GetProperty("batch") == "before" {
			old++
		}
	}
	t.Logf("restarted consumer: %d messages, %d of them consumed before the restart, %d duplicate deliveries", len(got), old, dups)
	if old != 0 || dups != 0 {
		t.Fatalf("restarted consumer re-read %d already committed messages (%d duplicate deliveries): %s", old, dups, describe(got))
	}
	requireSet(t, "messages after the restart", bodies(got), wantBodies(topic, "after", n2))
}

// waitCommitted waits until the broker holds, for every queue, a committed offset equal
// to the queue's max offset: the group has consumed everything and said so.
func waitCommitted(t *testing.T, e *env, group, topic string, queues int) {
	t.Helper()
	var got, want map[int]int64
	ok := testutil.Poll(consumeTimeout, func() bool {
		got, want = map[int]int64{}, map[int]int64{}
		done := true
		for q := 0; q < queues; q++ {
			off, ok := e.c.ConsumerOffset(t, group, topic, q)
			if ok {
				got[q] = off
			}
			want[q] = max(e.c.MaxOffset(t, topic, q), acked.max(topic, q))
			if !ok || off != want[q] {
				done = false
			}
		}
		return done
	})

	if !ok {
		t.Fatalf("committed offsets of %s on %s: broker has %v, want the max offsets %v", group, topic, got, want)
	}
}

// A broker restart (clean shutdown, same store directory and port) keeps messages,
// topics and committed offsets: producers and consumers carry on, nothing is lost and
// nothing committed is delivered again.
func TestBrokerRestartKeepsMessagesAndOffsets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	group := e.name("CG")
	const queues = 2
	e.c.CreateTopic(t, topic, queues)
	p := e.producer()

	const n1, n2 = 10, 10
	sendN(t, p, topic, "before", n1)
	box1 := &inbox{}
	c1 := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box1)
	box1.wait(t, n1)
	e.waitCaughtUp(c1, topic, queueIDs(queues))
	c1.stop()
	waitCommitted(t, e, group, topic, queues)
	before := map[int]int64{}
	for q := 0; q < queues; q++ {
		before[q] = e.c.MaxOffset(t, topic, q)
	}

	e.c.Restart(t)
	e.c.WaitRoute(t, topic, 0)
	for q := 0; q < queues; q++ {
		if max := e.c.MaxOffset(t, topic, q); max != before[q] {
			t.Fatalf("queue %d max offset %d after restart, %d before", q, max, before[q])
		}
		if off, ok := e.c.ConsumerOffset(t, group, topic, q); !ok || off != before[q] {
			t.Fatalf("queue %d committed offset %d (found %v) after restart, want %d", q, off, ok, before[q])
		}
	}

	// The same producer object: its connection to the broker died with the restart.
	var results []*primitive.SendResult
	for i := 0; i < n2; i++ {
		results = append(results, sendSync(t, p, message(topic, "after", i)))
	}
	for _, r := range results {
		if r.QueueOffset < before[r.MessageQueue.QueueId] {
			t.Fatalf("after restart a send got q%d@%d, below the queue's pre-restart max %d", r.MessageQueue.QueueId,
				r.QueueOffset, before[r.MessageQueue.QueueId])
		}
	}
	box2 := &inbox{}
	e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box2)
	got := box2.wait(t, n2)
	requireSet(t, "group's messages after the broker restart", bodies(got), wantBodies(topic, "after", n2))

	// Everything from before the restart is still readable from the start.
	all := consumeAll(t, e, topic, n1+n2)
	want := wantBodies(topic, "before", n1)
	for b := range wantBodies(topic, "after", n2) {
		want[b] = true
	}
	requireSet(t, "all messages after the broker restart", bodies(all), want)
}

// A subscription "a || b" delivers exactly the messages tagged a or b: not c, not
// untagged ones. (The client re-filters by tag after every pull, so this proves the
// end result; that the broker filters too is visible in its pull responses' sizes.)
func TestTagSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	const queues = 2
	e.c.CreateTopic(t, topic, queues)
	box := &inbox{}
	pc := e.pushConsumer(e.name("CG"), topic, "a || b", consumer.ConsumeFromFirstOffset, box)
	p := e.producer()

	want := map[string]bool{}
	tags := []string{"a", "b", "c", "", "ab", "A", "b"}
	for i := 0; i < 28; i++ {
		m := message(topic, "tags", i)
		tag := tags[i%len(tags)]
		if tag != "" {
			m.WithTag(tag)
		}
		sendSync(t, p, m)
		if tag == "a" || tag == "b" {
			want[string(m.Body)] = true
		}
	}
	// End every queue with a matching message. A consumer's offset moves past filtered
	// messages at the end of a queue only when a long-polled pull expires (20 s); past
	// filtered messages followed by a delivered one it moves at once.
	for i := 0; i < queues; i++ {
		m := message(topic, "tail", i)
		m.WithTag("b")
		sendSync(t, p, m)
		want[string(m.Body)] = true
	}
	e.waitCaughtUp(pc, topic, queueIDs(queues))
	got, _ := box.distinct()
	requireSet(t, `messages for "a || b"`, bodies(got), want)
	for _, m := range got {
		if tg := m.GetTags(); tg != "a" && tg != "b" {
			t.Fatalf("delivered tag %q", tg)
		}
	}
}

// A message the callback answers ConsumeRetryLater goes back to the broker
// (CONSUMER_SEND_MSG_BACK, 36), through %RETRY%group and delay level 3 (10 s), and is
// delivered again with reconsumeTimes 1 and its original body, properties and msgId.
func TestConsumeRetryLaterRedelivers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 2)

	var mu sync.Mutex
	var attempts []*primitive.MessageExt
	var times []time.Time
	handler := func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			if m.GetProperty("batch") != "retry" {
				continue
			}
			attempts = append(attempts, m)
			times = append(times, time.Now())
			if len(attempts) == 1 {
				return consumer.ConsumeRetryLater, nil
			}
		}
		return consumer.ConsumeSuccess, nil
	}
	pc, err := consumer.NewPushConsumer(
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(e.name("CG")),
		consumer.WithInstance(e.instance()),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{}, handler); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })

	p := e.producer()
	sent := message(topic, "retry", 0)
	sent.WithTag("r")
	res := sendSync(t, p, sent)

	var first, second *primitive.MessageExt
	var delay time.Duration
	ok := testutil.Poll(60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) >= 2 {
			first, second = attempts[0], attempts[1]
			delay = times[1].Sub(times[0])
			return true
		}
		return false
	})

	if !ok {
		mu.Lock()
		n := len(attempts)
		mu.Unlock()
		t.Fatalf("message delivered %d time(s) within 60 s after ConsumeRetryLater, want a redelivery", n)
	}
	if first.ReconsumeTimes != 0 || second.ReconsumeTimes != 1 {
		t.Fatalf("reconsume times %d then %d, want 0 then 1", first.ReconsumeTimes, second.ReconsumeTimes)
	}
	if string(second.Body) != string(sent.Body) || second.GetTags() != "r" || second.GetProperty("seq") != "0" {
		t.Fatalf("redelivered message %q tags %q props %v", second.Body, second.GetTags(), second.GetProperties())
	}
	if second.MsgId != res.MsgID {
		t.Fatalf("redelivered msgId %s, want the original %s", second.MsgId, res.MsgID)
	}
	if second.Topic != topic {
		t.Fatalf("redelivered topic %q, want %q (the client restores it from RETRY_TOPIC)", second.Topic, topic)
	}
	t.Logf("redelivered %v after the first attempt (delay level 3 is 10 s)", delay.Round(100*time.Millisecond))
	// The retry message is stored after the first attempt and becomes due 10 s after it
	// was stored; a second's slack covers clock granularity.
	if delay < 9*time.Second {
		t.Fatalf("redelivered after %v, before delay level 3 (10 s) was due", delay)
	}
}
