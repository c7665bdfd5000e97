package compat_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
)

// This file checks rocketgo's own SDK against the official Go client v2.1.2 through a
// rocketgo broker: messages produced by one and consumed by the other keep their
// contents, mixed consumer groups split queues exactly as RocketMQ's averaging does, and
// orderly traffic stays in order whichever side produces it.

// ourPush starts a rocketgo push consumer; t.Cleanup shuts it down.
func (e *env) ourPush(group, topic string, sel client.MessageSelector, l client.Listener, opts ...client.PushConsumerOption) *client.PushConsumer {
	e.t.Helper()
	all := append([]client.PushConsumerOption{
		client.WithNameServer(e.c.NamesrvAddr()),
		client.WithInstanceName(e.instance()),
		client.WithConsumerGroup(group),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset),
		client.WithRebalanceInterval(time.Second),
		client.WithCommitInterval(500 * time.Millisecond),
		client.WithPullTimeouts(2*time.Second, 5*time.Second),
	}, opts...)
	pc, err := client.NewPushConsumer(all...)
	if err != nil {
		e.t.Fatalf("new rocketgo push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, sel, l); err != nil {
		e.t.Fatalf("rocketgo subscribe: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		e.t.Fatalf("start rocketgo push consumer: %v", err)
	}
	e.t.Cleanup(func() { _ = pc.Shutdown(context.Background()) })
	return pc
}

// ourProducer starts a rocketgo producer; t.Cleanup shuts it down.
func (e *env) ourProducer(opts ...client.ProducerOption) *client.Producer {
	e.t.Helper()
	all := append([]client.ProducerOption{
		client.WithNameServer(e.c.NamesrvAddr()),
		client.WithInstanceName(e.instance()),
		client.WithProducerGroup(e.name("RGPG")),
	}, opts...)
	p, err := client.NewProducer(all...)
	if err != nil {
		e.t.Fatalf("new rocketgo producer: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		e.t.Fatalf("start rocketgo producer: %v", err)
	}
	e.t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// ourBox collects what a rocketgo listener receives.
type ourBox struct {
	mu   sync.Mutex
	msgs []*client.MessageExt
}

func (b *ourBox) listen(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
	b.mu.Lock()
	b.msgs = append(b.msgs, msgs...)
	b.mu.Unlock()
	return client.ConsumeSuccess, nil
}

// byBody returns the received messages by body, counting duplicates.
func (b *ourBox) byBody() (map[string]*client.MessageExt, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]*client.MessageExt{}
	dups := 0
	for _, m := range b.msgs {
		if _, ok := out[string(m.Body)]; ok {
			dups++
			continue
		}
		out[string(m.Body)] = m
	}
	return out, dups
}

// TestInteropOfficialProducerToOurConsumer: messages sent by the official producer
// (single and batch) reach a rocketgo push consumer with topic, tags, keys, properties
// and flag intact, exactly once.
func TestInteropOfficialProducerToOurConsumer(t *testing.T) {
	e := newEnv(t)
	topic, group := e.name("T"), e.name("RGCG")
	e.c.CreateTopic(t, topic, 4)
	p := e.producer()
	const n = 40
	for i := 0; i < n; i++ {
		m := message(topic, "single", i).WithTag(fmt.Sprintf("tag%d", i%2)).WithKeys([]string{"k" + strconv.Itoa(i)})
		m.Flag = int32(i)
		sendSync(t, p, m)
	}
	batch := []*primitive.Message{message(topic, "batch", 0), message(topic, "batch", 1), message(topic, "batch", 2)}
	sendSync(t, p, batch...)
	box := &ourBox{}
	e.ourPush(group, topic, client.SelectAll, box.listen)
	var got map[string]*client.MessageExt
	testutil.Eventually(t, consumeTimeout, "all messages at the rocketgo consumer", func() bool { got, _ = box.byBody(); return len(got) == n+3 })
	for i := 0; i < n; i++ {
		want := message(topic, "single", i)
		m := got[string(want.Body)]
		if m.Topic != topic || m.Tags() != fmt.Sprintf("tag%d", i%2) || m.Property("seq") != strconv.Itoa(i) ||
			m.Property("batch") != "single" || m.Flag != int32(i) || !slices.Equal(m.Keys(), []string{"k" + strconv.Itoa(i)}) {
			t.Errorf("%s: topic %q tags %q props %v flag %d keys %v", want.Body, m.Topic, m.Tags(), m.Properties(), m.Flag, m.Keys())
		}
		if m.MsgID == "" || m.MsgID != m.Property(client.PropertyUniqKey) {
			t.Errorf("%s: MsgID %q, UNIQ_KEY %q", want.Body, m.MsgID, m.Property(client.PropertyUniqKey))
		}
	}
	if _, dups := box.byBody(); dups != 0 {
		t.Errorf("%d duplicate deliveries", dups)
	}
}

// TestInteropOurProducerToOfficialConsumer: messages sent by the rocketgo producer
// (single, batch and compressed) reach an official push consumer intact.
func TestInteropOurProducerToOfficialConsumer(t *testing.T) {
	e := newEnv(t)
	topic, group := e.name("T"), e.name("CG")
	e.c.CreateTopic(t, topic, 4)
	p := e.ourProducer()
	const n = 30
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		m := client.NewMessage(topic, []byte(fmt.Sprintf("%s-ours-%03d", topic, i))).WithTags("t"+strconv.Itoa(i%3)).
			WithKeys("key"+strconv.Itoa(i)).WithProperty("seq", strconv.Itoa(i))
		if _, err := p.Send(ctx, m); err != nil {
			t.Fatalf("rocketgo send: %v", err)
		}
	}
	big := strings.Repeat("z", 10000) // over the 4 KiB compression threshold
	if _, err := p.Send(ctx, client.NewMessage(topic, []byte(topic+"-big-"+big))); err != nil {
		t.Fatalf("rocketgo send big: %v", err)
	}
	if _, err := p.Send(ctx, client.NewMessage(topic, []byte(topic+"-b0")), client.NewMessage(topic, []byte(topic+"-b1"))); err != nil {
		t.Fatalf("rocketgo batch send: %v", err)
	}
	box := &inbox{}
	e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box)
	got := byBody(t, box.wait(t, n+3))
	for i := 0; i < n; i++ {
		b := fmt.Sprintf("%s-ours-%03d", topic, i)
		m := got[b]
		if m == nil {
			t.Errorf("%s missing", b)
			continue
		}
		if m.GetTags() != "t"+strconv.Itoa(i%3) || m.GetKeys() != "key"+strconv.Itoa(i) || m.GetProperty("seq") != strconv.Itoa(i) {
			t.Errorf("%s: tags %q keys %q seq %q", b, m.GetTags(), m.GetKeys(), m.GetProperty("seq"))
		}
	}
	if got[topic+"-big-"+big] == nil {
		t.Error("compressed message not delivered (or not inflated) by the official consumer")
	}
	if got[topic+"-b0"] == nil || got[topic+"-b1"] == nil {
		t.Error("batch not delivered to the official consumer")
	}
}

