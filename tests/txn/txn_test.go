package txn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// kind is what a test transaction does: its local outcome at send time, and for the
// undecided ones, how many check-backs it answers "unknown" before its final outcome.
type kind int

const (
	commit kind = iota
	rollback
	unknownThenCommit
	unknownThenRollback
)

func (k kind) String() string {
	return [...]string{"commit", "rollback", "unknown-commit", "unknown-rollback"}[k]
}

func (k kind) committed() bool { return k == commit || k == unknownThenCommit }

// plan is one transaction of a test.
type plan struct {
	kind     kind
	unknowns int // check-backs answered UnknownTransaction before the final outcome
}

// ledger is the producers' shared "database": the plan of every transaction by
// message body, and the check-backs each got. Any producer of the group answers from
// it, as an application answers from its database.
type ledger struct {
	mu     sync.Mutex
	plans  map[string]plan
	checks map[string]int
}

func newLedger() *ledger { return &ledger{plans: map[string]plan{}, checks: map[string]int{}} }

func (l *ledger) add(body string, p plan) {
	l.mu.Lock()
	l.plans[body] = p
	l.mu.Unlock()
}

func (l *ledger) listener() client.TransactionListener {
	return client.TransactionFuncs{
		Execute: func(_ context.Context, m *client.Message, _ any) client.LocalTransactionState {
			l.mu.Lock()
			p := l.plans[string(m.Body)]
			l.mu.Unlock()
			switch p.kind {
			case commit:
				return client.CommitTransaction
			case rollback:
				return client.RollbackTransaction
			}
			return client.UnknownTransaction
		},
		Check: func(_ context.Context, m *client.MessageExt) client.LocalTransactionState {
			l.mu.Lock()
			defer l.mu.Unlock()
			b := string(m.Body)
			l.checks[b]++
			p, ok := l.plans[b]
			switch {
			case !ok:
				return client.UnknownTransaction
			case l.checks[b] <= p.unknowns:
				return client.UnknownTransaction
			case p.kind.committed():
				return client.CommitTransaction
			}
			return client.RollbackTransaction
		},
	}
}

func (l *ledger) planOf(body string) plan {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.plans[body]
}

func (l *ledger) checksOf(body string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checks[body]
}

