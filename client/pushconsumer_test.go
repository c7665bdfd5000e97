package client

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// TestPullRequestHeader checks what a push consumer puts in PULL_MESSAGE: long poll and
// subscription bits, the expression, the batch size, the suspend timeout, and the
// commit-offset bit with the consumed offset once there is one.
func TestPullRequestHeader(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "a", "m0", "m1", "m2")
	rec := &recorder{}
	pc := newFakePush(t, ns, "g", WithPullBatchSize(2), WithPullTimeouts(3*time.Second, 9*time.Second))
	startFake(t, pc, "T", ByTag("a || b"), rec.listen)
	testutil.Eventually(t, 5*time.Second, "3 messages", func() bool { return len(rec.got()) == 3 })
	testutil.Eventually(t, 5*time.Second,

		"a pull carrying commit offset 3", func() bool {
			for _, p := range b.pullsOf(0, "T") {
				if p.SysFlag&header.PullCommitOffset != 0 && p.CommitOffset == 3 {
					return true
				}
			}
			return false
		})

	first := b.pullsOf(0, "T")[0]
	if first.SysFlag != header.PullSuspend|header.PullSubscription || first.Subscription != "a || b" ||
		first.ExpressionType != "TAG" || first.MaxMsgNums != 2 || first.SuspendTimeoutMillis != 3000 || first.QueueOffset != 0 {
		t.Errorf("first pull %+v", first)
	}
	if got := b.pullsOf(0, "T")[1].QueueOffset; got != 2 {
		t.Errorf("second pull at %d, want 2", got)
	}
}

// TestPullOffsetMoved answers PULL_OFFSET_MOVED and checks that the consumer jumps to
// nextBeginOffset, commits it, and reports it.
func TestPullOffsetMoved(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0", "m1", "m2", "m3", "m4", "m5")
	var moved atomic.Bool
	b.setOnPull(func(h header.PullMessageRequest) *codec.Command {
		if h.Topic == "T" && h.QueueOffset == 0 && moved.CompareAndSwap(false, true) {
			return pullResponse(&codec.Command{}, code.PullOffsetMoved, 4, 6)
		}
		return nil
	})
	var events []int64
	var mu sync.Mutex
	rec := &recorder{}
	pc := newFakePush(t, ns, "g", WithConsumerEvents(ConsumerEvents{OffsetIllegal: func(_ MessageQueue, from, to int64) {
		mu.Lock()
		events = append(events, from, to)
		mu.Unlock()
	}}))
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "messages after the moved offset", func() bool { return len(rec.got()) == 2 })
	if got := slices.Sorted(slices.Values(rec.got())); !slices.Equal(got, []string{"m4", "m5"}) {
		t.Errorf("got %v, want m4 m5", got)
	}
	testutil.Eventually(t, 5*time.Second, "commit 6", func() bool { off, _ := b.committedOffset("T", 0); return off == 6 })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, []int64{0, 4}) {
		t.Errorf("OffsetIllegal events %v, want [0 4]", events)
	}
}

