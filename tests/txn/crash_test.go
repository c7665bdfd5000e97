package txn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting"
	"github.com/rocketgo/rocketgo/tests/cluster"
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

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=producer", childNamesrv+"="+c.NamesrvAddr(), childTopic+"="+topic,
		childGroup+"="+group, childLedger+"="+string(ledger), childCount+"="+strconv.Itoa(n))
	child.Stderr = &testWriter{t: t, prefix: "child: "}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
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
	deadline := time.After(waitTimeout)
	for len(executed) < n {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited after %d of %d local transactions", len(executed), n)
			}
			if b, found := strings.CutPrefix(l, executedPrefix); found {
				executed[b] = true
			}
		case <-deadline:
			t.Fatalf("child ran %d of %d local transactions within %v", len(executed), n, waitTimeout)
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err == nil {
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

// testWriter forwards a child's output to the test log.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// brokerProcess is bin/mqbroker -standalone running as a child process.
type brokerProcess struct {
	t                 *testing.T
	bin, dir          string
	namesrvAddr, addr string
	cmd               *exec.Cmd
	exited            chan struct{} // closed once cmd has exited; exitErr is then set
	exitErr           error
}

// buildBroker builds bin/mqbroker into dir.
func buildBroker(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build bin/mqbroker: %v", err)
	}
	bin := filepath.Join(dir, "mqbroker")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/rocketgo/rocketgo/bin/mqbroker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build bin/mqbroker: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback address with a port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// start runs the broker with the store in p.dir and waits until it serves and has
// registered with its NameServer. A port still held by the previous process is
// retried until the deadline.
func (p *brokerProcess) start() {
	p.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		p.cmd = exec.Command(p.bin, "-standalone", "-c", "", "-store", p.dir, "-listen", p.addr,
			"-brokerIP1", "127.0.0.1", "-loglevel", "warn")
		p.cmd.Env = append(os.Environ(),
			"ROCKETGO_NAMESRV_LISTENADDR="+p.namesrvAddr,
			"ROCKETGO_BROKER_HALISTENPORT=-1", // no slaves here: any free port, never listen port + 1
			"ROCKETGO_BROKER_TRANSACTIONCHECKINTERVAL="+checkInterval.String(),
			"ROCKETGO_BROKER_TRANSACTIONTIMEOUT="+txnTimeout.String(),
			"ROCKETGO_STORE_MAPPEDFILESIZECOMMITLOG="+strconv.Itoa(16<<20),
			"ROCKETGO_STORE_CONSUMEQUEUEUNITSPERFILE=4096",
			"ROCKETGO_STORE_DISKSPACECLEANFORCIBLYRATIO=1",
			"ROCKETGO_STORE_DISKSPACEWARNINGLEVELRATIO=1",
		)
		p.cmd.Stdout = &testWriter{t: p.t, prefix: "mqbroker: "}
		p.cmd.Stderr = p.cmd.Stdout
		if err := p.cmd.Start(); err != nil {
			p.t.Fatal(err)
		}
		p.exited = make(chan struct{})
		cmd, exited := p.cmd, p.exited
		go func() { p.exitErr = cmd.Wait(); close(exited) }()
		if p.ready(exited) {
			return
		}
		select {
		case <-exited:
		default:
			p.t.Fatalf("mqbroker on %s did not become ready within %v", p.addr, waitTimeout)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("mqbroker on %s exited: %v", p.addr, p.exitErr)
		}
		<-time.After(100 * time.Millisecond) // the old listener may still hold the port
	}
}

// ready polls the NameServer until it routes TBW102 to the broker, or the process
// exits.
func (p *brokerProcess) ready(exited <-chan struct{}) bool {
	rc := remoting.NewClient(remoting.ClientOptions{DialTimeout: time.Second})
	defer rc.Close()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := rc.Invoke(ctx, p.namesrvAddr, remoting.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": "TBW102"}, nil))
		cancel()
		if err == nil && resp.Code == code.Success && strings.Contains(string(resp.Body), p.addr) {
			return true
		}
		<-time.After(50 * time.Millisecond)
	}
	return false
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *brokerProcess) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Fatal(err)
	}
	<-p.exited
}

// TestBrokerKilledBeforeCommit runs bin/mqbroker as a child process and kills it
// with SIGKILL between a half message and its commit: after a restart on the same
// store, the check-back resolves the transaction from the producer's ledger. Around
// it: a transaction committed and one rolled back before the crash (neither may
// change), and one undecided at the crash whose ledger says rollback.
func TestBrokerKilledBeforeCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bin/mqbroker")
	}
	t.Parallel()
	tmp := t.TempDir()
	p := &brokerProcess{t: t, bin: buildBroker(t, tmp), dir: filepath.Join(tmp, "store"),
		namesrvAddr: freePort(t), addr: freePort(t)}
	p.start()
	t.Cleanup(func() {
		if p.cmd.Process != nil {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
	})
	const topic, group = "TxKilledBroker", "PG_TxKilledBroker"
	a := startAdmin(t, p.namesrvAddr)
	ctx := context.Background()
	if err := a.CreateTopic(ctx, client.TopicConfig{Topic: topic, ReadQueueNums: 4, WriteQueueNums: 4}, client.OnBrokers(p.addr)); err != nil {
		t.Fatal(err)
	}
	cluster.WaitFor(t, waitTimeout, func() bool {
		r, err := a.TopicRoute(ctx, topic)
		return err == nil && len(r.QueueDatas) == 1
	}, "the route of "+topic)

	ledger := fileLedger(t.TempDir())
	var killDuring sync.Once
	var endErr error
	tp := startTxProducer(t, p.namesrvAddr, group, client.TransactionFuncs{
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
					killDuring.Do(p.kill) // the half message is stored, the commit not yet sent
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

	p.start() // same store, same ports
	waitNoPending(t, a, group)
	box := startConsumer(t, p.namesrvAddr, "CG_TxKilledBroker", topic)
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

var _ io.Writer = (*testWriter)(nil)
