package ha

import (
	"context"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Consumers that start while a master is down (docs/operations.md §3.3).

const srQueues = 4

// sendIndexed sends bs round-robin over the queues of topic on the broker at addr and
// returns, per queue, the bodies by queue offset.
func sendIndexed(t *testing.T, addr, topic string, bs [][]byte) map[int32]map[int64][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	at := map[int32]map[int64][]byte{}
	for i, r := range SendMany(ctx, addr, topic, srQueues, bs, 16) {
		if r.Err != nil || r.Code != code.Success {
			t.Fatalf("send %d: code %d %q %v", i, r.Code, r.Remark, r.Err)
		}
		if at[r.QueueID] == nil {
			at[r.QueueID] = map[int64][]byte{}
		}
		at[r.QueueID][r.QueueOffset] = bs[i]
	}
	return at
}

// commitOffset commits group's offset of topic's queue on the broker at addr.
func commitOffset(t *testing.T, addr, group, topic string, queue int32, off int64) {
	t.Helper()
	h := &header.UpdateConsumerOffsetRequest{ConsumerGroup: group, Topic: topic, QueueID: queue, CommitOffset: off}
	resp, err := Invoke(addr, codec.NewRequest(code.UpdateConsumerOffset, h.Encode(), nil))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("commit %s %s/%d=%d on %s: %v %v", group, topic, queue, off, addr, err, resp)
	}
}

// committedEverywhere reports whether group's offsets of topic on addr are want[q].
func committedEverywhere(addr, group, topic string, want func(q int32) int64) bool {
	for q := int32(0); q < srQueues; q++ {
		if off, ok := CommittedOffset(addr, group, topic, q); !ok || off != want(q) {
			return false
		}
	}
	return true
}

// exactly fails the test unless box received each of want once and nothing else.
func exactly(t *testing.T, what string, box *inbox, want [][]byte) {
	t.Helper()
	got, dups := box.has(want)
	if got != len(want) || dups != 0 || box.received() != len(want) {
		t.Fatalf("%s: %d of %d wanted messages, %d distinct in all, %d repeats", what, got, len(want), box.received(), dups)
	}
}