// TestPullDamagedBody answers a body whose last record is cut short: the good records
// are consumed, and the next pull starts right after them, not at nextBeginOffset.
func TestPullDamagedBody(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0", "m1", "m2", "m3")
	var once atomic.Bool
	b.setOnPull(func(h header.PullMessageRequest) *codec.Command {
		if h.Topic != "T" || h.QueueOffset != 0 || !once.CompareAndSwap(false, true) {
			return nil
		}
		b.mu.Lock()
		recs := b.records[0]
		resp := pullResponse(&codec.Command{}, code.Success, 4, 4)
		resp.Body = append(append(append([]byte{}, recs[0]...), recs[1]...), recs[2][:20]...)
		b.mu.Unlock()
		return resp
	})
	rec := &recorder{}
	startFake(t, newFakePush(t, ns, "g"), "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "all four messages", func() bool { return len(rec.got()) == 4 })
	if got := slices.Sorted(slices.Values(rec.got())); !slices.Equal(got, []string{"m0", "m1", "m2", "m3"}) {
		t.Errorf("got %v", got)
	}
	if p := b.pullsOf(0, "T"); len(p) < 2 || p[1].QueueOffset != 2 {
		t.Errorf("pull after the damaged body at %d, want 2", p[1].QueueOffset)
	}
}

// TestPullUnexpectedCodeBacksOff answers SUBSCRIPTION_NOT_EXIST once: the failure is
// reported and the same offset pulled again after the back-off.
func TestPullUnexpectedCodeBacksOff(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0")
	var once atomic.Bool
	b.setOnPull(func(h header.PullMessageRequest) *codec.Command {
		if h.Topic == "T" && once.CompareAndSwap(false, true) {
			return (&codec.Command{}).NewResponse(code.SubscriptionNotExist, "no subscription")
		}
		return nil
	})
	var failures atomic.Int32
	var failCode atomic.Int32
	rec := &recorder{}
	pc := newFakePush(t, ns, "g", WithConsumerEvents(ConsumerEvents{PullFailed: func(mq MessageQueue, err error) {
		if c, ok := CodeOf(err); ok && mq.Topic == "T" {
			failCode.Store(int32(c))
			failures.Add(1)
		}
	}}))
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "message after the failure", func() bool { return len(rec.got()) == 1 })
	if failures.Load() != 1 || failCode.Load() != code.SubscriptionNotExist {
		t.Errorf("PullFailed %d times, code %d", failures.Load(), failCode.Load())
	}
	if p := b.pullsOf(0, "T"); p[0].QueueOffset != 0 || p[1].QueueOffset != 0 {
		t.Errorf("retry pulled %d, want the same offset 0", p[1].QueueOffset)
	}
}

// TestSendBackCheckedAndRetriedLocally makes the listener fail a message three times
// and the broker refuse the first two send-backs (REQUEST_CODE_NOT_SUPPORTED, then
// SYSTEM_ERROR): the consumer must surface each refusal, retry the message locally, not
// commit past it meanwhile, and send the right header; the third send-back succeeds
// and the queue moves on.
func TestSendBackCheckedAndRetriedLocally(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0", "m1", "m2")
	var refusals atomic.Int32
	var committedWhilePending atomic.Int64
	b.mu.Lock()
	b.onSendBack = func(header.ConsumerSendMsgBackRequest) int32 {
		n := refusals.Add(1)
		if n == 3 {
			// m1 (offset 1) has been pending since the first failure: nothing past
			// it may have been committed yet.
			for _, c := range b.commitsOf("T", 0) {
				committedWhilePending.Store(max(committedWhilePending.Load(), c))
			}
		}
		switch n {
		case 1:
			return code.RequestCodeNotSupported
		case 2:
			return code.SystemError
		}
		return code.Success
	}
	b.mu.Unlock()
	var attempts atomic.Int32
	rec := &recorder{result: func(m *MessageExt) ConsumeResult {
		if string(m.Body) == "m1" && attempts.Add(1) <= 3 {
			return ConsumeRetryLater
		}
		return ConsumeSuccess
	}}
	var failed []error
	var mu sync.Mutex
	pc := newFakePush(t, ns, "g", WithRetryDelay(50*time.Millisecond), WithConsumerEvents(ConsumerEvents{
		SendBackFailed: func(_ *MessageExt, err error) {
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		},
	}))
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "three send-backs", func() bool { return len(b.sendBackRequests()) == 3 })
	if c := committedWhilePending.Load(); c > 1 {
		t.Errorf("committed offset %d while m1 (offset 1) was still pending", c)
	}
	// The third failure was sent back successfully: the message is the broker's now,
	// and the queue commits past it.
	testutil.Eventually(t, 5*time.Second, "commit 3", func() bool { off, _ := b.committedOffset("T", 0); return off == 3 })
	mu.Lock()
	var codes []int32
	for _, err := range failed {
		c, _ := CodeOf(err)
		codes = append(codes, c)
	}
	mu.Unlock()
	if !slices.Equal(codes, []int32{code.RequestCodeNotSupported, code.SystemError}) {
		t.Errorf("SendBackFailed codes %v, want [3 1]", codes)
	}
	sb := b.sendBackRequests()[0]
	if sb.Group != "g" || sb.DelayLevel != 0 || sb.OriginTopic != "T" || sb.OriginMsgID != "U-m1" ||
		sb.MaxReconsumeTimes == nil || *sb.MaxReconsumeTimes != 16 || sb.Offset <= 0 {
		t.Errorf("send-back header %+v", sb)
	}
	var m1 []int32
	rec.mu.Lock()
	for _, m := range rec.msgs {
		if string(m.Body) == "m1" {
			m1 = append(m1, m.ReconsumeTimes)
		}
	}
	rec.mu.Unlock()
	if !slices.Equal(m1, []int32{0, 1, 2}) {
		t.Errorf("m1 seen with reconsume times %v, want [0 1 2] (from the broker, then retried locally twice)", m1)
	}
}

