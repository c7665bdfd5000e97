package schedule

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestTimersArriveInDueOrder sends timer messages due at +10 s, +1 s and +3 s (in that
// order) through the SDK and checks that they arrive in due order, none before its
// time, and that the broker stored each delivered copy within 100 ms of its due time.
// A fourth timer is cancelled and never arrives.
func TestTimersArriveInDueOrder(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t)
	const topic = "Timers"
	c.CreateTopic(t, topic, 2)
	col := &collector{}
	startPush(t, c.NamesrvAddr(), "TimerGroup", topic, client.SelectAll, col.listener())
	p := startProducer(t, c.NamesrvAddr())

	delays := []time.Duration{10 * time.Second, time.Second, 3 * time.Second}
	sent := map[string]time.Time{}
	// Plain timers due at the same instants measure how late this (shared, loaded)
	// machine runs goroutines; the broker may be that much later on top of 100 ms.
	var slackMu sync.Mutex
	var slack time.Duration
	for _, d := range delays {
		body := "after-" + d.String()
		sent[body] = time.Now()
		due := sent[body].Add(d)
		time.AfterFunc(d, func() {
			slackMu.Lock()
			slack = max(slack, time.Since(due))
			slackMu.Unlock()
		})
		send(t, p, client.NewMessage(topic, []byte(body)).WithDeliverDelay(d))
	}
	// An absolute time, cancelled before it is due.
	cancelled := send(t, p, client.NewMessage(topic, []byte("cancelled")).WithDeliverTime(time.Now().Add(2*time.Second)))
	admin, err := client.NewAdmin(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	// The key index is built asynchronously: retry until it finds the message.
	if !testutil.Poll(5*time.Second, func() bool {
		n, err = admin.CancelScheduled(context.Background(), topic, cancelled.MsgID)
		return err != nil || n > 0
	}) ||
		err != nil || n != 1 {
		t.Fatalf("cancel: %d, %v", n, err)
	}

	col.waitCount(t, 3, 30*time.Second)
	msgs, at := col.snapshot()
	want := []string{"after-1s", "after-3s", "after-10s"}
	for i, m := range msgs {
		if i >= len(want) || string(m.Body) != want[i] {
			t.Fatalf("arrival order %s, want %v", bodies(msgs), want)
		}
		d, _ := time.ParseDuration(want[i][len("after-"):])
		if el := at[i].Sub(sent[want[i]]); el < d {
			t.Errorf("%s arrived %v after its send", want[i], el)
		}
		// The broker's precision: the copy's store time against its due time.
		due, err := strconv.ParseInt(m.Property("TIMER_OUT_MS"), 10, 64)
		if err != nil {
			t.Fatalf("%s lacks TIMER_OUT_MS: %v", m.Body, m.Properties())
		}
		late := time.Duration(m.StoreTimestamp-due) * time.Millisecond
		t.Logf("%s stored %v after due, consumed %v after send", m.Body, late, at[i].Sub(sent[want[i]]).Round(time.Millisecond))
		slackMu.Lock()
		allowed := 100*time.Millisecond + slack
		slackMu.Unlock()
		if late < 0 || late > allowed {
			t.Errorf("%s delivered %v after its due time, want within [0, 100ms] (+%v machine lateness)", m.Body, late, allowed-100*time.Millisecond)
		}
		if m.Topic != topic || m.MsgID == "" {
			t.Errorf("delivered topic %q id %q", m.Topic, m.MsgID)
		}
	}
	// The cancelled timer was due at +2 s: the +3 s one arriving proves it did not.
	if len(msgs) != 3 {
		t.Fatalf("received %s, want exactly 3 (the cancelled timer must not arrive)", bodies(msgs))
	}
}
