package sdk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// startPull creates and starts a lite pull consumer; setup subscribes or assigns.
func startPull(t *testing.T, c *cluster.Cluster, group string, setup func(*client.PullConsumer) error, extra ...client.PullConsumerOption) *client.PullConsumer {
	t.Helper()
	opts := []client.PullConsumerOption{
		client.WithNameServer(c.NamesrvAddr()),
		client.WithInstanceName(instanceName(t)),
		client.WithLogger(logger(t)),
		client.WithConsumerGroup(group),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset),
	}
	for _, o := range fastConsumer {
		opts = append(opts, o)
	}
	pc, err := client.NewPullConsumer(append(opts, extra...)...)
	if err != nil {
		t.Fatalf("new pull consumer: %v", err)
	}
	if err := setup(pc); err != nil {
		t.Fatalf("subscribe/assign: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		t.Fatalf("start pull consumer: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown(context.Background()) })
	return pc
}

// pollN polls until n messages arrived (or the deadline) and returns them by body.
func pollN(t *testing.T, pc *client.PullConsumer, n int) map[string]*client.MessageExt {
	t.Helper()
	got := map[string]*client.MessageExt{}
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		msgs, err := pc.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatalf("poll after %d of %d: %v", len(got), n, err)
		}
		if len(msgs) == 0 || len(msgs) > 10 {
			t.Fatalf("poll returned %d messages", len(msgs))
		}
		for i, m := range msgs {
			if i > 0 && (m.Queue != msgs[0].Queue || m.QueueOffset <= msgs[i-1].QueueOffset) {
				t.Fatalf("batch not one queue in order: %v then %v", msgs[i-1], m)
			}
			if _, dup := got[string(m.Body)]; dup {
				t.Fatalf("%s polled twice", m.Body)
			}
			got[string(m.Body)] = m
		}
	}
	return got
}

// pollNothing checks that nothing is polled for a short while.
func pollNothing(t *testing.T, pc *client.PullConsumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if msgs, err := pc.Poll(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("poll: %d messages, %v; want nothing", len(msgs), err)
	}
}

