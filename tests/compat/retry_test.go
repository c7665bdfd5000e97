package compat_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	rgmessage "github.com/rocketgo/rocketgo/proto/message"
	remoting "github.com/rocketgo/rocketgo/remoting/transport"
)

// attemptLog records every delivery of the test's message.
type attemptLog struct {
	mu       sync.Mutex
	attempts []*primitive.MessageExt
	at       []time.Time
	fail     bool // answer ConsumeRetryLater
}

func (a *attemptLog) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range msgs {
		a.attempts = append(a.attempts, m)
		a.at = append(a.at, time.Now())
	}
	if a.fail {
		return consumer.ConsumeRetryLater, nil
	}
	return consumer.ConsumeSuccess, nil
}

func (a *attemptLog) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.attempts)
}

func (a *attemptLog) setFail(f bool) {
	a.mu.Lock()
	a.fail = f
	a.mu.Unlock()
}

// TestRetryUntilDLQ: a consumer that always answers ConsumeRetryLater gets the message
// again with its reconsume times incremented, each time after the retry delay, until
// maxReconsumeTimes (2, set through the consumer option) is reached; then the message
// is in the group's DLQ. Resending it from the DLQ (a rocketgo extension request)
// brings it back to the consumer once more, with reconsume times 0.
func TestRetryUntilDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shortLevels)
	topic, group := e.name("T"), e.name("CG")
	e.c.CreateTopic(t, topic, 1)
	// The retry topic exists before the consumer starts, so the client's first
	// rebalance assigns its queue; otherwise the client finds its route only at its
	// next rebalance, 20 s later (the broker creates it at the first heartbeat).
	e.c.CreateTopic(t, "%RETRY%"+group, 1)
	log := &attemptLog{fail: true}
	pc, err := consumer.NewPushConsumer(
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(group),
		consumer.WithInstance(e.instance()),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithMaxReconsumeTimes(2),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{}, log.handle); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })

	m := primitive.NewMessage(topic, []byte("doomed")).WithTag("x")
	m.WithProperty("k", "v")
	res := sendSync(t, e.producer(), m)

	// Three deliveries (reconsume times 0, 1, 2), then the DLQ.
	dlq := "%DLQ%" + group
	st := e.c.Broker().Store()
	if !testutil.Poll(consumeTimeout, func() bool { return st.MaxOffset(dlq, 0) >= 1 }) {
		t.Fatalf("message not in %s within %v after %d deliveries", dlq, consumeTimeout, log.count())
	}
	log.mu.Lock()
	attempts, at := append([]*primitive.MessageExt(nil), log.attempts...), append([]time.Time(nil), log.at...)
	log.mu.Unlock()
	for i := range at {
		t.Logf("delivery %d at +%v", i, at[i].Sub(at[0]).Round(time.Millisecond))
	}
	if len(attempts) != 3 {
		t.Fatalf("delivered %d times before the DLQ, want 3", len(attempts))
	}
	for i, a := range attempts {
		if a.ReconsumeTimes != int32(i) || a.Topic != topic || a.MsgId != res.MsgID || string(a.Body) != "doomed" ||
			a.GetTags() != "x" || a.GetProperty("k") != "v" {
			t.Fatalf("delivery %d: reconsume %d topic %q id %s (want %s) body %q props %v",
				i, a.ReconsumeTimes, a.Topic, a.MsgId, res.MsgID, a.Body, a.GetProperties())
		}
		if i > 0 {
			// Retry k uses level 3 + k, capped at the last level (1.5 s here).
			if gap := at[i].Sub(at[i-1]); gap < 1500*time.Millisecond {
				t.Errorf("delivery %d came %v after the previous, before the 1.5 s retry delay", i, gap)
			}
		}
	}
	dead := st.GetMessages(dlq, 0, 0, 10, 0, nil)
	if len(dead.Records) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead.Records))
	}
	d, _, err := rgmessage.DecodeRecord(dead.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.ReconsumeTimes != 3 || d.Properties["RETRY_TOPIC"] != topic || d.Properties[rgmessage.PropUniqKey] != res.MsgID {
		t.Fatalf("dead letter reconsume %d props %v", d.ReconsumeTimes, d.Properties)
	}
	// No fourth delivery came meanwhile.
	if n := log.count(); n != 3 {
		t.Fatalf("delivered %d times, want 3", n)
	}

	// RESEND_DLQ_MESSAGES (2201): the consumer gets it again, now succeeding.
	log.setFail(false)
	rc := remoting.NewClient(remoting.ClientOptions{DialTimeout: 3 * time.Second})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := rc.Invoke(ctx, e.c.BrokerAddr(), remoting.NewRequest(code.ResendDLQMessages,
		(&header.DLQRequest{ConsumerGroup: group}).Encode(), nil))
	if err != nil || resp.Code != code.Success || resp.ExtFields["resent"] != "1" {
		t.Fatalf("resend: %v code %d %q %v", err, resp.Code, resp.Remark, resp.ExtFields)
	}
	if !testutil.Poll(consumeTimeout, func() bool { return log.count() == 4 }) {
		t.Fatalf("resent dead letter not delivered (%d deliveries)", log.count())
	}
	log.mu.Lock()
	last := log.attempts[3]
	log.mu.Unlock()
	if last.ReconsumeTimes != 0 || last.Topic != topic || last.MsgId != res.MsgID {
		t.Fatalf("resent delivery reconsume %d topic %q id %s", last.ReconsumeTimes, last.Topic, last.MsgId)
	}
}
