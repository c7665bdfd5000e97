package compat_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/store"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// Where a consumer group starts is RocketMQ's ConsumeFromWhere rule (the client's
// consumer.go documents it; the broker side is ConsumerManageProcessor.queryConsumerOffset
// in Java and docs/protocol.md §2.5 here):
//
//   - A group that has a committed offset on a queue resumes from it, whatever its
//     ConsumeFromWhere says. ConsumeFromWhere decides only for queues where the group has
//     none (QUERY_CONSUMER_OFFSET answers QUERY_NOT_FOUND).
//   - CONSUME_FROM_FIRST_OFFSET: the earliest message still stored.
//   - CONSUME_FROM_LAST_OFFSET: "if the consumer group is created so recently that the
//     earliest message being subscribed has yet expired, which means the consumer group
//     represents a lately launched business, consuming will start from the very
//     beginning; if the earliest message being subscribed has expired, consuming will
//     start from the latest messages". The broker implements the first half by answering
//     a group without an offset "0" when the queue is young (its first message, offset 0,
//     is still stored and hot); otherwise it answers QUERY_NOT_FOUND and the client asks
//     GET_MAX_OFFSET and starts at the end.
//   - CONSUME_FROM_TIMESTAMP: the first message stored at or after the consumer's
//     ConsumeTimestamp (SEARCH_OFFSET_BY_TIMESTAMP). rocketgo answers such groups
//     QUERY_NOT_FOUND even on a young queue, so the timestamp is honoured (Java would
//     answer 0 there, the same young-queue rule as above).

// CONSUME_FROM_FIRST_OFFSET reads what was stored before the group existed, then
// everything after.
func TestConsumeFromFirstOffset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 4)
	p := e.producer()
	sendN(t, p, topic, "old", 10)

	box := &inbox{}
	e.pushConsumer(e.name("CG"), topic, "*", consumer.ConsumeFromFirstOffset, box)
	box.wait(t, 10)
	sendN(t, p, topic, "new", 5)
	got := box.wait(t, 15)
	want := wantBodies(topic, "old", 10)
	for b := range wantBodies(topic, "new", 5) {
		want[b] = true
	}
	requireSet(t, "CONSUME_FROM_FIRST_OFFSET", bodies(got), want)
}

// CONSUME_FROM_LAST_OFFSET on a young topic (nothing ever deleted, offset 0 stored): a
// new group starts from the very beginning, so the messages sent just before it started
// are not lost.
func TestConsumeFromLastOffsetYoungTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 4)
	p := e.producer()
	sendN(t, p, topic, "early", 10)

	box := &inbox{}
	e.pushConsumer(e.name("CG"), topic, "*", consumer.ConsumeFromLastOffset, box)
	box.wait(t, 10)
	sendN(t, p, topic, "late", 5)
	got := box.wait(t, 15)
	want := wantBodies(topic, "early", 10)
	for b := range wantBodies(topic, "late", 5) {
		want[b] = true
	}
	requireSet(t, "CONSUME_FROM_LAST_OFFSET on a young topic", bodies(got), want)
}

// CONSUME_FROM_TIMESTAMP starts each queue at the first message stored at or after the
// timestamp: messages stored before it are skipped, those after are delivered.
func TestConsumeFromTimestamp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	const queues = 4
	e.c.CreateTopic(t, topic, queues)
	p := e.producer()
	sendN(t, p, topic, "before", 8)

	// ConsumeTimestamp has second precision and the client parses it as UTC: take the
	// next whole second after the first batch was stored, and send the second batch
	// once the clock has passed it.
	at := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	testutil.Eventually(t, 3*time.Second, "the clock to pass the consumer timestamp", func() bool { return time.Now().After(at) })
	results := sendN(t, p, topic, "after", 8)
	for _, r := range results {
		if r.QueueOffset < 2 {
			t.Fatalf("second batch landed at q%d@%d; the first batch should hold offsets 0 and 1 of every queue",
				r.MessageQueue.QueueId, r.QueueOffset)
		}
	}

	box := &inbox{}
	pc := e.pushConsumer(e.name("CG"), topic, "*", consumer.ConsumeFromTimestamp, box,
		consumer.WithConsumeTimestamp(at.Format("20060102150405")))
	e.waitCaughtUp(pc, topic, queueIDs(queues))
	got, _ := box.distinct()
	requireSet(t, "CONSUME_FROM_TIMESTAMP", bodies(got), wantBodies(topic, "after", 8))
	for _, m := range got {
		if m.StoreTimestamp < at.UnixMilli() {
			t.Fatalf("delivered a message stored at %d, before the timestamp %d", m.StoreTimestamp, at.UnixMilli())
		}
	}
}

