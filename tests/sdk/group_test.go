package sdk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestBroadcasting checks that every member of a broadcasting group receives every
// message, and that a member's local offset file lets it continue after a restart.
func TestBroadcasting(t *testing.T) {
	c := cluster.Start(t)
	const topic, group, n = "broadcast", "CG_bcast", 30
	c.CreateTopic(t, topic, 3)
	p := startProducer(t, c)
	dir := t.TempDir()
	cols := []*collector{newCollector(), newCollector(), newCollector()}
	names := []string{"m0", "m1", "m2"}
	var pcs []*client.PushConsumer
	for i, col := range cols {
		pcs = append(pcs, startPush(t, c, group, topic, client.SelectAll, col.listener(),
			client.WithMessageModel(client.Broadcasting), client.WithConsumeFrom(client.ConsumeFromFirstOffset),
			client.WithOffsetDir(dir), client.WithInstanceName(names[i])))
	}
	send(t, p, topic, "b", n, nil)
	for i, col := range cols {
		testutil.Eventually(t, 20*time.Second, fmt.Sprintf("member %d got all", i), func() bool { return col.distinct() == n })
	}
	for i, pc := range pcs {
		if got := len(pc.Assignment()); got != 3 {
			t.Errorf("member %d reads %d queues, want all 3 (no retry topic)", i, got)
		}
	}
	// Restart member 0: it continues from its file, seeing only what is new.
	shutdown(t, pcs[0])
	id := pcs[0].ClientID()
	if _, err := os.Stat(filepath.Join(dir, id, group, "offsets.json")); err != nil {
		t.Fatalf("offset file: %v", err)
	}
	send(t, p, topic, "after", 6, nil)
	again := newCollector()
	startPush(t, c, group, topic, client.SelectAll, again.listener(),
		client.WithMessageModel(client.Broadcasting), client.WithConsumeFrom(client.ConsumeFromFirstOffset),
		client.WithOffsetDir(dir), client.WithInstanceName(names[0]))
	testutil.Eventually(t, 20*time.Second, "restarted member got the new ones", func() bool { return again.distinct() == 6 })
	for _, m := range again.snapshot() {
		if string(m.Body[:5]) != "after" {
			t.Errorf("restarted member got old message %s", m.Body)
		}
	}
	for i, col := range cols {
		if col.total() != col.distinct() {
			t.Errorf("member %d: %d deliveries of %d messages", i, col.total(), col.distinct())
		}
	}
}

// TestRebalanceJoinAndLeave runs a steady stream of messages through a clustering group
// while a second member joins and later the first leaves. Nothing may be lost; the
// duplicates allowed are the messages in flight at the two changes.
func TestRebalanceJoinAndLeave(t *testing.T) {
	c := cluster.Start(t)
	const topic, group, total = "rebalance", "CG_rebal", 600
	c.CreateTopic(t, topic, 8)
	p := startProducer(t, c)
	col := newCollector()
	var perMember [2]atomic.Int64
	member := func(i int) client.Listener {
		return func(ctx context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
			perMember[i].Add(int64(len(msgs)))
			return col.listener()(ctx, msgs)
		}
	}
	a := startPush(t, c, group, topic, client.SelectAll, member(0), client.WithConsumeFrom(client.ConsumeFromFirstOffset))

	var sent atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < total; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := p.Send(ctx, client.NewMessage(topic, []byte(fmt.Sprintf("r-%d", i))))
			cancel()
			if err != nil {
				t.Errorf("send r-%d: %v", i, err)
				return
			}
			sent.Add(1)
			if i%50 == 49 {
				// Pace the stream so the membership changes happen while it flows.
				if !testutil.Poll(10*time.Second, func() bool { return col.distinct() >= i-100 }) {
					t.Errorf("consumers fell behind at r-%d", i)
					return
				}
			}
		}
	}()
	testutil.Eventually(t, 20*time.Second, "a quarter sent", func() bool { return sent.Load() >= total/4 })
	b := startPush(t, c, group, topic, client.SelectAll, member(1), client.WithConsumeFrom(client.ConsumeFromFirstOffset))
	testutil.Eventually(t, 20*time.Second,

		"queues split after the join", func() bool {
			return len(a.Assignment()) > 0 && len(b.Assignment()) > 0 && len(a.Assignment())+len(b.Assignment()) == 9
		})

	joinedAt := col.total()
	testutil.Eventually(t, 20*time.Second, "three quarters sent", func() bool { return sent.Load() >= 3*total/4 })
	shutdown(t, a)
	testutil.Eventually(t, 20*time.Second, "survivor has every queue", func() bool { return len(b.Assignment()) == 9 })
	wg.Wait()
	testutil.Eventually(t, 30*time.Second, "every message consumed", func() bool { return col.distinct() == total })
	dups := col.total() - total
	t.Logf("rebalance: %d messages, %d deliveries, %d duplicates (member a %d, member b %d; %d delivered before the join)",
		total, col.total(), dups, perMember[0].Load(), perMember[1].Load(), joinedAt)
	if perMember[1].Load() == 0 {
		t.Error("the joining member consumed nothing")
	}
	// A clean join and a clean leave commit before handing queues over; the only
	// duplicates are results in flight at the handover. Allow a generous bound.
	if dups > total/10 {
		t.Errorf("%d duplicates, more than %d", dups, total/10)
	}
}