// sendAll sends every body of plans through tp with the given concurrency and checks
// each result against its plan.
func sendAll(t *testing.T, tp *client.TransactionProducer, topic string, bodies []string, l *ledger, workers int) {
	t.Helper()
	var wg sync.WaitGroup
	jobs := make(chan string)
	errs := make(chan error, len(bodies))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res, err := tp.SendMessageInTransaction(ctx, client.NewMessage(topic, []byte(b)).WithKeys(b), nil)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("send %s: %w", b, err)
					continue
				}
				l.mu.Lock()
				k := l.plans[b].kind
				l.mu.Unlock()
				want := map[kind]client.LocalTransactionState{commit: client.CommitTransaction, rollback: client.RollbackTransaction,
					unknownThenCommit: client.UnknownTransaction, unknownThenRollback: client.UnknownTransaction}[k]
				if res.State != want || res.EndError != nil || res.Status != client.SendOK {
					errs <- fmt.Errorf("send %s: state %v (want %v), status %v, end error %v", b, res.State, want, res.Status, res.EndError)
				}
			}
		}()
	}
	for _, b := range bodies {
		jobs <- b
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func TestCommitRollbackUnknown(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	const topic, group = "TxBasic", "PG_TxBasic"
	c.CreateTopic(t, topic, 4)
	box := startConsumer(t, c.NamesrvAddr(), "CG_TxBasic", topic)
	l := newLedger()
	tp := startTxProducer(t, c.NamesrvAddr(), group, l.listener())

	var bodies []string
	want := map[string]bool{}
	for _, k := range []kind{commit, rollback, unknownThenCommit, unknownThenRollback} {
		for i := 0; i < 3; i++ {
			b := fmt.Sprintf("%s-%d", k, i)
			l.add(b, plan{kind: k, unknowns: i % 2})
			bodies = append(bodies, b)
			if k.committed() {
				want[b] = true
			}
		}
	}
	sendAll(t, tp, topic, bodies, l, 1)
	waitNoPending(t, startAdmin(t, c.NamesrvAddr()), group)
	requireExactly(t, c, box, topic, 4, want)
	for _, b := range bodies {
		p := l.planOf(b)
		n := l.checksOf(b)
		if (p.kind == commit || p.kind == rollback) && n != 0 {
			t.Errorf("%s: %d check-backs for a transaction decided at once", b, n)
		}
		if (p.kind == unknownThenCommit || p.kind == unknownThenRollback) && n < p.unknowns+1 {
			t.Errorf("%s: %d check-backs, want at least %d", b, n, p.unknowns+1)
		}
	}
}

// TestRandomOutcomes runs 1,000 transactions with random outcomes (commit, rollback,
// unknown-then-commit, unknown-then-rollback, the unknown ones answering "unknown" to
// 0–2 check-backs first) through eight concurrent senders: the consumed set must be
// the committed set exactly.
func TestRandomOutcomes(t *testing.T) {
	t.Parallel()
	n := 1000
	if testing.Short() {
		n = 200
	}
	c := startCluster(t)
	const topic, group = "TxRandom", "PG_TxRandom"
	c.CreateTopic(t, topic, 8)
	box := startConsumer(t, c.NamesrvAddr(), "CG_TxRandom", topic)
	l := newLedger()
	tp := startTxProducer(t, c.NamesrvAddr(), group, l.listener())

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	bodies := make([]string, n)
	want := map[string]bool{}
	perKind := map[kind]int{}
	for i := range bodies {
		p := plan{kind: kind(rng.IntN(4))}
		if p.kind == unknownThenCommit || p.kind == unknownThenRollback {
			p.unknowns = rng.IntN(3)
		}
		bodies[i] = fmt.Sprintf("tx-%04d-%s", i, p.kind)
		l.add(bodies[i], p)
		perKind[p.kind]++
		if p.kind.committed() {
			want[bodies[i]] = true
		}
	}
	began := time.Now()
	sendAll(t, tp, topic, bodies, l, 8)
	sent := time.Since(began)
	waitNoPending(t, startAdmin(t, c.NamesrvAddr()), group)
	resolved := time.Since(began)
	requireExactly(t, c, box, topic, 8, want)

	// Check-backs per undecided transaction, against the "unknown" answers it gave
	// first: each needs at least unknowns+1.
	hist := map[int]int{}
	extra, total, undecided, earlyChecks := 0, 0, 0, 0
	for _, b := range bodies {
		p := l.planOf(b)
		got := l.checksOf(b)
		if p.kind == commit || p.kind == rollback {
			earlyChecks += got
			continue
		}
		undecided++
		total += got
		hist[got]++
		if got < p.unknowns+1 {
			t.Errorf("%s: %d check-backs, but it answered unknown %d times first", b, got, p.unknowns)
		}
		extra += got - (p.unknowns + 1)
	}
	var keys []int
	for k := range hist {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d checks: %d", k, hist[k]))
	}
	t.Logf("%d transactions (%d commit, %d rollback, %d unknown-then-commit, %d unknown-then-rollback): sent in %v, all resolved after %v",
		n, perKind[commit], perKind[rollback], perKind[unknownThenCommit], perKind[unknownThenRollback], sent.Round(time.Millisecond), resolved.Round(time.Millisecond))
	t.Logf("check-backs per unknown transaction: mean %.2f over %d; %s; %d beyond the unknown answers+1; %d on transactions decided at send",
		float64(total)/float64(max(undecided, 1)), undecided, strings.Join(parts, ", "), extra, earlyChecks)
	t.Logf("consumed %d messages = committed set of %d, no duplicates, no rolled-back message", len(want), len(want))
}

// TestAdminPendingAndResolve lists undecided transactions through the admin API,
// resolves two by hand, and lets the third run out of check-backs.
func TestAdminPendingAndResolve(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t, cluster.WithBrokerOptions(func(o *broker.Options) {
		o.TransactionCheckInterval = checkInterval
		o.TransactionTimeout = txnTimeout
		o.TransactionCheckMax = 3
	}))
	const topic, group = "TxAdmin", "PG_TxAdmin"
	c.CreateTopic(t, topic, 2)
	box := startConsumer(t, c.NamesrvAddr(), "CG_TxAdmin", topic)
	var mu sync.Mutex
	checks := map[string]int{}
	tp := startTxProducer(t, c.NamesrvAddr(), group, client.TransactionFuncs{
		Execute: func(context.Context, *client.Message, any) client.LocalTransactionState {
			return client.UnknownTransaction
		},
		Check: func(_ context.Context, m *client.MessageExt) client.LocalTransactionState {
			mu.Lock()
			checks[string(m.Body)]++
			mu.Unlock()
			return client.UnknownTransaction
		},
	})
	ids := map[string]string{}
	for _, b := range []string{"admin-commit", "admin-rollback", "admin-abandoned"} {
		res, err := tp.SendMessageInTransaction(context.Background(), client.NewMessage(topic, []byte(b)), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[b] = res.MsgID
	}
	a := startAdmin(t, c.NamesrvAddr())
	ctx := context.Background()
	// The listing follows the dispatcher, a moment behind the sends' answers.
	var pending []client.PendingTransaction
	var err error
	if !testutil.Poll(waitTimeout, func() bool {
		pending, err = a.PendingTransactions(ctx, group, 0, client.Target{})
		return err == nil && len(pending) == 3
	}) {
		t.Fatalf("pending: %+v (%v)", pending, err)
	}
	byID := map[string]client.PendingTransaction{}
	for _, p := range pending {
		byID[p.MsgID] = p
		if p.ProducerGroup != group || p.MessageQueue.Topic != topic || p.BrokerName != c.BrokerName() || p.BrokerAddr != c.BrokerAddr() {
			t.Fatalf("pending entry %+v", p)
		}
	}
	if other, err := a.PendingTransactions(ctx, "PG_nobody", 0, client.Target{}); err != nil || len(other) != 0 {
		t.Fatalf("another group's pending: %v %v", other, err)
	}
	if err := a.ResolveTransaction(ctx, byID[ids["admin-commit"]], true); err != nil {
		t.Fatal(err)
	}
	if err := a.ResolveTransaction(ctx, byID[ids["admin-rollback"]], false); err != nil {
		t.Fatal(err)
	}
	if err := a.ResolveTransaction(ctx, byID[ids["admin-commit"]], true); err != nil {
		t.Fatalf("resolving again the same way: %v", err)
	}
	if err := a.ResolveTransaction(ctx, byID[ids["admin-rollback"]], true); err == nil {
		t.Fatalf("committing a rolled back transaction succeeded")
	}
	// The third is checked back transactionCheckMax (3) times, then given up.
	testutil.Eventually(t, waitTimeout,

		"the abandoned transaction to be checked back", func() bool {
			p, err := a.PendingTransactions(ctx, group, 0, client.Target{})
			return err == nil && len(p) == 1 && p[0].MsgID == ids["admin-abandoned"] && p[0].Checks >= 1
		})

	waitNoPending(t, a, group)
	mu.Lock()
	n := checks["admin-abandoned"]
	mu.Unlock()
	if n != 3 {
		t.Fatalf("abandoned transaction checked back %d times, want transactionCheckMax = 3", n)
	}
	if got := c.MaxOffset(t, "TRANS_CHECK_MAX_TIME_TOPIC", 0); got != 1 {
		t.Fatalf("TRANS_CHECK_MAX_TIME_TOPIC holds %d messages, want 1", got)
	}
	requireExactly(t, c, box, topic, 2, map[string]bool{"admin-commit": true})
}
