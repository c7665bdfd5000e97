package compat_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/failover"
)

// officialLoad sends SYNC messages with the official client until stopped, recording
// every SEND_OK with the queue and offset it names.
type officialLoad struct {
	p     rocketmq.Producer
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	acked failover.Acks
	sent  int
}

func startOfficialLoad(t *testing.T, ns string, senders int) *officialLoad {
	t.Helper()
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{ns}), producer.WithGroupName("failover-official"),
		producer.WithRetry(0), producer.WithSendMsgTimeout(4*time.Second), producer.WithInstanceName(fmt.Sprintf("fo-%d", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	l := &officialLoad{p: p, stop: make(chan struct{}), acked: failover.Acks{}}
	for s := 0; s < senders; s++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				b := fmt.Sprintf("o%d-m%d", s, i)
				res, err := p.SendSync(context.Background(), primitive.NewMessage(failover.Topic, []byte(b)))
				l.mu.Lock()
				l.sent++
				if err == nil && res.Status == primitive.SendOK {
					l.acked.Add(b, int32(res.MessageQueue.QueueId), res.QueueOffset)
				}
				l.mu.Unlock()
				if err != nil {
					select {
					case <-l.stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}
		}()
	}
	return l
}

func (l *officialLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *officialLoad) waitAcked(t *testing.T, n int, d time.Duration) {
	t.Helper()
	base := l.count()
	testutil.Eventually(t, d, fmt.Sprintf("%d more acknowledged sends", n), func() bool { return l.count() >= base+n })
}

// The official client v2.1.2 keeps sending SYNC messages while controller mode replaces
// a SIGKILLed master (once by default, 20 times with ROCKETGO_SOAK=1): a new master is
// elected within 10 s, the client reaches it once its route refreshes (every 30 s in
// v2.1.2), no message it saw acknowledged is lost or moved, and an official push consumer
// reading throughout receives every one of them.
func TestOfficialClientAcrossControllerFailover(t *testing.T) {
	c := failover.StartCluster(t)
	st := c.WaitSyncStateSet(3, 60*time.Second)
	failover.CreateTopic(t, c, st.Master)
	// An official push consumer reads the topic throughout; it must carry on across every
	// failover and end up with every acknowledged message.
	box := &inbox{}
	pc, err := rocketmq.NewPushConsumer(consumer.WithNameServer([]string{c.NS.Addr}), consumer.WithGroupName("failover-official-c"),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset), consumer.WithInstance(fmt.Sprintf("foc-%d", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(failover.Topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, box.handle); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	load := startOfficialLoad(t, c.NS.Addr, 4)
	load.waitAcked(t, 200, 60*time.Second)
	rounds := 1
	if failover.Soak() {
		rounds = 20
	}
	for i := 0; i < rounds; i++ {
		old := c.Broker(st.Master)
		old.Kill()
		var d time.Duration
		st, d = c.NewMaster(old.Addr, time.Now(), 20*time.Second)
		if d > 10*time.Second {
			t.Errorf("round %d: new master after %v", i, d)
		}
		t.Logf("round %d: killed %s; %s elected (epoch %d) after %v", i, old.Addr, st.Master, st.Epoch, d.Round(time.Millisecond))
		// The official client finds the new master at its next route refresh.
		load.waitAcked(t, 50, 90*time.Second)
		old.Restart(t)
		st = c.WaitSyncStateSet(3, 60*time.Second)
	}
	close(load.stop)
	load.wg.Wait()
	load.p.Shutdown()
	t.Logf("%d of %d official-client sends acknowledged across %d failover(s)", len(load.acked), load.sent, rounds)
	failover.CheckNoLoss(t, load.acked, failover.ReadAll(t, st.Master))
	// The consumer reaches the last master at its route refresh and reads on.
	deadline := time.Now().Add(120 * time.Second)
	for missing := load.acked.Missing(bodies(box.all())); missing != ""; missing = load.acked.Missing(bodies(box.all())) {
		if time.Now().After(deadline) {
			t.Fatalf("after 2m0s the push consumer still lacks acknowledged messages: %s; highest offsets it received: %s",
				missing, highestOffsets(box.all()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the push consumer received every one of the %d acknowledged messages", len(load.acked))
}

// highestOffsets gives, queue by queue, the highest queue offset among msgs.
func highestOffsets(msgs []*primitive.MessageExt) string {
	hi := map[int]int64{}
	for _, m := range msgs {
		if o, ok := hi[m.Queue.QueueId]; !ok || m.QueueOffset > o {
			hi[m.Queue.QueueId] = m.QueueOffset
		}
	}
	var out []string
	for _, q := range slices.Sorted(maps.Keys(hi)) {
		out = append(out, fmt.Sprintf("queue %d: %d", q, hi[q]))
	}
	return strings.Join(out, ", ")
}
