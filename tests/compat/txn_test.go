package compat_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	remoting "github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// Transactional messages through the official client (docs/protocol.md §7): its
// TransactionProducer stores half messages (SEND_MESSAGE with TRAN_MSG=true, sysFlag
// 4), ends them with END_TRANSACTION (37) sent "oneway", and answers the broker's
// CHECK_TRANSACTION_STATE (39) with an END_TRANSACTION that echoes the check's offsets.
// The broker checks back every 200ms from 500ms on, so undecided transactions settle
// in test time.

// txnEnv starts a cluster with short check-back settings.
func txnEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, cluster.WithBrokerOptions(func(o *broker.Options) {
		o.TransactionCheckInterval = 200 * time.Millisecond
		o.TransactionTimeout = 500 * time.Millisecond
	}))
}

// txKind is a test transaction's local outcome at send time, and for the undecided
// ones the outcome the check-back finally gets.
type txKind int

const (
	txCommit txKind = iota
	txRollback
	txUnknownCommit
	txUnknownRollback
)

func (k txKind) String() string {
	return [...]string{"commit", "rollback", "unknown-commit", "unknown-rollback"}[k]
}

func (k txKind) committed() bool { return k == txCommit || k == txUnknownCommit }

// txPlan is one transaction: its kind, and how many check-backs it answers UNKNOW
// before its final outcome.
type txPlan struct {
	kind     txKind
	unknowns int
}

// txLedger implements primitive.TransactionListener from plans keyed by message body,
// counting check-backs: the state every producer of the group answers from.
type txLedger struct {
	mu     sync.Mutex
	plans  map[string]txPlan
	checks map[string]int
}

func newTxLedger() *txLedger { return &txLedger{plans: map[string]txPlan{}, checks: map[string]int{}} }

func (l *txLedger) add(b string, p txPlan) {
	l.mu.Lock()
	l.plans[b] = p
	l.mu.Unlock()
}

func (l *txLedger) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	l.mu.Lock()
	p := l.plans[string(m.Body)]
	l.mu.Unlock()
	switch p.kind {
	case txCommit:
		return primitive.CommitMessageState
	case txRollback:
		return primitive.RollbackMessageState
	}
	return primitive.UnknowState
}

func (l *txLedger) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := string(m.Body)
	l.checks[b]++
	p, ok := l.plans[b]
	switch {
	case !ok || l.checks[b] <= p.unknowns:
		return primitive.UnknowState
	case p.kind.committed():
		return primitive.CommitMessageState
	}
	return primitive.RollbackMessageState
}

func (l *txLedger) checksOf(b string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checks[b]
}

// txProducer starts an official transaction producer of group; t.Cleanup shuts it
// down.
func (e *env) txProducer(group string, l primitive.TransactionListener) rocketmq.TransactionProducer {
	e.t.Helper()
	tp, err := rocketmq.NewTransactionProducer(l,
		producer.WithNameServer(e.nameserver()),
		producer.WithGroupName(group),
		producer.WithInstanceName(e.instance()),
		producer.WithRetry(2),
	)
	if err != nil {
		e.t.Fatalf("new transaction producer: %v", err)
	}
	if err := tp.Start(); err != nil {
		e.t.Fatalf("start transaction producer: %v", err)
	}
	e.t.Cleanup(func() { _ = tp.Shutdown() })
	return tp
}

// sendTx sends one transactional message and checks its result.
func sendTx(t testing.TB, tp rocketmq.TransactionProducer, topic, b string, want primitive.LocalTransactionState) *primitive.TransactionSendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	res, err := tp.SendMessageInTransaction(ctx, primitive.NewMessage(topic, []byte(b)))
	if err != nil {
		t.Fatalf("send %s in a transaction: %v", b, err)
	}
	if res.Status != primitive.SendOK || res.State != want {
		t.Fatalf("send %s: status %v state %v, want SEND_OK and %v", b, res.Status, res.State, want)
	}
	return res
}

// pendingOn asks the broker for the unresolved half messages of group (the rocketgo
// extension LIST_PENDING_TRANSACTIONS).
func pendingOn(t testing.TB, e *env, group string) *body.PendingTransactionList {
	t.Helper()
	rc := remoting.NewClient(remoting.ClientOptions{})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := header.ListPendingTransactionsRequest{ProducerGroup: group}
	resp, err := rc.Invoke(ctx, e.c.BrokerAddr(), remoting.NewRequest(code.ListPendingTransactions, req.Encode(), nil))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("list pending transactions: %v %+v", err, resp)
	}
	l, err := body.DecodePendingTransactionList(resp.Body)
	if err != nil {
		t.Fatalf("pending transactions body: %v", err)
	}
	return l
}

