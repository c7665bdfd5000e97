package txn

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// The test binary doubles as the child producer of TestProducerKilledBeforeEnd:
// TestMain runs the child's role instead of the tests when childEnv is set.
const (
	childEnv       = "ROCKETGO_TXN_CHILD"
	childNamesrv   = "ROCKETGO_TXN_NAMESRV"
	childTopic     = "ROCKETGO_TXN_TOPIC"
	childGroup     = "ROCKETGO_TXN_GROUP"
	childLedger    = "ROCKETGO_TXN_LEDGER"
	childCount     = "ROCKETGO_TXN_COUNT"
	executedPrefix = "EXECUTED "
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "producer" {
		os.Exit(runChildProducer())
	}
	os.Exit(m.Run())
}

// fileLedger is the local transaction store shared by processes: one file per
// transaction id, holding "commit" or "rollback", written durably before the
// transaction's outcome is reported anywhere.
type fileLedger string

func (l fileLedger) record(id, outcome string) error {
	f, err := os.Create(filepath.Join(string(l), id+".tmp"))
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
	return os.Rename(filepath.Join(string(l), id+".tmp"), filepath.Join(string(l), id))
}

// state answers a check-back from the ledger: no record yet means the local
// transaction has not finished, which is UnknownTransaction.
func (l fileLedger) state(id string) client.LocalTransactionState {
	b, err := os.ReadFile(filepath.Join(string(l), id))
	switch {
	case err != nil:
		return client.UnknownTransaction
	case string(b) == "commit":
		return client.CommitTransaction
	case string(b) == "rollback":
		return client.RollbackTransaction
	}
	return client.UnknownTransaction
}

// outcomeOf is the planned local outcome of a crash-test message body "crash-<i>":
// even numbers commit, odd ones roll back.
func outcomeOf(body string) string {
	i, _ := strconv.Atoi(strings.TrimPrefix(body, "crash-"))
	if i%2 == 0 {
		return "commit"
	}
	return "rollback"
}

// runChildProducer is the child process: it sends COUNT transactions whose local
// transactions record their outcome in the ledger, report "EXECUTED <body>" on stdout,
// and then hang, so no END_TRANSACTION is ever sent. The parent kills it.
func runChildProducer() int {
	ledger := fileLedger(os.Getenv(childLedger))
	n, _ := strconv.Atoi(os.Getenv(childCount))
	var outMu sync.Mutex
	tp, err := client.NewTransactionProducer(client.TransactionFuncs{
		Execute: func(_ context.Context, m *client.Message, _ any) client.LocalTransactionState {
			if err := ledger.record(client.TransactionID(m), outcomeOf(string(m.Body))); err != nil {
				fmt.Fprintln(os.Stderr, "ledger:", err)
				os.Exit(2)
			}
			outMu.Lock()
			fmt.Println(executedPrefix + string(m.Body))
			outMu.Unlock()
			select {} // killed here, before END_TRANSACTION
		},
		Check: func(_ context.Context, m *client.MessageExt) client.LocalTransactionState {
			return ledger.state(m.MsgID)
		},
	}, client.WithNameServer(os.Getenv(childNamesrv)), client.WithProducerGroup(os.Getenv(childGroup)),
		client.WithInstanceName("txn-child"), client.WithHeartbeatInterval(200*time.Millisecond))
	if err == nil {
		err = tp.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 2
	}
	for i := 0; i < n; i++ {
		go func(i int) {
			_, err := tp.SendMessageInTransaction(context.Background(),
				client.NewMessage(os.Getenv(childTopic), []byte(fmt.Sprintf("crash-%d", i))), nil)
			if err != nil {
				fmt.Fprintln(os.Stderr, "send:", err)
				os.Exit(2)
			}
		}(i)
	}
	select {}
}

// TestProducerKilledBeforeEnd: a producer process stores half messages, runs its local
// transactions and is killed with SIGKILL before any END_TRANSACTION. The broker's
// check-back must reach the other live producer of the group, which answers from the
// shared ledger: the committed ones are delivered exactly once, the rolled back ones
// never.
func TestProducerKilledBeforeEnd(t *testing.T) {
	t.Parallel()
	const topic, group, n = "TxKilledProducer", "PG_TxKilledProducer", 10
	c := startCluster(t)
	c.CreateTopic(t, topic, 4)
	box := startConsumer(t, c.NamesrvAddr(), "CG_TxKilledProducer", topic)
	ledger := fileLedger(t.TempDir())
	var mu sync.Mutex
	checked := map[string]int{}
	survivor := startTxProducer(t, c.NamesrvAddr(), group, client.TransactionFuncs{
		Execute: func(_ context.Context, m *client.Message, _ any) client.LocalTransactionState {
			if err := ledger.record(client.TransactionID(m), "commit"); err != nil {
				t.Error(err)
			}
			return client.CommitTransaction
		},
		Check: func(_ context.Context, m *client.MessageExt) client.LocalTransactionState {
			mu.Lock()
			checked[string(m.Body)]++
			mu.Unlock()
			return ledger.state(m.MsgID)
		},
	})
	// The survivor's own transaction makes it learn the broker and heartbeat to it, so
	// it is a producer of the group there before the child dies.
	if _, err := survivor.SendMessageInTransaction(context.Background(), client.NewMessage(topic, []byte("survivor-0")), nil); err != nil {
		t.Fatal(err)
	}

	child := proctest.Start(t, proctest.Spec{Name: "txn-child", Bin: os.Args[0], Args: []string{"-test.run=^$"},
		Env: []string{childEnv + "=producer", childNamesrv + "=" + c.NamesrvAddr(), childTopic + "=" + topic,
			childGroup + "=" + group, childLedger + "=" + string(ledger), childCount + "=" + strconv.Itoa(n)}})
	executed := map[string]bool{}
	testutil.Eventually(t, waitTimeout, fmt.Sprintf("the child to run %d local transactions", n), func() bool {
		if child.Exited() {
			t.Fatalf("child exited (%v) after %d of %d local transactions", child.State(), len(executed), n)
		}
		for _, l := range child.Lines() {
			if b, found := strings.CutPrefix(l, executedPrefix); found {
				executed[b] = true
			}
		}
		return len(executed) >= n
	})
	child.Kill()
	if child.State().Success() {
		t.Fatalf("child exited cleanly; want killed")
	}

	want := map[string]bool{"survivor-0": true}
	for b := range executed {
		if outcomeOf(b) == "commit" {
			want[b] = true
		}
	}
	waitNoPending(t, startAdmin(t, c.NamesrvAddr()), group)
	requireExactly(t, c, box, topic, 4, want)
	mu.Lock()
	defer mu.Unlock()
	for b := range executed {
		if checked[b] == 0 {
			t.Errorf("%s was resolved without a check-back to the survivor", b)
		}
	}
	t.Logf("child killed after %d local transactions; the survivor answered %d check-backs; %d delivered", n, len(checked), len(want))
}