// TestLitePullSubscribeCommitRestart polls everything, commits synchronously, and
// checks that a restarted consumer of the group continues after the commit; then that
// without a commit, a restart delivers the uncommitted messages again.
func TestLitePullSubscribeCommitRestart(t *testing.T) {
	c := cluster.Start(t)
	const topic, group = "lite", "CG_lite"
	c.CreateTopic(t, topic, 3)
	p := startProducer(t, c)
	send(t, p, topic, "a", 30, func(i int, m *client.Message) { m.WithTags("t") })
	sub := func(pc *client.PullConsumer) error { return pc.Subscribe(topic, client.SelectAll) }
	manual := client.WithAutoCommit(false)

	pc := startPull(t, c, group, sub, manual)
	got := pollN(t, pc, 30)
	if m := got["a-7"]; m.Topic != topic || m.Tags() != "t" {
		t.Errorf("a-7: topic %q tags %q", m.Topic, m.Tags())
	}
	if err := pc.CommitSync(context.Background()); err != nil {
		t.Fatalf("commit: %v", err)
	}
	for q := 0; q < 3; q++ {
		if off, ok := c.ConsumerOffset(t, group, topic, q); !ok || off != c.MaxOffset(t, topic, q) {
			t.Errorf("queue %d committed %d (%v), want %d", q, off, ok, c.MaxOffset(t, topic, q))
		}
	}
	send(t, p, topic, "b", 9, nil)
	pollN(t, pc, 9) // polled, never committed
	shutdown(t, pc)

	pc2 := startPull(t, c, group, sub, manual)
	again := pollN(t, pc2, 9)
	for b := range again {
		if b[0] != 'b' {
			t.Errorf("restart redelivered committed message %s", b)
		}
	}
	pollNothing(t, pc2)
	done := make(chan error, 1)
	pc2.CommitAsync(func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("commit async: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("commit async never completed")
	}
	shutdown(t, pc2)
	pc3 := startPull(t, c, group, sub, manual)
	pollNothing(t, pc3)
}

// TestLitePullAssignSeek assigns one queue explicitly and seeks around in it.
func TestLitePullAssignSeek(t *testing.T) {
	c := cluster.Start(t)
	const topic, group = "lite-seek", "CG_seek"
	c.CreateTopic(t, topic, 2)
	p := startProducer(t, c)
	q1 := client.MessageQueue{Topic: topic, BrokerName: c.BrokerName(), QueueID: 1}
	for i := 0; i < 12; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := p.SendToQueue(ctx, q1, client.NewMessage(topic, []byte(fmt.Sprintf("s-%02d", i)))); err != nil {
			t.Fatalf("send: %v", err)
		}
		cancel()
	}
	pc := startPull(t, c, group, func(pc *client.PullConsumer) error { return pc.Assign(q1) })
	if a := pc.Assignment(); len(a) != 1 || a[0] != q1 {
		t.Fatalf("assignment %v", a)
	}
	first := pollN(t, pc, 12)
	if m := first["s-05"]; m.QueueOffset != 5 || m.Queue != q1 {
		t.Fatalf("s-05 at %d of %v", m.QueueOffset, m.Queue)
	}
	if err := pc.Seek(q1, 4); err != nil {
		t.Fatal(err)
	}
	again := pollN(t, pc, 8)
	keys := make([]string, 0, len(again))
	for k := range again {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if keys[0] != "s-04" || keys[7] != "s-11" {
		t.Errorf("after seek to 4: %v", keys)
	}
	if err := pc.SeekToBeginning(context.Background(), q1); err != nil {
		t.Fatal(err)
	}
	pollN(t, pc, 12)
	if err := pc.SeekToEnd(context.Background(), q1); err != nil {
		t.Fatal(err)
	}
	pollNothing(t, pc)
	other := client.MessageQueue{Topic: topic, BrokerName: c.BrokerName(), QueueID: 0}
	if err := pc.Seek(other, 0); !errors.Is(err, client.ErrNotAssigned) {
		t.Errorf("seek of an unassigned queue: %v", err)
	}
	// Auto commit (the default) commits the seek-to-end position.
	testutil.Eventually(t, 10*time.Second,

		"auto commit of the position", func() bool {
			off, ok := c.ConsumerOffset(t, group, topic, 1)
			return ok && off == 12
		})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if off, err := pc.Committed(ctx, q1); err != nil || off != 12 {
		t.Errorf("committed: %d, %v", off, err)
	}
}

// TestLitePullRejectsMisuse checks the API's errors.
func TestLitePullRejectsMisuse(t *testing.T) {
	c := cluster.Start(t)
	pc, err := client.NewPullConsumer(client.WithNameServer(c.NamesrvAddr()), client.WithConsumerGroup("g"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Poll(context.Background()); !errors.Is(err, client.ErrNotStarted) {
		t.Errorf("poll before start: %v", err)
	}
	if err := pc.Start(context.Background()); !errors.Is(err, client.ErrInvalidOption) {
		t.Errorf("start with nothing subscribed: %v", err)
	}
	if err := pc.Subscribe("no-such-topic", client.SelectAll); err != nil {
		t.Fatal(err)
	}
	if err := pc.Assign(client.MessageQueue{Topic: "x", BrokerName: "b"}); !errors.Is(err, client.ErrInvalidOption) {
		t.Errorf("assign after subscribe: %v", err)
	}
	if err := pc.Start(context.Background()); !errors.Is(err, client.ErrTopicNotExist) {
		t.Errorf("start on a missing topic: %v", err)
	}
	if _, err := client.NewPullConsumer(client.WithNameServer(c.NamesrvAddr())); !errors.Is(err, client.ErrInvalidOption) {
		t.Errorf("no group: %v", err)
	}
}

// TestLitePullShutdownLeavesNothing checks that Shutdown ends every goroutine the pull
// consumer started (a Poll blocked in another goroutine returns ErrClosed) and commits
// what was polled.
func TestLitePullShutdownLeavesNothing(t *testing.T) {
	c := cluster.Start(t)
	const topic, group = "lite-shut", "CG_lite_shut"
	c.CreateTopic(t, topic, 4)
	p := startProducer(t, c)
	send(t, p, topic, "s", 20, nil)
	before := runtimeGoroutines()
	pc, err := client.NewPullConsumer(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(t)),
		client.WithConsumerGroup(group), client.WithConsumeFrom(client.ConsumeFromFirstOffset))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, client.SelectAll); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pollN(t, pc, 20)
	blocked := make(chan error, 1)
	go func() {
		_, err := pc.Poll(context.Background())
		blocked <- err
	}()
	shutdown(t, pc)
	select {
	case err := <-blocked:
		if !errors.Is(err, client.ErrClosed) {
			t.Errorf("blocked poll: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked poll did not return")
	}
	for q := 0; q < 4; q++ {
		if off, ok := c.ConsumerOffset(t, group, topic, q); !ok || off != c.MaxOffset(t, topic, q) {
			t.Errorf("queue %d: committed %d (%v), want %d", q, off, ok, c.MaxOffset(t, topic, q))
		}
	}
	waitGoroutines(t, before)
}
