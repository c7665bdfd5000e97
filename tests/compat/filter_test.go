package compat_test

import (
	"fmt"
	"sort"
	"strconv"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// sentBodies sends n messages to topic, message i tagged tags[i%len(tags)] with
// property n=i, and returns nothing: the bodies are "<tag>-<i>".
func sendTagged(t *testing.T, e *env, topic string, n int, tags ...string) {
	t.Helper()
	p := e.producer()
	for i := 0; i < n; i++ {
		tag := tags[i%len(tags)]
		m := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s-%d", tag, i))).WithTag(tag)
		m.WithProperty("n", strconv.Itoa(i))
		m.WithProperty("even", strconv.FormatBool(i%2 == 0))
		sendSync(t, p, m)
	}
}

// bodiesSorted returns the distinct bodies received, sorted.
func bodiesSorted(msgs []*primitive.MessageExt) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	sort.Strings(out)
	return out
}

// TestTagFilterDeliversOnlyMatching subscribes with "a || c" and checks that exactly
// the messages tagged a and c arrive, and that the consumer moved past the others.
func TestTagFilterDeliversOnlyMatching(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 2)
	box := &inbox{}
	pc := e.pushConsumer(e.name("CG"), topic, "a || c", consumer.ConsumeFromFirstOffset, box)
	sendTagged(t, e, topic, 12, "a", "b", "c")
	e.waitCaughtUp(pc, topic, queueIDs(2))
	got, dups := box.distinct()
	want := []string{"a-0", "a-3", "a-6", "a-9", "c-2", "c-5", "c-8", "c-11"}
	sort.Strings(want)
	if fmt.Sprint(bodiesSorted(got)) != fmt.Sprint(want) || dups != 0 {
		t.Fatalf("received %v (%d duplicates), want %v", bodiesSorted(got), dups, want)
	}
}

// TestSQL92FilterOfficialClient subscribes with the official client's SQL92 selector
// (registered by heartbeat; the push consumer's pulls carry no expression) against a
// broker with enablePropertyFilter, and checks that exactly the matching messages
// arrive.
func TestSQL92FilterOfficialClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, cluster.WithBrokerOptions(func(o *broker.Options) { o.EnablePropertyFilter = true }))
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 2)
	box := &inbox{}
	pc, err := consumer.NewPushConsumer(
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(e.name("CG")),
		consumer.WithInstance(e.instance()),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	sel := consumer.MessageSelector{Type: consumer.SQL92, Expression: "n >= 4 AND (even = TRUE OR TAGS = 'b')"}
	if err := pc.Subscribe(topic, sel, box.handle); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	sendTagged(t, e, topic, 10, "a", "b")
	// n >= 4 and (even, or tagged b — the odd ones): all of 4..9.
	got := box.wait(t, 6)
	want := []string{"a-4", "a-6", "a-8", "b-5", "b-7", "b-9"}
	if fmt.Sprint(bodiesSorted(got)) != fmt.Sprint(want) {
		t.Fatalf("received %v, want %v", bodiesSorted(got), want)
	}
}
