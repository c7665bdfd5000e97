package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/admincli"
	"github.com/rocketgo/rocketgo/internal/testutil"
)

// mqadmin runs one mqadmin command in-process and requires exit status 0.
func mqadmin(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if code := admincli.Main(ctx, args, &out, &errb); code != 0 {
		t.Fatalf("mqadmin %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// sendSpaced sends bodies one by one, each in a later millisecond than the one before,
// so every message has its own store time.
func sendSpaced(t *testing.T, e *env, topic string, bodies ...string) {
	t.Helper()
	p := e.producer()
	for _, b := range bodies {
		now := time.Now().UnixMilli()
		testutil.Eventually(t, time.Second, "the next millisecond", func() bool { return time.Now().UnixMilli() > now })
		sendSync(t, p, primitive.NewMessage(topic, []byte(b)))
	}
}

// bodiesOfBox returns the bodies delivered to box from index from on, sorted.
func bodiesOfBox(box *inbox, from int) []string {
	var out []string
	for _, m := range box.all()[from:] {
		out = append(out, string(m.Body))
	}
	slices.Sort(out)
	return out
}

// TestOnlineResetMovesOfficialConsumer: mqadmin resetOffsetByTime on a group whose
// official push consumer runs makes the broker push RESET_CONSUMER_CLIENT_OFFSET (220);
// the consumer, without a restart, consumes again from the first message stored at or
// after the time. Then consumerStatus and getConsumerStatus show the consumer's own
// state (GET_CONSUMER_RUNNING_INFO relayed, GET_CONSUMER_STATUS_FROM_CLIENT through
// INVOKE_BROKER_TO_GET_CONSUMER_STATUS), and queryMsgById -g -d delivers one message
// straight to it (CONSUME_MESSAGE_DIRECTLY).
func TestOnlineResetMovesOfficialConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ns := e.c.NamesrvAddr()
	topic, group := e.name("T"), e.name("G")
	e.c.CreateTopic(t, topic, 1)
	sendSpaced(t, e, topic, "m0", "m1", "m2", "m3")
	box := &inbox{}
	pc := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box)
	got := box.wait(t, 4)
	waitCommitted(t, e, group, topic, 1)
	var ts int64
	for _, m := range got {
		if string(m.Body) == "m2" {
			ts = m.StoreTimestamp
		}
	}

	out := mqadmin(t, "resetOffsetByTime", "-n", ns, "-g", group, "-t", topic, "-s", fmt.Sprint(ts))
	wantLine := fmt.Sprintf("%-40s  %-40d  %-40d\n", "broker-a", 0, 2)
	if !strings.HasPrefix(out, "rollback consumer offset by specified group["+group+"]") || !strings.HasSuffix(out, wantLine) {
		t.Fatalf("resetOffsetByTime:\n%s", out)
	}
	// The Go client drops the queue, waits 10 s, then a rebalance (20 s) takes it again.
	if !testutil.Poll(settleTimeout, func() bool { return len(box.all()) >= 6 }) {
		t.Fatalf("after the reset the consumer got %s", describe(box.all()))
	}
	if again := bodiesOfBox(box, 4); !slices.Equal(again, []string{"m2", "m3"}) {
		t.Fatalf("re-consumed %q, want m2 and m3", again)
	}

	var ids []string
	if !testutil.Poll(10*time.Second, func() bool { ids = e.c.ConsumerIDs(t, group); return len(ids) == 1 }) {
		t.Fatalf("consumer ids of %s: %v", group, ids)
	}
	adm, err := client.NewAdmin(client.WithNameServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adm.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	info, err := adm.RunningInfo(ctx, group, ids[0])
	if err != nil {
		t.Fatalf("running info: %v", err)
	}
	subscribed := false
	for _, s := range info.SubscriptionSet {
		subscribed = subscribed || (s.Topic == topic && s.SubString == "*")
	}
	if !subscribed || info.Properties["PROP_CONSUME_TYPE"] != "CONSUME_PASSIVELY" {
		t.Errorf("running info: subscriptions %+v properties %v", info.SubscriptionSet, info.Properties)
	}
	status := mqadmin(t, "consumerStatus", "-n", ns, "-g", group, "-i", ids[0])
	if !strings.Contains(status, fmt.Sprintf("Topic: %-40s ClassFilter: false    SubExpression: *\n", topic)) {
		t.Errorf("consumerStatus -i:\n%s", status)
	}
	// The consumer's in-memory offset, through 223 → 221, is 4 once it caught up.
	var st map[string]map[client.MessageQueue]int64
	if !testutil.Poll(consumeTimeout, func() bool {
		st, err = adm.ConsumerStatus(ctx, group, topic, "")
		return err == nil && st[ids[0]][client.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: 0}] == 4
	}) {
		t.Fatalf("consumer status: %v %v", st, err)
	}
	out = mqadmin(t, "getConsumerStatus", "-n", ns, "-g", group, "-t", topic)
	if !strings.Contains(out, fmt.Sprintf("%-50s  %-15s  %-15d  %-20d\n", ids[0], "broker-a", 0, 4)) {
		t.Errorf("getConsumerStatus:\n%s", out)
	}

	// queryMsgById -g -d: the official consumer gets m1 once more, at once.
	var m1 string
	for _, m := range got {
		if string(m.Body) == "m1" {
			m1 = m.OffsetMsgId
		}
	}
	n := len(box.all())
	out = mqadmin(t, "queryMsgById", "-n", ns, "-i", m1, "-g", group, "-d", ids[0])
	if !strings.HasPrefix(out, "ConsumeMessageDirectlyResult [order=false, autoCommit=true, consumeResult=CR_SUCCESS") {
		t.Errorf("queryMsgById -g -d: %q", out)
	}
	if all := box.all(); len(all) != n+1 || string(all[n].Body) != "m1" {
		t.Errorf("direct delivery: %s", describe(all[n:]))
	}
	pc.stop()
}

// TestSkipAccumulatedLeavesNothingForOfficialConsumer: messages sent while the group's
// official consumer is down are skipped by mqadmin skipAccumulatedMessage (no live
// consumer: Apache's fallback rewrites the committed offset to the max); the lag is 0
// and the restarted consumer gets only what is sent afterwards.
func TestSkipAccumulatedLeavesNothingForOfficialConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ns := e.c.NamesrvAddr()
	topic, group := e.name("T"), e.name("G")
	e.c.CreateTopic(t, topic, 1)
	sendSpaced(t, e, topic, "first")
	box := &inbox{}
	pc := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box)
	box.wait(t, 1)
	waitCommitted(t, e, group, topic, 1)
	pc.stop()

	sendSpaced(t, e, topic, "old1", "old2", "old3")
	out := mqadmin(t, "skipAccumulatedMessage", "-n", ns, "-g", group, "-t", topic)
	want := fmt.Sprintf("%-20s  %-20d  %-20d  %-20d  %-20d  %-20d\n", "broker-a", 0, 4, 1, 4, 4)
	if !strings.HasSuffix(out, want) {
		t.Fatalf("skipAccumulatedMessage:\n%s\nwant the row %q", out, want)
	}
	adm, err := client.NewAdmin(client.WithNameServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adm.Close() })
	prog, err := adm.ConsumerProgress(context.Background(), group, topic)
	if err != nil || prog.TotalLag != 0 {
		t.Fatalf("lag after skipping: %+v %v", prog, err)
	}

	box2 := &inbox{}
	e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box2)
	sendSpaced(t, e, topic, "new1")
	box2.wait(t, 1)
	// new1 is the last message stored: once it is in, nothing older can still come.
	waitCommitted(t, e, group, topic, 1)
	if got := bodiesOfBox(box2, 0); !slices.Equal(got, []string{"new1"}) {
		t.Fatalf("after skipping the consumer got %q, want only new1", got)
	}
}