// TestConsumersStartedWhileMasterDown: 1,000 messages replicated, the master SIGKILLed;
// then a consumer of a new group reads all 1,000 from the slave and one of a group that
// had consumed 400 reads exactly the other 600. The old group's consumer stops while the
// master is still down: the offsets it committed on the slave reach the restarted master
// (the slave relays them), so a later member of that group reads only what is new. The
// new group's consumer, still running, moves back to the master and reads what is sent
// there with no repeats beyond what it had in flight.
func TestConsumersStartedWhileMasterDown(t *testing.T) {
	dir, bin := t.TempDir(), Build(t)
	began := time.Now()
	ns := StartNamesrv(t, bin, dir, "ns", "")
	nss := []string{ns.Addr}
	ma := StartBroker(t, bin, dir, BrokerConfig{Name: "broker-a", Role: "ASYNC_MASTER", Namesrv: nss})
	sa := StartBroker(t, bin, dir, BrokerConfig{Name: "broker-a", ID: 1, Role: "SLAVE", Namesrv: nss})
	const topic, fresh, old = "ReadSlave", "ReadSlaveFresh", "ReadSlaveOld"
	CreateTopic(t, ma.Addr, topic, srQueues)
	testutil.Eventually(t, 30*time.Second, "the route and the slave", func() bool {
		return len(BrokerAddrs(ns.Addr, topic, "broker-a")) == 2 && ServesTopic(sa.Addr, topic)
	})

	all := bodies("m", 1000, 64)
	at := sendIndexed(t, ma.Addr, topic, all)
	// The old group consumed 100 of each queue: 400 in all.
	var rest [][]byte
	for q := int32(0); q < srQueues; q++ {
		commitOffset(t, ma.Addr, old, topic, q, 100)
		for off, b := range at[q] {
			if off >= 100 {
				rest = append(rest, b)
			}
		}
	}
	if len(rest) != 600 {
		t.Fatalf("%d messages after the old group's offsets, want 600", len(rest))
	}
	WaitReplicated(t, ma, sa, 20*time.Second)
	testutil.Eventually(t, 20*time.Second, "the slave's copy of the old group's offsets", func() bool {
		return committedEverywhere(sa.Addr, old, topic, func(int32) int64 { return 100 })
	})

	ma.Kill()
	testutil.Eventually(t, 20*time.Second, "the route to lose the master", func() bool {
		addrs := BrokerAddrs(ns.Addr, topic, "broker-a")
		return len(addrs) == 1 && addrs[1] == sa.Addr
	})

	t.Logf("%v: master down", time.Since(began).Round(time.Millisecond))
	freshBox, oldBox := newInbox(0), newInbox(0)
	startConsumer(t, nss, "fresh-consumer", fresh, topic, freshBox)
	oldPC := startConsumer(t, nss, "old-consumer", old, topic, oldBox)
	testutil.Eventually(t, 60*time.Second, "both groups to read from the slave", func() bool {
		got, _ := freshBox.has(all)
		gotOld, _ := oldBox.has(rest)
		return got == len(all) && gotOld == len(rest)
	})
	t.Logf("%v: both groups read from the slave", time.Since(began).Round(time.Millisecond))
	exactly(t, "new group from the slave", freshBox, all)
	exactly(t, "old group from the slave", oldBox, rest)

	// The old group's member leaves while the master is down; its last commit lands
	// on the slave.
	if err := oldPC.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	end := func(q int32) int64 { return int64(len(at[q])) }
	if !committedEverywhere(sa.Addr, old, topic, end) {
		t.Fatalf("the old group's offsets on the slave are not the queues' ends after its consumer stopped")
	}

	ma.Restart(t)
	testutil.Eventually(t, 30*time.Second, "the slave's offsets to reach the restarted master", func() bool {
		return committedEverywhere(ma.Addr, old, topic, end) && committedEverywhere(ma.Addr, fresh, topic, end)
	})
	t.Logf("%v: offsets on the restarted master", time.Since(began).Round(time.Millisecond))
	testutil.Eventually(t, 30*time.Second, "the route to regain the master", func() bool {
		return BrokerAddrs(ns.Addr, topic, "broker-a")[0] == ma.Addr
	})
	// The master's copy did not move the slave's offsets back.
	if !committedEverywhere(sa.Addr, old, topic, end) {
		t.Fatalf("the old group's offsets on the slave moved back after the master returned")
	}

	t.Logf("%v: route regained", time.Since(began).Round(time.Millisecond))
	after := bodies("after", 200, 64)
	sendIndexed(t, ma.Addr, topic, after)
	oldBox2 := newInbox(0)
	startConsumer(t, nss, "old-consumer-2", old, topic, oldBox2)
	everything := append(append([][]byte{}, all...), after...)
	testutil.Eventually(t, 60*time.Second, "the messages sent after the master returned", func() bool {
		got, _ := freshBox.has(everything)
		gotOld, _ := oldBox2.has(after)
		return got == len(everything) && gotOld == len(after)
	})
	t.Logf("%v: after-messages read", time.Since(began).Round(time.Millisecond))
	exactly(t, "old group's next member", oldBox2, after)
	// The new group's consumer moved back to the master; what it may see twice is
	// bounded by what it had in flight: its cache of 16 messages per queue.
	if _, dups := freshBox.has(everything); dups > 16*srQueues || freshBox.received() != len(everything) {
		t.Fatalf("new group: %d distinct of %d, %d repeats (in flight at most %d)", freshBox.received(), len(everything), dups, 16*srQueues)
	} else {
		t.Logf("new group: %d messages, %d repeats after moving back to the master", len(everything), dups)
	}
	// The slave served the reads while the master was down.
	if served := InfoInt(sa.Addr, "msgGetTotalTodayNow"); served < int64(len(all)+len(rest)) {
		t.Fatalf("the slave served %d messages, want at least %d", served, len(all)+len(rest))
	}
}

