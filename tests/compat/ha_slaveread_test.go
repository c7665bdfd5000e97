package compat_test

import (
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/ha"
)

// TestHAOfficialConsumerStartedWhileMasterDown: a push consumer of the official client
// v2.1.2 started after its broker group's master was SIGKILLed reads nothing from the
// slave — the client looks committed offsets up at brokerId 0 only (docs/protocol.md
// §10), so it never adds the queues — and once the master is back it reads every
// message exactly once. This project's SDK reads from the slave in the same situation
// (tests/ha).
func TestHAOfficialConsumerStartedWhileMasterDown(t *testing.T) {
	t.Parallel()
	dir, bin := t.TempDir(), ha.Build(t)
	ns := ha.StartNamesrv(t, bin, dir, "ns", "")
	nss := []string{ns.Addr}
	master := ha.StartBroker(t, bin, dir, ha.BrokerConfig{Name: "broker-late", Role: "ASYNC_MASTER", Namesrv: nss})
	slave := ha.StartBroker(t, bin, dir, ha.BrokerConfig{Name: "broker-late", ID: 1, Role: "SLAVE", Namesrv: nss})
	const topic, group = "HALateOfficial", "HALateOfficialGroup"
	watchClient(t, topic, group, ns.Addr, master.Addr, slave.Addr)
	ha.CreateTopic(t, master.Addr, topic, 2)
	testutil.Eventually(t, 30*time.Second, "the route and the slave's copy of the topic", func() bool {
		return len(ha.BrokerAddrs(ns.Addr, topic, "broker-late")) == 2 && ha.ServesTopic(slave.Addr, topic)
	})
	p := officialProducer(t, nss, "ha-late-producer")
	var sent []*primitive.Message
	for i := 0; i < 200; i++ {
		m := message(topic, "late", i)
		sendSync(t, p, m)
		sent = append(sent, m)
	}
	ha.WaitReplicated(t, master, slave, 20*time.Second)

	master.Kill()
	testutil.Eventually(t, 20*time.Second, "the route to lose the master", func() bool {
		addrs := ha.BrokerAddrs(ns.Addr, topic, "broker-late")
		return len(addrs) == 1 && addrs[1] == slave.Addr
	})

	box := &inbox{timeout: 60 * time.Second}
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(nss), consumer.WithGroupName(group), consumer.WithInstance("ha-late-consumer"),
		consumer.WithConsumerModel(consumer.Clustering), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, box.handle); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	// An observation window, not a synchronization: the client's first rebalance runs
	// at start and fails to look up the offsets ("broker: broker-late address not
	// found"); nothing may arrive while the master is down.
	if testutil.Poll(8*time.Second, func() bool { return len(box.all()) > 0 }) {
		t.Fatalf("the official client read %d messages with the master down; docs/protocol.md §10 says it cannot, update it",
			len(box.all()))
	}

	master.Restart(t)
	testutil.Eventually(t, 30*time.Second, "the route to regain the master", func() bool {
		return ha.BrokerAddrs(ns.Addr, topic, "broker-late")[0] == master.Addr
	})
	// The client's next rebalance (every 20 s) adds the queues.
	got := box.wait(t, len(sent))
	requireSet(t, "every message once the master is back", bodies(got), bodiesOf(sent))
	if _, dups := box.distinct(); dups != 0 {
		t.Fatalf("%d messages were delivered twice", dups)
	}
}