// TestOrderlyDeadLetter fails an orderly message every time with max reconsume 2: it
// is retried in place twice, then sent back with delay level -1 (the dead-letter
// queue), and the queue moves on to the next message only then.
func TestOrderlyDeadLetter(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0", "m1", "m2")
	rec := &recorder{result: func(m *MessageExt) ConsumeResult {
		if string(m.Body) == "m1" {
			return ConsumeRetryLater
		}
		return ConsumeSuccess
	}}
	pc := newFakePush(t, ns, "g", WithConsumeOrderly(), WithMaxReconsumeTimes(2), WithSuspendInterval(20*time.Millisecond))
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "m2 after the dead-lettered m1", func() bool { return slices.Contains(rec.got(), "m2") })
	if got := rec.got(); !slices.Equal(got, []string{"m0", "m1", "m1", "m1", "m2"}) {
		t.Errorf("deliveries %v", got)
	}
	sb := b.sendBackRequests()
	if len(sb) != 1 || sb[0].DelayLevel != -1 || sb[0].OriginMsgID != "U-m1" {
		t.Errorf("send-backs %+v, want one with delay level -1", sb)
	}
	b.mu.Lock()
	locks := b.locks
	b.mu.Unlock()
	if locks == 0 {
		t.Error("orderly clustering consumer never locked its queue")
	}
	shutdownNow(t, pc)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.unlocks == 0 {
		t.Error("queue not unlocked at shutdown")
	}
}

// TestRebalanceKeepsQueuesWhenListFails checks that a failing GET_CONSUMER_LIST_BY_GROUP
// leaves the member's queues alone, and that a list without the member (its heartbeat
// not seen yet) does not drop them either.
func TestRebalanceKeepsQueuesWhenListFails(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 4, "g")
	rec := &recorder{}
	pc := newFakePush(t, ns, "g")
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "all queues", func() bool { return len(pc.Assignment()) == 5 })
	var lists atomic.Int32
	b.mu.Lock()
	b.onList = func() *codec.Command {
		if lists.Add(1)%2 == 0 {
			return (&codec.Command{}).NewResponse(code.SystemError, "no consumer for this group")
		}
		r := (&codec.Command{}).NewResponse(code.Success, "")
		r.Body = []byte(`{"consumerIdList":["someone-else@1"]}`)
		return r
	}
	b.mu.Unlock()
	testutil.Eventually(t, 5*time.Second, "several rebalance rounds", func() bool { return lists.Load() >= 6 })
	if got := len(pc.Assignment()); got != 5 {
		t.Errorf("assignment shrank to %d queues", got)
	}
	// A real second member: the queues split.
	b.mu.Lock()
	b.onList = nil
	b.members = []string{pc.ClientID(), "zzz@2"}
	b.mu.Unlock()
	pc.core.kickRebalance()
	testutil.Eventually(t, 5*time.Second, "half of the topic plus the retry queue", func() bool { return len(pc.Assignment()) == 3 })
}

