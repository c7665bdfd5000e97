package sdk

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestPushConsumerGetsEverything sends messages with tags, keys and properties and
// checks that a push consumer receives each exactly once with everything intact, and
// that the group's offsets end at the queues' ends.
func TestPushConsumerGetsEverything(t *testing.T) {
	c := cluster.Start(t)
	const topic, n = "push-all", 60
	c.CreateTopic(t, topic, 4)
	p := startProducer(t, c)
	col := newCollector()
	pc := startPush(t, c, "CG_all", topic, client.SelectAll, col.listener(), client.WithConsumeFrom(client.ConsumeFromFirstOffset))
	bodies := send(t, p, topic, "m", n, func(i int, m *client.Message) {
		m.WithTags(fmt.Sprintf("tag%d", i%3)).WithKeys(fmt.Sprintf("k%d", i), "common").WithProperty("seq", fmt.Sprint(i))
		m.Flag = int32(i)
	})
	testutil.Eventually(t, 20*time.Second, "all messages consumed", func() bool { return col.distinct() == n })
	byBody := map[string]*client.MessageExt{}
	for _, m := range col.snapshot() {
		byBody[string(m.Body)] = m
	}
	for i, b := range bodies {
		m := byBody[b]
		if col.count(b) != 1 {
			t.Errorf("%s delivered %d times", b, col.count(b))
		}
		if m.Topic != topic || m.Tags() != fmt.Sprintf("tag%d", i%3) || m.Property("seq") != fmt.Sprint(i) || m.Flag != int32(i) {
			t.Errorf("%s: topic %q tags %q seq %q flag %d", b, m.Topic, m.Tags(), m.Property("seq"), m.Flag)
		}
		if keys := m.Keys(); !slices.Equal(keys, []string{fmt.Sprintf("k%d", i), "common"}) {
			t.Errorf("%s: keys %v", b, keys)
		}
		if m.MsgID == "" || m.OffsetMsgID == "" || m.Queue.BrokerName != c.BrokerName() || m.Queue.Topic != topic {
			t.Errorf("%s: ids %q %q queue %+v", b, m.MsgID, m.OffsetMsgID, m.Queue)
		}
		if m.StoreTimestamp == 0 || m.BornTimestamp == 0 || m.ReconsumeTimes != 0 {
			t.Errorf("%s: timestamps %d %d reconsume %d", b, m.BornTimestamp, m.StoreTimestamp, m.ReconsumeTimes)
		}
	}
	// Offsets: every queue's committed offset reaches its max.
	testutil.Eventually(t, 10*time.Second,

		"offsets committed to the queue ends", func() bool {
			for q := 0; q < 4; q++ {
				off, ok := c.ConsumerOffset(t, "CG_all", topic, q)
				if !ok || off != c.MaxOffset(t, topic, q) {
					return false
				}
			}
			return true
		})

	if got := pc.Assignment(); len(got) != 5 { // 4 queues + the retry queue
		t.Errorf("assignment %v, want 4 topic queues and the retry queue", got)
	}
}

// TestPushConsumerTagFilter subscribes to two of three tags.
func TestPushConsumerTagFilter(t *testing.T) {
	c := cluster.Start(t)
	const topic = "push-tags"
	c.CreateTopic(t, topic, 2)
	p := startProducer(t, c)
	col := newCollector()
	startPush(t, c, "CG_tags", topic, client.ByTag("red || blue"), col.listener(), client.WithConsumeFrom(client.ConsumeFromFirstOffset))
	tags := []string{"red", "green", "blue", ""}
	send(t, p, topic, "t", 40, func(i int, m *client.Message) { m.WithTags(tags[i%4]) })
	testutil.Eventually(t, 20*time.Second, "red and blue consumed", func() bool { return col.distinct() == 20 })
	// Whatever is still in flight for green or untagged would have arrived by now only
	// if the filter leaked; make sure the committed offsets moved past them too.
	testutil.Eventually(t, 10*time.Second,

		"offsets past filtered messages", func() bool {
			for q := 0; q < 2; q++ {
				off, ok := c.ConsumerOffset(t, "CG_tags", topic, q)
				if !ok || off != c.MaxOffset(t, topic, q) {
					return false
				}
			}
			return true
		})

	for _, m := range col.snapshot() {
		if m.Tags() != "red" && m.Tags() != "blue" {
			t.Errorf("got %s with tag %q", m.Body, m.Tags())
		}
	}
	if col.total() != 20 {
		t.Errorf("deliveries %d, want 20", col.total())
	}
}

