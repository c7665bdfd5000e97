package compat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/rocketgo/rocketgo/internal/testutil"
)

// The v2.1.2 pull consumer (consumer.NewPullConsumer) is a "lite pull" consumer: after
// Start it rebalances like a push consumer and runs one pull loop per owned queue
// (PULL_MESSAGE with the subscription in the request, sysflag 6); Poll hands out what
// those loops fetched and ACK advances the in-memory offsets, which are committed every
// 5 s and by PersistOffset. PullFrom reads one queue from a given offset directly.
//
// Its Pull(ctx, n) is not exercised: it round-robins over every owned queue including
// %RETRY%<group>, computes the start offset afresh on each call and never advances it,
// so it long-polls an empty retry queue for 20 s a quarter of the time — a client
// limitation, not a broker behaviour to pin down.

// newPullConsumer starts a pull consumer of group on topic; t.Cleanup shuts it down.
func (e *env) newPullConsumer(group, topic string) interface {
	Poll(ctx context.Context, timeout time.Duration) (*consumer.ConsumeRequest, error)
	ACK(ctx context.Context, cr *consumer.ConsumeRequest, result consumer.ConsumeResult)
	PullFrom(ctx context.Context, mq *primitive.MessageQueue, offset int64, n int) (*primitive.PullResult, error)
	PersistOffset(ctx context.Context, topic string) error
} {
	e.t.Helper()
	pc, err := consumer.NewPullConsumer(
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(group),
		consumer.WithInstance(e.instance()),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		// The pull consumer does not default PullBatchSize (the push consumer does, to
		// 32): left at 0 its loops would ask for 0 messages forever.
		consumer.WithPullBatchSize(8),
	)
	if err != nil {
		e.t.Fatalf("new pull consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}); err != nil {
		e.t.Fatalf("subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		e.t.Fatalf("start pull consumer: %v", err)
	}
	e.t.Cleanup(func() { _ = pc.Shutdown() })
	return pc
}

// Poll and ACK deliver every message once, each queue in offset order, and the acked
// offsets reach the broker.
func TestPullConsumerPollAndAck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	group := e.name("CG")
	const queues = 4
	e.c.CreateTopic(t, topic, queues)
	p := e.producer()
	const n = 24
	results := sendN(t, p, topic, "pull", n)

	pc := e.newPullConsumer(group, topic)
	var got []*primitive.MessageExt
	lastOffset := map[int]int64{}
	ok := testutil.Poll(consumeTimeout, func() bool {
		cr, err := pc.Poll(context.Background(), time.Second)
		if errors.Is(err, consumer.ErrNoNewMsg) {
			return len(got) >= n
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		for _, m := range cr.GetMsgList() {
			if m.Topic != topic {
				continue
			}
			q := m.Queue.QueueId
			if prev, seen := lastOffset[q]; seen && m.QueueOffset != prev+1 {
				t.Fatalf("queue %d: offset %d polled after %d", q, m.QueueOffset, prev)
			}
			lastOffset[q] = m.QueueOffset
			got = append(got, m)
		}
		pc.ACK(context.Background(), cr, consumer.ConsumeSuccess)
		return len(got) >= n
	})

	if !ok {
		t.Fatalf("polled %d messages within %v, want %d: %s", len(got), consumeTimeout, n, describe(got))
	}
	if len(got) != n {
		t.Fatalf("polled %d messages, want %d (duplicates?): %s", len(got), n, describe(got))
	}
	byB := byBody(t, got)
	for i, r := range results {
		m := message(topic, "pull", i)
		g := byB[string(m.Body)]
		if g == nil {
			t.Fatalf("message %d not polled", i)
		}
		if g.Queue.QueueId != r.MessageQueue.QueueId || g.QueueOffset != r.QueueOffset || g.MsgId != r.MsgID {
			t.Fatalf("message %d polled as q%d@%d id %s, acknowledged q%d@%d id %s", i, g.Queue.QueueId,
				g.QueueOffset, g.MsgId, r.MessageQueue.QueueId, r.QueueOffset, r.MsgID)
		}
	}
	if err := pc.PersistOffset(context.Background(), topic); err != nil {
		t.Fatalf("persist offsets: %v", err)
	}
	waitCommitted(t, e, group, topic, queues)
}

// PullFrom reads one queue from an offset: FOUND with the messages in order and the
// queue's bounds, and an offset past the end is OFFSET_ILLEGAL (PULL_OFFSET_MOVED, 21)
// with nextBeginOffset pointing back at the end (docs/protocol.md §2.4).
func TestPullConsumerPullFrom(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	e.c.CreateTopic(t, topic, 2)
	p := e.producer()
	results := sendN(t, p, topic, "pf", 10) // 5 per queue, round robin
	q := results[0].MessageQueue
	var want []string
	for i, r := range results {
		if r.MessageQueue.QueueId == q.QueueId {
			want = append(want, string(message(topic, "pf", i).Body))
		}
	}
	// A send is acknowledged once it is in the CommitLog; its ConsumeQueue entry follows
	// from the dispatcher a moment later, so wait until the queue shows all of them.
	testutil.Eventually(t, 5*time.Second, "the queue's max offset to cover every acknowledged send", func() bool { return e.c.MaxOffset(t, topic, q.QueueId) == int64(len(want)) })

	pc := e.newPullConsumer(e.name("CG"), topic)
	mq := &primitive.MessageQueue{Topic: topic, BrokerName: e.c.BrokerName(), QueueId: q.QueueId}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := pc.PullFrom(ctx, mq, 1, 3)
	if err != nil {
		t.Fatalf("pull from q%d@1: %v", q.QueueId, err)
	}
	if res.Status != primitive.PullFound {
		t.Fatalf("pull from q%d@1: status %v, want FOUND", q.QueueId, res.Status)
	}
	msgs := res.GetMessageExts()
	if len(msgs) != 3 || res.NextBeginOffset != 4 || res.MinOffset != 0 || res.MaxOffset != int64(len(want)) {
		t.Fatalf("pull 3 from q%d@1: %d messages, next %d, min %d, max %d; want 3, 4, 0, %d: %s", q.QueueId,
			len(msgs), res.NextBeginOffset, res.MinOffset, res.MaxOffset, len(want), describe(msgs))
	}
	for i, m := range msgs {
		if m.QueueOffset != int64(1+i) || string(m.Body) != want[1+i] {
			t.Fatalf("pulled message %d: q@%d %q, want @%d %q", i, m.QueueOffset, m.Body, 1+i, want[1+i])
		}
	}

	res, err = pc.PullFrom(ctx, mq, int64(len(want))+5, 3)
	if err != nil {
		t.Fatalf("pull past the end: %v", err)
	}
	if res.Status != primitive.PullOffsetIllegal || res.NextBeginOffset != int64(len(want)) {
		t.Fatalf("pull past the end (offset %d of %d): status %v next %d; want OFFSET_ILLEGAL next %d",
			len(want)+5, len(want), res.Status, res.NextBeginOffset, len(want))
	}
}
