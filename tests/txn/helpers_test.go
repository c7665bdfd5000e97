package txn

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// Check-back settings of the test brokers: a half message is first checked about
// half a second after it was stored, then every 200ms.
const (
	checkInterval = 200 * time.Millisecond
	txnTimeout    = 500 * time.Millisecond
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 30 * time.Second

// startCluster starts a NameServer and a broker with short check-back settings.
func startCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	return cluster.Start(t, cluster.WithBrokerOptions(func(o *broker.Options) {
		o.TransactionCheckInterval = checkInterval
		o.TransactionTimeout = txnTimeout
	}))
}

var instanceSeq atomic.Int64

// instanceName returns a fresh instance name: each client of a test is its own member.
func instanceName(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), instanceSeq.Add(1))
}

func logger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel).With().Timestamp().Logger()
}

// startTxProducer starts a transactional producer of group on nameserver ns.
func startTxProducer(t testing.TB, ns, group string, l client.TransactionListener) *client.TransactionProducer {
	t.Helper()
	tp, err := client.NewTransactionProducer(l,
		client.WithNameServer(ns),
		client.WithInstanceName(instanceName(t)),
		client.WithLogger(logger(t)),
		client.WithProducerGroup(group),
		client.WithHeartbeatInterval(200*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("new transaction producer: %v", err)
	}
	if err := tp.Start(context.Background()); err != nil {
		t.Fatalf("start transaction producer: %v", err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// inbox records what a push consumer receives, by body.
type inbox struct {
	mu   sync.Mutex
	seen map[string]int
}

func newInbox() *inbox { return &inbox{seen: map[string]int{}} }

func (b *inbox) listener(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range msgs {
		b.seen[string(m.Body)]++
	}
	return client.ConsumeSuccess, nil
}

func (b *inbox) snapshot() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.seen))
	for k, v := range b.seen {
		out[k] = v
	}
	return out
}

// startConsumer starts a push consumer of group on topic, from the first offset,
// with fast rebalance and commit rounds.
func startConsumer(t testing.TB, ns, group, topic string) *inbox {
	t.Helper()
	box := newInbox()
	pc, err := client.NewPushConsumer(
		client.WithNameServer(ns),
		client.WithInstanceName(instanceName(t)),
		client.WithLogger(logger(t)),
		client.WithConsumerGroup(group),
		client.WithOffsetDir(t.TempDir()),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset),
		client.WithRebalanceInterval(300*time.Millisecond),
		client.WithCommitInterval(200*time.Millisecond),
		client.WithPullTimeouts(2*time.Second, 5*time.Second),
		client.WithPullBackoff(200*time.Millisecond),
		client.WithHeartbeatInterval(200*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, client.SelectAll, box.listener); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		t.Fatalf("start push consumer: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown(context.Background()) })
	return box
}

// startAdmin returns an admin client of nameserver ns.
func startAdmin(t testing.TB, ns string) *client.Admin {
	t.Helper()
	a, err := client.NewAdmin(client.WithNameServer(ns), client.WithInstanceName(instanceName(t)), client.WithLogger(logger(t)))
	if err != nil {
		t.Fatalf("new admin: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// waitNoPending waits until the brokers hold no unresolved half message of group.
func waitNoPending(t testing.TB, a *client.Admin, group string) {
	t.Helper()
	var last []client.PendingTransaction
	var lastErr error
	ok := testutil.Poll(waitTimeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		last, lastErr = a.PendingTransactions(ctx, group, 10, client.Target{})
		return lastErr == nil && len(last) == 0
	})

	if !ok {
		t.Fatalf("transactions of %s still pending after %v: %v (%v)", group, waitTimeout, last, lastErr)
	}
}

// requireExactly waits until box holds every body of want, then checks that it holds
// nothing else, each body exactly once, and that topic holds exactly len(want)
// messages on the broker — so nothing else can still arrive.
func requireExactly(t testing.TB, c *cluster.Cluster, box *inbox, topic string, queues int, want map[string]bool) {
	t.Helper()
	requireExactlyStored(t, box, want, func() int64 {
		var n int64
		for q := 0; q < queues; q++ {
			n += c.MaxOffset(t, topic, q)
		}
		return n
	})
}

// requireExactlyStored is requireExactly with the topic's message count from stored.
func requireExactlyStored(t testing.TB, box *inbox, want map[string]bool, stored func() int64) {
	t.Helper()
	var got map[string]int
	ok := testutil.Poll(waitTimeout, func() bool {
		got = box.snapshot()
		for b := range want {
			if got[b] == 0 {
				return false
			}
		}
		return true
	})

	var missing, extra, dups []string
	for b := range want {
		if got[b] == 0 {
			missing = append(missing, b)
		}
	}
	for b, n := range got {
		if !want[b] {
			extra = append(extra, b)
		} else if n > 1 {
			dups = append(dups, fmt.Sprintf("%s×%d", b, n))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(dups)
	if !ok || len(extra) > 0 || len(dups) > 0 {
		t.Fatalf("consumed set differs from the committed set: %d missing %v, %d not committed %v, %d duplicated %v",
			len(missing), clip(missing), len(extra), clip(extra), len(dups), clip(dups))
	}
	if n := stored(); n != int64(len(want)) {
		t.Fatalf("the topic holds %d messages, %d were committed", n, len(want))
	}
}

// clip shortens a list for a failure message.
func clip(s []string) []string {
	if len(s) > 20 {
		return append(s[:20:20], fmt.Sprintf("... %d more", len(s)-20))
	}
	return s
}