// TestPushConsumerOptionsValidate checks constructor errors.
func TestPushConsumerOptionsValidate(t *testing.T) {
	if _, err := NewPushConsumer(WithNameServer("127.0.0.1:1")); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("no group: %v", err)
	}
	if _, err := NewPushConsumer(WithConsumerGroup("g")); !errors.Is(err, ErrNoNameServer) {
		t.Errorf("no name server: %v", err)
	}
	if _, err := NewPushConsumer(WithConsumerGroup("g"), WithNameServer("127.0.0.1:1"),
		WithPullTimeouts(10*time.Second, 5*time.Second)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("long poll above timeout: %v", err)
	}
	pc, err := NewPushConsumer(WithConsumerGroup("g"), WithNameServer("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe("%RETRY%g", SelectAll, (&recorder{}).listen); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("subscribe to a retry topic: %v", err)
	}
	if err := pc.Subscribe("T", SelectAll, nil); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil listener: %v", err)
	}
	if err := pc.Start(context.Background()); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("start with nothing subscribed: %v", err)
	}
	if pc.o.maxReconsumeTimes() != 16 {
		t.Errorf("default max reconsume %d", pc.o.maxReconsumeTimes())
	}
}

// shutdownNow shuts a consumer down within 10 s.
func shutdownNow(t *testing.T, pc *PushConsumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pc.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestShutdownBoundedByContext gives Shutdown a short context while a listener call
// hangs until its own context is cancelled: Shutdown must cancel the listener's
// context, return an error wrapping the deadline, and not commit the unfinished message.
func TestShutdownBoundedByContext(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0")
	entered := make(chan struct{})
	var once sync.Once
	pc := newFakePush(t, ns, "g")
	startFake(t, pc, "T", SelectAll, func(ctx context.Context, _ []*MessageExt) (ConsumeResult, error) {
		once.Do(func() { close(entered) })
		<-ctx.Done()
		return ConsumeSuccess, nil // too late: the queue is frozen by now
	})
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("listener never called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := pc.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	if off, ok := b.committedOffset("T", 0); ok && off > 0 {
		t.Errorf("unfinished message committed: offset %d", off)
	}
}

// TestConsumersLeaveNoGoroutines starts and shuts down an orderly push consumer, a
// broadcasting push consumer and a lite pull consumer against the fake broker and
// checks that the goroutine count returns to where it was.
func TestConsumersLeaveNoGoroutines(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 2, "g")
	b.add(t, "T", 0, "", "m0", "m1")
	b.add(t, "T", 1, "", "m2")
	// Warm the fake up so its own goroutines exist before the baseline.
	warm := newFakePush(t, ns, "warm")
	rec := &recorder{}
	startFake(t, warm, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "warm-up", func() bool { return len(rec.got()) == 3 })
	shutdownNow(t, warm)
	base := stableGoroutines(t, -1)

	orderly := newFakePush(t, ns, "g1", WithConsumeOrderly())
	bcast := newFakePush(t, ns, "g2", WithMessageModel(Broadcasting))
	recs := []*recorder{{}, {}, {}}
	if err := orderly.Subscribe("T", SelectAll, recs[0].listen); err != nil {
		t.Fatal(err)
	}
	if err := bcast.Subscribe("T", SelectAll, recs[1].listen); err != nil {
		t.Fatal(err)
	}
	pull, err := NewPullConsumer(WithNameServer(ns.addr), WithInstanceName(uniqueInstance(t)), WithConsumerGroup("g3"),
		WithConsumeFrom(ConsumeFromFirstOffset))
	if err != nil {
		t.Fatal(err)
	}
	if err := pull.Subscribe("T", SelectAll); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []interface{ Start(context.Context) error }{orderly, bcast, pull} {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 5*time.Second, "orderly got everything", func() bool { return len(recs[0].got()) == 3 })
	testutil.Eventually(t, 5*time.Second, "broadcast got everything", func() bool { return len(recs[1].got()) == 3 })
	polled := 0
	for polled < 3 {
		msgs, err := pull.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		polled += len(msgs)
	}
	if runtime.NumGoroutine() <= base {
		t.Fatalf("running consumers add no goroutines: the test would prove nothing")
	}
	for _, s := range []interface{ Shutdown(context.Context) error }{orderly, bcast, pull} {
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stableGoroutines(t, base)
}

// TestPullTimeoutPullsSameOffsetAgain: a broker that holds a pull past the pull
// timeout makes the consumer give that pull up and pull the same offset again; the
// held pull's answer, when it comes at last, is dropped (here it would have moved the
// queue to offset 100), and shutting down while a pull is held ends that pull at once
// rather than at its timeout (the client's close fails it, whether or not the queue's
// context is watched).
func TestPullTimeoutPullsSameOffsetAgain(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0", "m1")
	// The first pull at offset 0 is held until after its timeout; the pull at offset 2
	// is held until the test ends, so that it is in flight when the consumer shuts down.
	releaseFirst, releaseLast := make(chan struct{}), make(chan struct{})
	var held atomic.Int32
	b.setOnPull(func(h header.PullMessageRequest) *codec.Command {
		if h.Topic != "T" {
			return nil
		}
		switch {
		case h.QueueOffset == 0 && held.Add(1) == 1:
			<-releaseFirst
			return pullResponse(&codec.Command{}, code.PullOffsetMoved, 100, 100)
		case h.QueueOffset == 2:
			<-releaseLast
			return pullResponse(&codec.Command{}, code.PullOffsetMoved, 200, 200)
		}
		return nil
	})
	defer close(releaseLast)
	released := false
	defer func() {
		if !released {
			close(releaseFirst)
		}
	}()
	var moved atomic.Int64
	var failed atomic.Pointer[error]
	rec := &recorder{}
	const timeout = time.Second
	pc := newFakePush(t, ns, "g", WithPullTimeouts(100*time.Millisecond, timeout),
		WithConsumerEvents(ConsumerEvents{
			OffsetIllegal: func(_ MessageQueue, _, next int64) { moved.Store(next) },
			PullFailed:    func(_ MessageQueue, err error) { failed.CompareAndSwap(nil, &err) },
		}))
	start := time.Now()
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "m0 and m1 after the held pull timed out", func() bool { return len(rec.got()) == 2 })
	if got := slices.Sorted(slices.Values(rec.got())); !slices.Equal(got, []string{"m0", "m1"}) {
		t.Fatalf("consumed %q, want m0 and m1 once each", got)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("messages after %v: the held pull was not waited for its timeout (%v)", d, timeout)
	}
	pulls := b.pullsOf(0, "T")
	if len(pulls) < 2 || pulls[0].QueueOffset != 0 || pulls[1].QueueOffset != 0 {
		t.Fatalf("pulls %+v: want offset 0 twice first", pulls)
	}
	if e := failed.Load(); e == nil || !errors.Is(*e, codec.ErrTimeout) || !errors.Is(*e, context.DeadlineExceeded) {
		t.Errorf("first pull failure %v, want a timeout", e)
	}
	// The last pull (offset 2) is held now; its answer comes only after shutdown.
	testutil.Eventually(t, 5*time.Second, "the pull at offset 2", func() bool {
		p := b.pullsOf(0, "T")
		return p[len(p)-1].QueueOffset == 2
	})
	close(releaseFirst) // the first held answer reaches a consumer that gave it up
	released = true
	stop := time.Now()
	if err := pc.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(stop); d >= timeout {
		t.Errorf("shutdown took %v: the held pull was waited for", d)
	}
	if n := moved.Load(); n != 0 {
		t.Errorf("a dropped answer moved the queue to %d", n)
	}
	for _, c := range b.commitsOf("T", 0) {
		if c != 2 && c != 0 {
			t.Errorf("committed %d, want 2 (commits %v)", c, b.commitsOf("T", 0))
		}
	}
	if off, ok := b.committedOffset("T", 0); !ok || off != 2 {
		t.Errorf("committed offset %d (%v), want 2", off, ok)
	}
}