// TestInteropMixedGroupSplitsQueues runs an official and a rocketgo consumer in one
// group: together they own every queue exactly once, each owns exactly what
// AllocateAveragely gives it over the broker's member list, and every message is
// consumed.
func TestInteropMixedGroupSplitsQueues(t *testing.T) {
	e := newEnv(t)
	topic, group := e.name("T"), e.name("MIX")
	const queues, n = 6, 60
	e.c.CreateTopic(t, topic, queues)
	// rocketgo's consumer starts first and owns every queue until the official one
	// joins. The first owner's long-polling pulls on the queues it then gives up stay
	// parked at the broker and are answered by the first messages sent: rocketgo's
	// consumer drops what they bring for a queue it no longer owns, the official client
	// (v2.1.2) was seen to consume it, a duplicate the test would report.
	ours := &ourBox{}
	pc := e.ourPush(group, topic, client.SelectAll, ours.listen)
	official := &inbox{}
	offc := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, official)

	var all []client.MessageQueue
	for q := int32(0); q < queues; q++ {
		all = append(all, client.MessageQueue{Topic: topic, BrokerName: e.c.BrokerName(), QueueID: q})
	}
	var wantOurs, wantOfficial []int
	testutil.Eventually(t, settleTimeout,

		"both members own their averaged share", func() bool {
			ids := e.c.ConsumerIDs(t, group)
			if len(ids) != 2 {
				return false
			}
			slices.Sort(ids)
			wantOurs = queueIDsOf(client.AllocateAveragely(group, pc.ClientID(), all, ids))
			var officialID string
			for _, id := range ids {
				if id != pc.ClientID() {
					officialID = id
				}
			}
			wantOfficial = queueIDsOf(client.AllocateAveragely(group, officialID, all, ids))
			var oursNow []int
			for _, q := range pc.Assignment() {
				if q.Topic == topic {
					oursNow = append(oursNow, int(q.QueueID))
				}
			}
			return slices.Equal(oursNow, wantOurs) && slices.Equal(offc.queues(topic), wantOfficial)
		})

	if len(wantOurs)+len(wantOfficial) != queues || len(wantOurs) == 0 || len(wantOfficial) == 0 {
		t.Fatalf("shares %v and %v do not split %d queues", wantOurs, wantOfficial, queues)
	}
	p := e.producer()
	sendN(t, p, topic, "mix", n)
	testutil.Eventually(t, consumeTimeout,

		"every message consumed by one of the two", func() bool {
			got, _ := ours.byBody()
			offGot, _ := official.distinct()
			return len(got)+len(offGot) >= n
		})

	got := map[string]bool{}
	oursGot, _ := ours.byBody()
	for b, m := range oursGot {
		got[b] = true
		if !slices.Contains(wantOurs, int(m.Queue.QueueID)) {
			t.Errorf("rocketgo consumer got %s from queue %d it does not own", b, m.Queue.QueueID)
		}
	}
	offGot, _ := official.distinct()
	for _, m := range offGot {
		if got[string(m.Body)] {
			t.Errorf("%s consumed by both members", m.Body)
		}
		got[string(m.Body)] = true
	}
	requireSet(t, "mixed group", got, wantBodies(topic, "mix", n))
}