// requireCommittedExactly waits until no transaction of group is pending and box has
// every body of want, then requires the box to hold exactly want, each once, and the
// topic to hold exactly len(want) messages.
func requireCommittedExactly(t *testing.T, e *env, group, topic string, queues int, box *inbox, want map[string]bool) {
	t.Helper()
	var last *body.PendingTransactionList
	if !testutil.Poll(consumeTimeout, func() bool {
		last = pendingOn(t, e, group)
		return last.Total == 0
	}) {
		t.Fatalf("transactions still pending: %+v", last)
	}
	got, _ := box.distinct()
	if len(got) < len(want) {
		got = box.wait(t, len(want))
	}
	requireSet(t, "consumed vs committed", bodies(got), want)
	if _, dups := box.distinct(); dups != 0 {
		t.Fatalf("%d duplicate deliveries", dups)
	}
	var stored int64
	for q := 0; q < queues; q++ {
		stored += e.c.MaxOffset(t, topic, q)
	}
	if stored != int64(len(want)) {
		t.Fatalf("%s holds %d messages, %d were committed", topic, stored, len(want))
	}
}

// TestTransactionOutcomes: committed messages are delivered once, rolled back ones
// never, undecided ones as the check-back decides (after 0 or 1 UNKNOW answers).
func TestTransactionOutcomes(t *testing.T) {
	t.Parallel()
	e := txnEnv(t)
	topic, group := e.name("TX"), e.name("TXPG")
	e.c.CreateTopic(t, topic, 4)
	box := &inbox{}
	e.pushConsumer(e.name("TXCG"), topic, "*", consumer.ConsumeFromFirstOffset, box)
	l := newTxLedger()
	tp := e.txProducer(group, l)
	want := map[string]bool{}
	states := map[txKind]primitive.LocalTransactionState{txCommit: primitive.CommitMessageState,
		txRollback: primitive.RollbackMessageState, txUnknownCommit: primitive.UnknowState, txUnknownRollback: primitive.UnknowState}
	var sent []string
	for _, k := range []txKind{txCommit, txRollback, txUnknownCommit, txUnknownRollback} {
		for i := 0; i < 3; i++ {
			b := fmt.Sprintf("%s-%s-%d", topic, k, i)
			l.add(b, txPlan{kind: k, unknowns: i % 2})
			res := sendTx(t, tp, topic, b, states[k])
			if res.MsgID == "" || res.OffsetMsgID == "" {
				t.Fatalf("send %s: result without ids: %+v", b, res)
			}
			sent = append(sent, b)
			if k.committed() {
				want[b] = true
			}
		}
	}
	requireCommittedExactly(t, e, group, topic, 4, box, want)
	for _, b := range sent {
		l.mu.Lock()
		p := l.plans[b]
		l.mu.Unlock()
		n := l.checksOf(b)
		if (p.kind == txUnknownCommit || p.kind == txUnknownRollback) && n < p.unknowns+1 {
			t.Errorf("%s: %d check-backs, want at least %d", b, n, p.unknowns+1)
		}
		if (p.kind == txCommit || p.kind == txRollback) && n != 0 {
			t.Errorf("%s: %d check-backs for a transaction decided at send", b, n)
		}
	}
}

