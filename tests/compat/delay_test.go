package compat_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// shortLevels makes delay levels short enough for tests: level n waits n × 500 ms
// (levels 3 and up, which retries use, 1.5 s).
var shortLevels = cluster.WithBrokerOptions(func(o *broker.Options) { o.MessageDelayLevel = "500ms 1s 1500ms" })

// arrivals records when each message body arrived.
type arrivals struct {
	mu   sync.Mutex
	at   map[string]time.Time
	msgs map[string]*primitive.MessageExt
}

func newArrivals() *arrivals {
	return &arrivals{at: map[string]time.Time{}, msgs: map[string]*primitive.MessageExt{}}
}

func (a *arrivals) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range msgs {
		if _, seen := a.at[string(m.Body)]; !seen {
			a.at[string(m.Body)] = time.Now()
			a.msgs[string(m.Body)] = m
		}
	}
	return consumer.ConsumeSuccess, nil
}

// wait waits until every body has arrived and returns their arrival times.
func (a *arrivals) wait(t *testing.T, timeout time.Duration, bodies ...string) map[string]time.Time {
	t.Helper()
	ok := testutil.Poll(timeout, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, b := range bodies {
			if _, ok := a.at[b]; !ok {
				return false
			}
		}
		return true
	})

	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		t.Fatalf("arrived %d of %v within %v", len(a.at), bodies, timeout)
	}
	out := make(map[string]time.Time, len(bodies))
	for _, b := range bodies {
		out[b] = a.at[b]
	}
	return out
}

// TestDelayLevelArrivesAfterDelay sends messages with the official client's
// WithDelayTimeLevel and a RocketMQ 5 timer property, and checks that each reaches the
// consumer no earlier than its delay after the send, intact, and that a plain message
// sent at the same time arrives first.
func TestDelayLevelArrivesAfterDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shortLevels)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 2)
	got := newArrivals()
	pc, err := consumer.NewPushConsumer(
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(e.name("CG")),
		consumer.WithInstance(e.instance()),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{}, got.handle); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })

	p := e.producer()
	plain := primitive.NewMessage(topic, []byte("plain"))
	level2 := primitive.NewMessage(topic, []byte("level2")).WithDelayTimeLevel(2).WithTag("d")
	level3 := primitive.NewMessage(topic, []byte("level3")).WithDelayTimeLevel(3)
	timer := primitive.NewMessage(topic, []byte("timer"))
	timer.WithProperty("TIMER_DELAY_MS", "1200")
	sent := map[string]time.Time{}
	var ids = map[string]string{}
	for _, m := range []*primitive.Message{level3, level2, timer, plain} {
		sent[string(m.Body)] = time.Now()
		ids[string(m.Body)] = sendSync(t, p, m).MsgID
	}
	at := got.wait(t, consumeTimeout, "plain", "level2", "level3", "timer")
	for body, want := range map[string]time.Duration{"level2": time.Second, "level3": 1500 * time.Millisecond, "timer": 1200 * time.Millisecond} {
		if el := at[body].Sub(sent[body]); el < want {
			t.Errorf("%s arrived %v after its send, before its %v delay", body, el, want)
		} else {
			t.Logf("%s arrived %v after its send (delay %v)", body, el.Round(time.Millisecond), want)
		}
	}
	if !at["plain"].Before(at["level2"]) {
		t.Errorf("the plain message arrived after the delayed ones")
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	m := got.msgs["level2"]
	if m.Topic != topic || m.GetTags() != "d" || m.MsgId != ids["level2"] || m.GetProperty("DELAY") != "" {
		t.Errorf("delayed message topic %q tags %q id %s (sent %s) props %v", m.Topic, m.GetTags(), m.MsgId, ids["level2"], m.GetProperties())
	}
	if rt := m.GetProperty("REAL_TOPIC"); rt != topic {
		t.Errorf("REAL_TOPIC %q, want %q", rt, topic)
	}
}
