package dashboard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// The workload the browser test inspects.
const (
	ordersTopic = "orders"
	ordersGroup = "billing"
	// ordersProducerGroup and billing trace their messages to RMQ_SYS_TRACE_TOPIC.
	ordersProducerGroup = "PG_orders"
	poisonTopic         = "payments"
	poisonGroup         = "refunds"
	firstBatch          = 40 // consumed by ordersGroup
	secondBatch         = 10 // sent after ordersGroup stopped: its lag
	poisonedBody        = "poisoned refund"
)

// workload is a cluster after: 50 messages on orders (keys order-0..order-49) of which
// billing consumed the first 40 and then stopped; one message of payments that the
// refunds group failed twice, now in its DLQ, with refunds still running. The orders
// producer and billing record message traces.
type workload struct {
	c       *cluster.Cluster
	admin   *client.Admin
	refunds *deliveries
}

// deliveries records what a listener was given; it fails while failing is set.
type deliveries struct {
	mu      sync.Mutex
	msgs    []*client.MessageExt
	failing bool
}

func (d *deliveries) listener(ctx context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, msgs...)
	if d.failing {
		return client.ConsumeRetryLater, nil
	}
	return client.ConsumeSuccess, nil
}

func (d *deliveries) snapshot() []*client.MessageExt {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*client.MessageExt(nil), d.msgs...)
}

func (d *deliveries) setFailing(v bool) {
	d.mu.Lock()
	d.failing = v
	d.mu.Unlock()
}

func quietLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

func pushConsumer(t *testing.T, ns, group, topic string, l client.Listener, extra ...client.PushConsumerOption) *client.PushConsumer {
	t.Helper()
	opts := append([]client.PushConsumerOption{
		client.WithNameServer(ns), client.WithInstanceName("c-" + group), client.WithLogger(quietLogger(t)),
		client.WithConsumerGroup(group), client.WithOffsetDir(t.TempDir()),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset), client.WithRebalanceInterval(300 * time.Millisecond),
		client.WithCommitInterval(200 * time.Millisecond), client.WithPullTimeouts(2*time.Second, 5*time.Second),
		client.WithPullBackoff(200 * time.Millisecond),
	}, extra...)
	pc, err := client.NewPushConsumer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, client.SelectAll, l); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Shutdown(context.Background()) })
	return pc
}

func startWorkload(t *testing.T) *workload {
	c := cluster.Start(t, cluster.WithBrokerOptions(func(o *broker.Options) { o.MessageDelayLevel = "200ms 400ms 600ms" }))
	ns := c.NamesrvAddr()
	c.CreateTopic(t, ordersTopic, 4)
	c.CreateTopic(t, poisonTopic, 1)
	// Retry topics exist before the consumers start, so their first rebalance owns them.
	c.CreateTopic(t, client.RetryTopic(ordersGroup), 1)
	c.CreateTopic(t, client.RetryTopic(poisonGroup), 1)
	admin, err := client.NewAdmin(client.WithNameServer(ns), client.WithInstanceName("test-admin"), client.WithLogger(quietLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	p, err := client.NewProducer(client.WithNameServer(ns), client.WithInstanceName("test-producer"),
		client.WithLogger(quietLogger(t)), client.WithProducerGroup(ordersProducerGroup), client.WithTrace(""))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	send := func(from, to int) {
		for i := from; i < to; i++ {
			body := fmt.Sprintf(`{"order":%d,"amount":%d.50,"currency":"EUR"}`, i, 10+i)
			if _, err := p.Send(ctx, client.NewMessage(ordersTopic, []byte(body)).WithTags("paid").WithKeys(fmt.Sprintf("order-%d", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(0, firstBatch)
	billing := &deliveries{}
	pc := pushConsumer(t, ns, ordersGroup, ordersTopic, billing.listener, client.WithTrace(""))
	testutil.Eventually(t, 30*time.Second, "billing consumed and committed the first batch", func() bool {
		prog, err := admin.ConsumerProgress(ctx, ordersGroup, ordersTopic)
		return err == nil && len(billing.snapshot()) >= firstBatch && lagOn(prog, ordersTopic) == 0 && len(prog.Queues) >= 4
	})
	// A SubBefore and a SubAfter per consumed message are stored before billing stops.
	testutil.Eventually(t, 20*time.Second, "billing's trace records stored", func() bool {
		return pc.TraceStats().Sent >= 2*firstBatch && p.TraceStats().Sent >= firstBatch
	})
	if err := pc.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	send(firstBatch, firstBatch+secondBatch)

	refunds := &deliveries{failing: true}
	pushConsumer(t, ns, poisonGroup, poisonTopic, refunds.listener, client.WithMaxReconsumeTimes(1))
	if _, err := p.Send(ctx, client.NewMessage(poisonTopic, []byte(poisonedBody)).WithKeys("refund-1")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the poisoned message in the DLQ", func() bool {
		page, err := admin.ListDLQ(ctx, c.BrokerAddr(), poisonGroup, 0, 10)
		return err == nil && len(page.Messages) == 1
	})
	return &workload{c: c, admin: admin, refunds: refunds}
}

// lagOn sums the lag of the queues of topic.
func lagOn(p *client.ConsumerProgress, topic string) int64 {
	var n int64
	for _, q := range p.Queues {
		if q.Queue.Topic == topic {
			n += q.Lag
		}
	}
	return n
}

// bodies lists the bodies of msgs.
func bodies(msgs []*client.MessageExt) string {
	var b []string
	for _, m := range msgs {
		b = append(b, fmt.Sprintf("%s/%d", m.Body, m.ReconsumeTimes))
	}
	return strings.Join(b, " ")
}