// TestTransactionRandomOutcomes sends 1,000 transactions with random outcomes from
// eight goroutines through one official producer: the consumed set must equal the
// committed set exactly.
func TestTransactionRandomOutcomes(t *testing.T) {
	t.Parallel()
	n := 1000
	if testing.Short() {
		n = 200
	}
	e := txnEnv(t)
	topic, group := e.name("TX"), e.name("TXPG")
	e.c.CreateTopic(t, topic, 8)
	box := &inbox{}
	e.pushConsumer(e.name("TXCG"), topic, "*", consumer.ConsumeFromFirstOffset, box)
	l := newTxLedger()
	tp := e.txProducer(group, l)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	bodyOf := make([]string, n)
	want := map[string]bool{}
	for i := range bodyOf {
		p := txPlan{kind: txKind(rng.IntN(4))}
		if !(p.kind == txCommit || p.kind == txRollback) {
			p.unknowns = rng.IntN(3)
		}
		bodyOf[i] = fmt.Sprintf("%s-%04d-%s", topic, i, p.kind)
		l.add(bodyOf[i], p)
		if p.kind.committed() {
			want[bodyOf[i]] = true
		}
	}
	began := time.Now()
	send := func(b string) {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		res, err := tp.SendMessageInTransaction(ctx, primitive.NewMessage(topic, []byte(b)))
		cancel()
		if err != nil || res.Status != primitive.SendOK {
			t.Errorf("send %s: %v %+v", b, err, res)
		}
	}
	// The first send goes alone, for the reason given in TestTxnChildProducerOfficial:
	// sends racing the producer's first route lookup of topic can fail with "route
	// info not found".
	send(bodyOf[0])
	jobs := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				send(b)
			}
		}()
	}
	for _, b := range bodyOf[1:] {
		jobs <- b
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	requireCommittedExactly(t, e, group, topic, 8, box, want)
	hist := map[int]int{}
	undecided, total := 0, 0
	for _, b := range bodyOf {
		l.mu.Lock()
		p := l.plans[b]
		l.mu.Unlock()
		if p.kind == txCommit || p.kind == txRollback {
			continue
		}
		c := l.checksOf(b)
		if c < p.unknowns+1 {
			t.Errorf("%s: %d check-backs, want at least %d", b, c, p.unknowns+1)
		}
		undecided++
		total += c
		hist[c]++
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
	t.Logf("%d transactions, %d committed, all settled in %v; check-backs per unknown transaction: mean %.2f over %d (%s)",
		n, len(want), time.Since(began).Round(time.Millisecond), float64(total)/float64(max(undecided, 1)), undecided, strings.Join(parts, ", "))
}

// Environment of the child process of TestTransactionProducerKilled.
const (
	txChildEnv    = "ROCKETGO_COMPAT_TXN_CHILD"
	txChildNS     = "ROCKETGO_COMPAT_TXN_NAMESRV"
	txChildTopic  = "ROCKETGO_COMPAT_TXN_TOPIC"
	txChildGroup  = "ROCKETGO_COMPAT_TXN_GROUP"
	txChildLedger = "ROCKETGO_COMPAT_TXN_LEDGER"
	txChildCount  = "ROCKETGO_COMPAT_TXN_COUNT"
	txExecuted    = "EXECUTED "
)

// fileTxLedger is a transaction outcome store shared by processes: a file per
// transaction id (the UNIQ_KEY) holding "commit" or "rollback".
type fileTxLedger string

func (l fileTxLedger) record(id, outcome string) error {
	tmp := filepath.Join(string(l), id+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err = f.WriteString(outcome); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(string(l), id))
}

func (l fileTxLedger) state(id string) primitive.LocalTransactionState {
	b, err := os.ReadFile(filepath.Join(string(l), id))
	switch {
	case err != nil:
		return primitive.UnknowState
	case string(b) == "commit":
		return primitive.CommitMessageState
	case string(b) == "rollback":
		return primitive.RollbackMessageState
	}
	return primitive.UnknowState
}

// childOutcome: even-numbered child transactions commit, odd ones roll back.
func childOutcome(b string) string {
	i, _ := strconv.Atoi(b[strings.LastIndexByte(b, '-')+1:])
	if i%2 == 0 {
		return "commit"
	}
	return "rollback"
}

// blockingListener is the child's listener: it records the local outcome, reports it
// on stdout, and never returns, so no END_TRANSACTION is sent.
type blockingListener struct {
	ledger fileTxLedger
	mu     sync.Mutex
	first  chan struct{} // closed when the first local transaction has run
	once   sync.Once
}

func (l *blockingListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	if err := l.ledger.record(m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex), childOutcome(string(m.Body))); err != nil {
		fmt.Fprintln(os.Stderr, "ledger:", err)
		os.Exit(2)
	}
	l.mu.Lock()
	fmt.Println(txExecuted + string(m.Body))
	l.mu.Unlock()
	l.once.Do(func() { close(l.first) })
	select {}
}

func (l *blockingListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	return l.ledger.state(m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex))
}

