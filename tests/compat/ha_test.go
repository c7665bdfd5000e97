package compat_test

import (
	"context"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/ha"
)

// officialProducer starts a producer of the official client on the NameServers.
func officialProducer(t *testing.T, ns []string, instance string) rocketmq.Producer {
	t.Helper()
	p, err := rocketmq.NewProducer(producer.WithNameServer(ns), producer.WithGroupName("PG_"+instance),
		producer.WithInstanceName(instance), producer.WithRetry(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// TestHAConsumeFromSlaveWhileMasterDown: a push consumer of the official client reads
// the rest of its queues from the slave while the master is killed (SIGKILL, separate
// processes), and once the master is back it continues from the offsets it reached:
// every message once, no reset, its progress committed to the master.
func TestHAConsumeFromSlaveWhileMasterDown(t *testing.T) {
	t.Parallel()
	dir, bin := t.TempDir(), ha.Build(t)
	ns := ha.StartNamesrv(t, bin, dir, "ns", "")
	nss := []string{ns.Addr}
	master := ha.StartBroker(t, bin, dir, ha.BrokerConfig{Name: "broker-ha", Role: "ASYNC_MASTER", Namesrv: nss})
	slave := ha.StartBroker(t, bin, dir, ha.BrokerConfig{Name: "broker-ha", ID: 1, Role: "SLAVE", Namesrv: nss})
	const topic, group = "HAOfficial", "HAOfficialGroup"
	watchClient(t, topic, group, ns.Addr, master.Addr, slave.Addr)
	ha.CreateTopic(t, master.Addr, topic, 2)
	testutil.Eventually(t, 30*time.Second, "the route and the slave's copy of the topic", func() bool {
		return len(ha.BrokerAddrs(ns.Addr, topic, "broker-ha")) == 2 && ha.ServesTopic(slave.Addr, topic)
	})

	p := officialProducer(t, nss, "ha-official-producer")
	var first []*primitive.Message
	for i := 0; i < 400; i++ {
		m := message(topic, "first", i)
		sendSync(t, p, m)
		first = append(first, m)
	}
	ha.WaitReplicated(t, master, slave, 20*time.Second)

	box := &inbox{timeout: 60 * time.Second}
	slow := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		time.Sleep(time.Duration(len(msgs)) * 4 * time.Millisecond) // a slow consumer, not a synchronization
		return box.handle(ctx, msgs...)
	}
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(nss), consumer.WithGroupName(group), consumer.WithInstance("ha-official-consumer"),
		consumer.WithConsumerModel(consumer.Clustering), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		// Small pulls and a small cache leave most messages on the brokers until the
		// consumer is ready, so the slave serves part of them.
		consumer.WithPullBatchSize(8), consumer.WithPullThresholdForQueue(16), consumer.WithConsumeMessageBatchMaxSize(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, slow); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	box.wait(t, 60)

	master.Kill()
	testutil.Eventually(t, 20*time.Second, "the route to lose the master", func() bool {
		addrs := ha.BrokerAddrs(ns.Addr, topic, "broker-ha")
		return len(addrs) == 1 && addrs[1] == slave.Addr
	})

	got := box.wait(t, len(first))
	requireSet(t, "messages read with the master down", bodies(got), bodiesOf(first))
	if served := ha.InfoInt(slave.Addr, "msgGetTotalTodayNow"); served <= 0 {
		t.Fatalf("the slave served %d messages: the consumer did not read from it", served)
	} else {
		t.Logf("the slave served %d of the %d messages", served, len(first))
	}

	master.Restart(t)
	testutil.Eventually(t, 30*time.Second, "the route to regain the master", func() bool {
		return ha.BrokerAddrs(ns.Addr, topic, "broker-ha")[0] == master.Addr
	})

	// A producer started now sees the master (the first one refreshes its routes only
	// every 30 s, and skips a broker group without a master meanwhile).
	p2 := officialProducer(t, nss, "ha-official-producer-2")
	var after []*primitive.Message
	for i := 0; i < 100; i++ {
		m := message(topic, "after", i)
		sendSync(t, p2, m)
		after = append(after, m)
	}
	all := append(append([]*primitive.Message{}, first...), after...)
	got = box.wait(t, len(all))
	requireSet(t, "every message", bodies(got), bodiesOf(all))
	if _, dups := box.distinct(); dups != 0 {
		t.Fatalf("%d messages were delivered again: the consumer's offsets moved back", dups)
	}
	// The progress made on the slave reaches the master: the committed offsets become
	// the queues' ends.
	testutil.Eventually(t, settleTimeout, "the committed offsets on the master", func() bool {
		for q := int32(0); q < 2; q++ {
			off, ok := ha.CommittedOffset(master.Addr, group, topic, q)
			if !ok || off != ha.MaxOffset(t, master.Addr, topic, q) {
				return false
			}
		}
		return true
	})

}

// bodiesOf returns the set of the messages' bodies.
func bodiesOf(msgs []*primitive.Message) map[string]bool {
	out := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		out[string(m.Body)] = true
	}
	return out
}