// ConsumeFromWhere does not apply to a group that has committed offsets: a group that
// returns with CONSUME_FROM_TIMESTAMP set an hour into the future (which alone would
// start at the end of every queue) still resumes from its committed offsets and gets
// the messages sent while it was away.
func TestConsumeFromWhereIgnoredForCommittedGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	group := e.name("CG")
	const queues = 4
	e.c.CreateTopic(t, topic, queues)
	p := e.producer()

	box1 := &inbox{}
	c1 := e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box1)
	sendN(t, p, topic, "first", 8)
	box1.wait(t, 8)
	e.waitCaughtUp(c1, topic, queueIDs(queues))
	c1.stop()
	waitCommitted(t, e, group, topic, queues)

	sendN(t, p, topic, "away", 8)
	future := time.Now().UTC().Add(time.Hour).Format("20060102150405")
	box2 := &inbox{}
	c2 := e.pushConsumer(group, topic, "*", consumer.ConsumeFromTimestamp, box2, consumer.WithConsumeTimestamp(future))
	e.waitCaughtUp(c2, topic, queueIDs(queues))
	got, dups := box2.distinct()
	requireSet(t, "returning group's messages", bodies(got), wantBodies(topic, "away", 8))
	if dups != 0 {
		t.Fatalf("%d duplicate deliveries", dups)
	}
}

// oldTopic makes a one-queue topic whose first messages are gone, the state of any topic
// older than the broker's retention: the store deletes every CommitLog segment but the
// one being written as soon as it can (diskSpaceCleanForciblyRatio far below the disk's real usage),
// and 8 incompressible 200 KiB messages span two 1 MiB segments (five fit in one). It
// returns once the queue's min offset is above 0.
func oldTopic(t *testing.T) (*env, rocketmq.Producer, string) {
	t.Helper()
	e := newEnv(t, cluster.WithStoreOptions(func(o *store.Options) {
		o.DiskWarnRatio = 1e-9
		o.DiskMaxRatio = 1
	}))
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 1)
	p := e.producer()
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 8; i++ {
		m := message(topic, "aged", i)
		body := make([]byte, 200<<10)
		for j := range body {
			body[j] = byte(rnd.Uint32())
		}
		m.Body = append([]byte(fmt.Sprintf("aged-%d:", i)), body...)
		sendSync(t, p, m)
	}
	testutil.Eventually(t, 20*time.Second, "retention to delete the topic's first messages", func() bool { return e.c.MinOffset(t, topic, 0) > 0 })

	return e, p, topic
}

// CONSUME_FROM_LAST_OFFSET on a topic whose first messages have expired: a new group
// starts at the end of the queue. Messages stored before it started are not delivered;
// those stored after are.
func TestConsumeFromLastOffsetOldTopic(t *testing.T) {
	t.Parallel()
	e, p, topic := oldTopic(t)
	sendN(t, p, topic, "before", 3)

	box := &inbox{}
	pc := e.pushConsumer(e.name("CG"), topic, "*", consumer.ConsumeFromLastOffset, box)
	testutil.Eventually(t, settleTimeout, "the consumer to own the queue", func() bool { return len(pc.queues(topic)) == 1 })
	sendN(t, p, topic, "after", 3)
	box.wait(t, 3)
	e.waitCaughtUp(pc, topic, queueIDs(1))
	got, _ := box.distinct()
	requireSet(t, "CONSUME_FROM_LAST_OFFSET on an old topic", bodies(got), wantBodies(topic, "after", 3))
}

// CONSUME_FROM_FIRST_OFFSET on a topic whose first messages have expired: a new group
// starts at the earliest message still stored (the client first asks for offset 0 and
// is moved to the queue's min offset by PULL_OFFSET_MOVED).
func TestConsumeFromFirstOffsetOldTopic(t *testing.T) {
	t.Parallel()
	e, p, topic := oldTopic(t)
	sendN(t, p, topic, "fresh", 3)
	first := e.c.MinOffset(t, topic, 0)
	end := acked.max(topic, 0)

	box := &inbox{}
	box.timeout = 60 * time.Second // PULL_OFFSET_MOVED costs the client a 10 s pause and a rebalance
	e.pushConsumer(e.name("CG"), topic, "*", consumer.ConsumeFromFirstOffset, box)
	got := box.wait(t, int(end-first))
	if got[0].QueueOffset != first || got[len(got)-1].QueueOffset != end-1 || len(got) != int(end-first) {
		t.Fatalf("delivered offsets %d..%d (%d messages), want the stored range %d..%d",
			got[0].QueueOffset, got[len(got)-1].QueueOffset, len(got), first, end-1)
	}
	for b := range wantBodies(topic, "fresh", 3) {
		if !bodies(got)[b] {
			t.Fatalf("message %q stored after the deletion was not delivered", b)
		}
	}
}