// TestPushConsumeFrom checks the three starting rules for a group with no offsets.
func TestPushConsumeFrom(t *testing.T) {
	c := cluster.Start(t)
	const topic = "push-from"
	c.CreateTopic(t, topic, 2)
	p := startProducer(t, c)
	send(t, p, topic, "old", 10, nil)
	// Store times have millisecond resolution: make "mid" strictly later than every
	// "old" store time, and every "mid" store time strictly later than it.
	waitClockPast(t, time.Now())
	mid := time.Now()
	waitClockPast(t, mid)
	send(t, p, topic, "mid", 6, nil)

	t.Run("first", func(t *testing.T) {
		col := newCollector()
		startPush(t, c, "CG_first", topic, client.SelectAll, col.listener(), client.WithConsumeFrom(client.ConsumeFromFirstOffset))
		testutil.Eventually(t, 20*time.Second, "all 16 from the start", func() bool { return col.distinct() == 16 })
	})
	t.Run("timestamp", func(t *testing.T) {
		col := newCollector()
		startPush(t, c, "CG_ts", topic, client.SelectAll, col.listener(), client.WithConsumeTimestamp(mid))
		testutil.Eventually(t, 20*time.Second, "the 6 sent after the timestamp", func() bool { return col.distinct() == 6 })
		for _, m := range col.snapshot() {
			if string(m.Body[:3]) != "mid" {
				t.Errorf("timestamp consumer got %s", m.Body)
			}
		}
	})
	t.Run("last", func(t *testing.T) {
		col := newCollector()
		pc := startPush(t, c, "CG_last", topic, client.SelectAll, col.listener(), client.WithConsumeFrom(client.ConsumeFromLastOffset))
		testutil.Eventually(t, 10*time.Second, "queues assigned", func() bool { return len(pc.Assignment()) == 3 })
		// The broker may answer offset 0 for a young queue (RocketMQ's rule), so what
		// counts is that everything sent from now on arrives.
		send(t, p, topic, "new", 5, nil)
		testutil.Eventually(t, 20*time.Second,

			"messages sent after start", func() bool {
				for i := 0; i < 5; i++ {
					if col.count(fmt.Sprintf("new-%d", i)) == 0 {
						return false
					}
				}
				return true
			})

	})
}

// waitClockPast waits until the wall clock is past t by a millisecond, so store
// timestamps of later sends are strictly greater.
func waitClockPast(t *testing.T, ts time.Time) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, "clock advance", func() bool { return time.Since(ts) > 5*time.Millisecond })
}

// TestPushConsumerShutdownLeavesNothing checks that Shutdown ends every goroutine the
// consumer started, commits its offsets and leaves the group.
func TestPushConsumerShutdownLeavesNothing(t *testing.T) {
	c := cluster.Start(t)
	const topic = "push-shutdown"
	c.CreateTopic(t, topic, 4)
	p := startProducer(t, c)
	send(t, p, topic, "s", 20, nil)
	before := runtimeGoroutines()
	col := newCollector()
	pc, err := client.NewPushConsumer(pushOpts(t, c, "CG_shut", client.WithConsumeFrom(client.ConsumeFromFirstOffset))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, client.SelectAll, col.listener()); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "consumed", func() bool { return col.distinct() == 20 })
	id := pc.ClientID()
	shutdown(t, pc)
	for q := 0; q < 4; q++ {
		if off, ok := c.ConsumerOffset(t, "CG_shut", topic, q); !ok || off != c.MaxOffset(t, topic, q) {
			t.Errorf("queue %d: committed %d (%v), want %d", q, off, ok, c.MaxOffset(t, topic, q))
		}
	}
	testutil.Eventually(t, 10*time.Second, "left the group", func() bool { return !slices.Contains(c.ConsumerIDs(t, "CG_shut"), id) })
	waitGoroutines(t, before)
	if err := pc.Start(context.Background()); err == nil {
		t.Error("restart of a shut down consumer succeeded")
	}
}

// TestPushConsumerSurvivesBrokerRestart restarts the broker under a running consumer:
// pulls fail and back off, then resume on the same queues; nothing is lost, and
// everything before the restart stays committed.
func TestPushConsumerSurvivesBrokerRestart(t *testing.T) {
	c := cluster.Start(t)
	const topic, group = "push-restart", "CG_restart"
	c.CreateTopic(t, topic, 2)
	p := startProducer(t, c)
	col := newCollector()
	startPush(t, c, group, topic, client.SelectAll, col.listener(), client.WithConsumeFrom(client.ConsumeFromFirstOffset))
	send(t, p, topic, "before", 10, nil)
	testutil.Eventually(t, 20*time.Second, "before the restart", func() bool { return col.distinct() == 10 })
	testutil.Eventually(t, 10*time.Second,

		"offsets committed before the restart", func() bool {
			for q := 0; q < 2; q++ {
				if off, ok := c.ConsumerOffset(t, group, topic, q); !ok || off != c.MaxOffset(t, topic, q) {
					return false
				}
			}
			return true
		})

	c.Restart(t)
	c.WaitRoute(t, topic, 15*time.Second)
	send(t, p, topic, "after", 10, nil)
	testutil.Eventually(t, 30*time.Second, "after the restart", func() bool { return col.distinct() == 20 })
	if col.total() != 20 {
		t.Errorf("%d deliveries of 20 messages: committed messages came back after the restart", col.total())
	}
}