// TestSendBackOnRetryLater makes a listener fail one message once and checks that it
// comes back with its original topic and a reconsume count: through the group's retry
// topic when the broker supports CONSUMER_SEND_MSG_BACK, or — when the broker answers
// REQUEST_CODE_NOT_SUPPORTED — through the consumer's local retry, with the failure
// surfaced to the SendBackFailed hook. Either way no message is lost and the group's
// offset does not move past the failed one while it is pending.
func TestSendBackOnRetryLater(t *testing.T) {
	c := cluster.Start(t)
	const topic, group = "sendback", "CG_back"
	c.CreateTopic(t, topic, 2)
	p := startProducer(t, c)
	var (
		mu        sync.Mutex
		failed    bool
		again     *client.MessageExt
		backErrs  []error
		deliverOK = map[string]int{}
	)
	l := func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			if string(m.Body) == "x-3" {
				if !failed {
					failed = true
					return client.ConsumeRetryLater, nil
				}
				again = m
			}
			deliverOK[string(m.Body)]++
		}
		return client.ConsumeSuccess, nil
	}
	events := client.ConsumerEvents{SendBackFailed: func(m *client.MessageExt, err error) {
		mu.Lock()
		backErrs = append(backErrs, err)
		mu.Unlock()
	}}
	startPush(t, c, group, topic, client.SelectAll, l, client.WithConsumeFrom(client.ConsumeFromFirstOffset),
		client.WithRetryDelay(300*time.Millisecond), client.WithConsumerEvents(events))
	send(t, p, topic, "x", 8, nil)
	testutil.Eventually(t, 60*time.Second,

		"the failed message delivered again", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return again != nil && len(deliverOK) == 8
		})

	mu.Lock()
	defer mu.Unlock()
	if again.Topic != topic || again.ReconsumeTimes < 1 {
		t.Errorf("redelivered: topic %q reconsume %d", again.Topic, again.ReconsumeTimes)
	}
	if len(backErrs) > 0 {
		code, ok := client.CodeOf(backErrs[0])
		t.Logf("send-back failed (code %d, %v): %v; retried locally", code, ok, backErrs[0])
		if again.Queue.Topic != topic {
			t.Errorf("local retry came from %s", again.Queue.Topic)
		}
	} else {
		t.Logf("send-back accepted; redelivered from %s", again.Queue.Topic)
		if again.Queue.Topic != client.RetryTopic(group) {
			t.Errorf("redelivered from %s, want the retry topic", again.Queue.Topic)
		}
	}
	for b, n := range deliverOK {
		if n != 1 {
			t.Errorf("%s delivered %d times", b, n)
		}
	}
}