// TestTopicCreatedJustBeforeMasterKill: a topic whose creation the master answered is
// served by its slave even when the master is SIGKILLed right after the answer, though
// the slave's periodic copy (slaveSyncInterval) is a minute away; one created a moment
// earlier, with messages, is read from the slave by a consumer started afterwards.
func TestTopicCreatedJustBeforeMasterKill(t *testing.T) {
	dir, bin := t.TempDir(), Build(t)
	ns := StartNamesrv(t, bin, dir, "ns", "")
	nss := []string{ns.Addr}
	slow := map[string]any{"slaveSyncInterval": "1m"}
	ma := StartBroker(t, bin, dir, BrokerConfig{Name: "broker-a", Role: "ASYNC_MASTER", Namesrv: nss, Broker: slow})
	sa := StartBroker(t, bin, dir, BrokerConfig{Name: "broker-a", ID: 1, Role: "SLAVE", Namesrv: nss, Broker: slow})
	// The slave streams from the master (its first copy of the metadata is done).
	CreateTopic(t, ma.Addr, "Warmup", 1)
	if r := SendOne(ma.Addr, "Warmup", 0, []byte("w")); r.Err != nil || r.Code != code.Success {
		t.Fatalf("send: %v %d %s", r.Err, r.Code, r.Remark)
	}
	WaitReplicated(t, ma, sa, 20*time.Second)

	const late, latest = "CreatedLate", "CreatedLatest"
	CreateTopic(t, ma.Addr, late, srQueues)
	msgs := bodies("late", 40, 64)
	sendIndexed(t, ma.Addr, late, msgs)
	WaitReplicated(t, ma, sa, 20*time.Second)
	// A create waits for the live slaves at most slaveTimeout; on a loaded machine the
	// first topic may need longer, and it is not the one this test is about.
	testutil.Eventually(t, 20*time.Second, "the slave to hold "+late, func() bool { return ServesTopic(sa.Addr, late) })
	CreateTopic(t, ma.Addr, latest, srQueues)
	ma.Kill()

	for _, topic := range []string{late, latest} {
		if !ServesTopic(sa.Addr, topic) {
			t.Fatalf("the slave does not serve %s, created before the master was killed", topic)
		}
	}
	testutil.Eventually(t, 30*time.Second, "the route of the late topic to name the slave alone", func() bool {
		addrs := BrokerAddrs(ns.Addr, late, "broker-a")
		return len(addrs) == 1 && addrs[1] == sa.Addr
	})
	box := newInbox(0)
	startConsumer(t, nss, "late-consumer", "LateGroup", late, box)
	testutil.Eventually(t, 60*time.Second, "the late topic's messages from the slave", func() bool {
		got, _ := box.has(msgs)
		return got == len(msgs)
	})
	exactly(t, "late topic from the slave", box, msgs)

	// A pull consumer of another new group reads them too, and commits on the slave.
	pc, err := client.NewPullConsumer(client.WithNameServer(nss...), client.WithInstanceName("late-puller"),
		client.WithLogger(clientLogger(t)), client.WithConsumerGroup("LatePullGroup"),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset), client.WithRouteRefreshInterval(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(late, client.SelectAll); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		t.Fatalf("start pull consumer: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown(context.Background()) })
	pulled := newInbox(0)
	for pulled.received() < len(msgs) {
		got, err := pc.Poll(ctx)
		if err != nil {
			t.Fatalf("poll after %d of %d: %v", pulled.received(), len(msgs), err)
		}
		if _, err := pulled.listener(ctx, got); err != nil {
			t.Fatal(err)
		}
	}
	exactly(t, "pull consumer from the slave", pulled, msgs)
	if err := pc.CommitSync(ctx); err != nil {
		t.Fatalf("commit on the slave: %v", err)
	}
	if !committedEverywhere(sa.Addr, "LatePullGroup", late, func(int32) int64 { return int64(len(msgs) / srQueues) }) {
		t.Fatalf("the pull consumer's offsets are not on the slave")
	}
}