// TestTxnChildProducerOfficial is the child process of TestTransactionProducerKilled
// (the test binary re-executed); it does nothing in a normal run.
func TestTxnChildProducerOfficial(t *testing.T) {
	if os.Getenv(txChildEnv) == "" {
		t.Skip("the child process of TestTransactionProducerKilled")
	}
	n, _ := strconv.Atoi(os.Getenv(txChildCount))
	listener := &blockingListener{ledger: fileTxLedger(os.Getenv(txChildLedger)), first: make(chan struct{})}
	tp, err := rocketmq.NewTransactionProducer(listener,
		producer.WithNameServer([]string{os.Getenv(txChildNS)}),
		producer.WithGroupName(os.Getenv(txChildGroup)),
		producer.WithInstanceName("txn-child-official"),
	)
	if err == nil {
		err = tp.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(2)
	}
	send := func(i int) {
		msg := primitive.NewMessage(os.Getenv(txChildTopic), []byte(fmt.Sprintf("%s-crash-%d", os.Getenv(txChildTopic), i)))
		if _, err := tp.SendMessageInTransaction(context.Background(), msg); err != nil {
			fmt.Fprintln(os.Stderr, "send:", err)
			os.Exit(2)
		}
	}
	// The first send goes alone: the official client publishes a topic's route to its
	// producers before it records the brokers' addresses (internal/route.go,
	// UpdateTopicRouteInfoWithDefault), so sends racing the first route lookup can find
	// a queue but no address and fail with "topic=… route info not found". Once the
	// first local transaction runs, the route and the address are both known.
	go send(0)
	select {
	case <-listener.first:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "the first local transaction did not run within 30s")
		os.Exit(2)
	}
	for i := 1; i < n; i++ {
		go send(i)
	}
	select {}
}

// TestTransactionProducerKilled: an official-client producer process stores half
// messages, runs their local transactions and is killed with SIGKILL before it sends
// any END_TRANSACTION. The check-back reaches the surviving official producer of the
// group, which answers from the shared ledger.
func TestTransactionProducerKilled(t *testing.T) {
	t.Parallel()
	const n = 10
	e := txnEnv(t)
	topic, group := e.name("TX"), e.name("TXPG")
	e.c.CreateTopic(t, topic, 4)
	box := &inbox{}
	e.pushConsumer(e.name("TXCG"), topic, "*", consumer.ConsumeFromFirstOffset, box)
	ledger := fileTxLedger(t.TempDir())
	survivor := &survivorListener{ledger: ledger, checked: map[string]int{}}
	tp := e.txProducer(group, survivor)
	// The survivor sends first: its client learns the broker's address and its next
	// heartbeat (one second after start) registers the group there.
	sendTx(t, tp, topic, topic+"-survivor", primitive.CommitMessageState)
	waitProducerRegistered(t, e, group)

	child := exec.Command(os.Args[0], "-test.run=^TestTxnChildProducerOfficial$")
	child.Env = append(os.Environ(), txChildEnv+"=1", txChildNS+"="+e.c.NamesrvAddr(), txChildTopic+"="+topic,
		txChildGroup+"="+group, txChildLedger+"="+string(ledger), txChildCount+"="+strconv.Itoa(n))
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	executed := map[string]bool{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(consumeTimeout)
	for len(executed) < n {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited after %d of %d local transactions", len(executed), n)
			}
			if b, found := strings.CutPrefix(l, txExecuted); found {
				executed[b] = true
			}
		case <-deadline:
			t.Fatalf("child ran %d of %d local transactions within %v", len(executed), n, consumeTimeout)
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	want := map[string]bool{topic + "-survivor": true}
	for b := range executed {
		if childOutcome(b) == "commit" {
			want[b] = true
		}
	}
	requireCommittedExactly(t, e, group, topic, 4, box, want)
	survivor.mu.Lock()
	defer survivor.mu.Unlock()
	for b := range executed {
		if survivor.checked[b] == 0 {
			t.Errorf("%s was resolved without a check-back to the survivor", b)
		}
	}
}

// survivorListener commits its own transactions and answers check-backs from the
// shared ledger.
type survivorListener struct {
	ledger  fileTxLedger
	mu      sync.Mutex
	checked map[string]int
}

func (s *survivorListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	if err := s.ledger.record(m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex), "commit"); err != nil {
		return primitive.UnknowState
	}
	return primitive.CommitMessageState
}

func (s *survivorListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	s.mu.Lock()
	s.checked[string(m.Body)]++
	s.mu.Unlock()
	return s.ledger.state(m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex))
}

// waitProducerRegistered waits until the broker lists a connection of producer group
// (GET_PRODUCER_CONNECTION_LIST): only then can a check-back reach it.
func waitProducerRegistered(t *testing.T, e *env, group string) {
	t.Helper()
	rc := remoting.NewClient(remoting.ClientOptions{})
	defer rc.Close()
	ok := testutil.Poll(settleTimeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := header.GetProducerConnectionListRequest{ProducerGroup: group}
		resp, err := rc.Invoke(ctx, e.c.BrokerAddr(), remoting.NewRequest(code.GetProducerConnectionList, req.Encode(), nil))
		if err != nil || resp.Code != code.Success {
			return false
		}
		pc, err := body.DecodeProducerConnection(resp.Body)
		return err == nil && len(pc.ConnectionSet) > 0
	})

	if !ok {
		t.Fatalf("producer group %s never registered with the broker", group)
	}
}