// TestBrokerKilledBeforeCommit runs bin/mqbroker as a child process and kills it
// with SIGKILL between a half message and its commit: after a restart on the same
// store, the check-back resolves the transaction from the producer's ledger. Around
// it: a transaction committed and one rolled back before the crash (neither may
// change), and one undecided at the crash whose ledger says rollback.
func TestBrokerKilledBeforeCommit(t *testing.T) {
	bin := proctest.Build(t)
	t.Parallel()
	store := filepath.Join(t.TempDir(), "store")
	var ns, addr string
	routed := func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(ns, addr); return ok }
	p := proctest.Launch(t, func() proctest.Spec {
		ns, addr = proctest.FreeAddr(t), proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: bin.Broker,
			Args: []string{"-standalone", "-c", "", "-store", store, "-listen", addr, "-brokerIP1", "127.0.0.1", "-loglevel", "warn"},
			Env: append([]string{
				"ROCKETGO_NAMESRV_LISTENADDR=" + ns,
				proctest.AnyHAPort, // no slaves here: any free port, never listen port + 1
				"ROCKETGO_BROKER_TRANSACTIONCHECKINTERVAL=" + checkInterval.String(),
				"ROCKETGO_BROKER_TRANSACTIONTIMEOUT=" + txnTimeout.String(),
			}, proctest.SmallStore...)}
	}, routed)
	const topic, group = "TxKilledBroker", "PG_TxKilledBroker"
	a := startAdmin(t, ns)
	ctx := context.Background()
	if err := a.CreateTopic(ctx, client.TopicConfig{Topic: topic, ReadQueueNums: 4, WriteQueueNums: 4}, client.OnBrokers(addr)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, waitTimeout,

		"the route of "+topic, func() bool {
			r, err := a.TopicRoute(ctx, topic)
			return err == nil && len(r.QueueDatas) == 1
		})

	ledger := fileLedger(t.TempDir())
	var killDuring sync.Once
	var endErr error
	tp := startTxProducer(t, ns, group, client.TransactionFuncs{
		Execute: func(_ context.Context, m *client.Message, _ any) client.LocalTransactionState {
			body := string(m.Body)
			switch body {
			case "committed-before", "crashed-commit":
				if err := ledger.record(client.TransactionID(m), "commit"); err != nil {
					t.Error(err)
				}
			default:
				if err := ledger.record(client.TransactionID(m), "rollback"); err != nil {
					t.Error(err)
				}
			}
			switch body {
			case "committed-before", "crashed-commit":
				if body == "crashed-commit" {
					killDuring.Do(p.Kill) // the half message is stored, the commit not yet sent
				}
				return client.CommitTransaction
			case "rolled-back-before":
				return client.RollbackTransaction
			}
			return client.UnknownTransaction
		},
		Check: func(_ context.Context, m *client.MessageExt) client.LocalTransactionState {
			return ledger.state(m.MsgID)
		},
	})
	for _, b := range []string{"committed-before", "rolled-back-before", "undecided-rollback", "crashed-commit"} {
		res, err := tp.SendMessageInTransaction(ctx, client.NewMessage(topic, []byte(b)), nil)
		if err != nil {
			t.Fatalf("send %s: %v", b, err)
		}
		if b == "crashed-commit" {
			endErr = res.EndError
		} else if res.EndError != nil {
			t.Fatalf("send %s: END_TRANSACTION failed: %v", b, res.EndError)
		}
	}
	if endErr == nil {
		t.Fatalf("END_TRANSACTION to a killed broker succeeded")
	}
	t.Logf("END_TRANSACTION after the kill failed as it must: %v", endErr)

	p.Restart(routed) // same store, same ports
	waitNoPending(t, a, group)
	box := startConsumer(t, ns, "CG_TxKilledBroker", topic)
	requireExactlyStored(t, box, map[string]bool{"committed-before": true, "crashed-commit": true}, func() int64 {
		stats, err := a.TopicStats(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, s := range stats {
			n += s.MaxOffset
		}
		return n
	})
}