// queueIDsOf returns the sorted queue ids of qs.
func queueIDsOf(qs []client.MessageQueue) []int {
	out := make([]int, 0, len(qs))
	for _, q := range qs {
		out = append(out, int(q.QueueID))
	}
	slices.Sort(out)
	return out
}

// TestInteropOrderly sends per-key sequences with each side's hash selector and
// consumes them orderly on the other side: official producer → rocketgo orderly
// consumer, rocketgo producer → official orderly consumer. Every key's messages arrive
// in send order.
func TestInteropOrderly(t *testing.T) {
	keys := []string{"k0", "k1", "k2", "k3", "k4"}
	const perKey = 20
	checkOrder := func(t *testing.T, seqs map[string][]int) {
		t.Helper()
		for _, k := range keys {
			s := seqs[k]
			if len(s) != perKey {
				t.Errorf("key %s: %d deliveries, want %d", k, len(s), perKey)
				continue
			}
			for i, v := range s {
				if v != i {
					t.Errorf("key %s out of order: %v", k, s)
					break
				}
			}
		}
	}
	parse := func(b []byte) (string, int) {
		parts := strings.Split(string(b), ":")
		n, _ := strconv.Atoi(parts[len(parts)-1])
		return parts[len(parts)-2], n
	}

	t.Run("official producer to rocketgo", func(t *testing.T) {
		e := newEnv(t)
		topic, group := e.name("T"), e.name("ORD")
		e.c.CreateTopic(t, topic, 4)
		p := e.producer(producer.WithQueueSelector(producer.NewHashQueueSelector()))
		for i := 0; i < perKey; i++ {
			for _, k := range keys {
				m := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s:%s:%d", topic, k, i)))
				m.WithShardingKey(k)
				sendSync(t, p, m)
			}
		}
		var mu sync.Mutex
		seqs := map[string][]int{}
		e.ourPush(group, topic, client.SelectAll, func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				k, n := parse(m.Body)
				seqs[k] = append(seqs[k], n)
			}
			return client.ConsumeSuccess, nil
		}, client.WithConsumeOrderly())
		testutil.Eventually(t, consumeTimeout,

			"every ordered message", func() bool {
				mu.Lock()
				defer mu.Unlock()
				c := 0
				for _, s := range seqs {
					c += len(s)
				}
				return c >= perKey*len(keys)
			})

		mu.Lock()
		defer mu.Unlock()
		checkOrder(t, seqs)
	})

	t.Run("rocketgo producer to official", func(t *testing.T) {
		e := newEnv(t)
		topic, group := e.name("T"), e.name("ORD")
		e.c.CreateTopic(t, topic, 4)
		p := e.ourProducer(client.WithQueueSelector(client.SelectByShardingKey()))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for i := 0; i < perKey; i++ {
			for _, k := range keys {
				m := client.NewMessage(topic, []byte(fmt.Sprintf("%s:%s:%d", topic, k, i))).WithShardingKey(k)
				if _, err := p.Send(ctx, m); err != nil {
					t.Fatalf("rocketgo send: %v", err)
				}
			}
		}
		box := &inbox{}
		e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box, consumer.WithConsumerOrder(true))
		box.wait(t, perKey*len(keys))
		seqs := map[string][]int{}
		for _, m := range box.all() {
			k, n := parse(m.Body)
			seqs[k] = append(seqs[k], n)
		}
		checkOrder(t, seqs)
	})
}
