package ha

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
)

// segBytes is the CommitLog segment size the harness configures (mappedFileSizeCommitLog).
const segBytes = 4 << 20

// pair is a NameServer, a master and its slave, each its own process.
type pair struct {
	dir           string
	bin           Binaries
	ns            *Namesrv
	master, slave *Broker
}

// startPair starts a NameServer, a master with role and a slave that finds the master
// through the NameServer, and waits until the slave replicates.
func startPair(t *testing.T, role string, extra map[string]any) *pair {
	t.Helper()
	p := &pair{dir: t.TempDir(), bin: Build(t)}
	p.ns = StartNamesrv(t, p.bin, p.dir, "ns", "")
	p.master = StartBroker(t, p.bin, p.dir, BrokerConfig{Name: "broker-a", Role: role, Namesrv: []string{p.ns.Addr}, Broker: extra})
	p.slave = StartBroker(t, p.bin, p.dir, BrokerConfig{Name: "broker-a", ID: 1, Role: "SLAVE", Namesrv: []string{p.ns.Addr}, Broker: extra})
	testutil.Eventually(t, 30*time.Second, "the slave to connect", func() bool { return InfoInt(p.master.Addr, "haSlaveCount") == 1 })
	return p
}

// createTopic creates topic on the master and waits until the slave has copied it.
func (p *pair) createTopic(t *testing.T, topic string, queues int32) {
	t.Helper()
	CreateTopic(t, p.master.Addr, topic, queues)
	testutil.Eventually(t, 20*time.Second, "the topic on the slave", func() bool { return ServesTopic(p.slave.Addr, topic) })
}

// bodies returns n distinct bodies of about size bytes.
func bodies(prefix string, n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := []byte(fmt.Sprintf("%s-%06d-", prefix, i))
		for len(b) < size {
			b = append(b, byte('a'+(i+len(b))%26))
		}
		out[i] = b
	}
	return out
}

func requireCodes(t *testing.T, res []SendResult, want int32) {
	t.Helper()
	bad := 0
	for _, r := range res {
		if r.Err != nil || r.Code != want {
			if bad < 5 {
				t.Errorf("send %d: code %d %q err %v, want code %d", r.Index, r.Code, r.Remark, r.Err, want)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d sends not answered %d", bad, len(res), want)
	}
}

// TestSyncMasterMachineLoss: 10,000 messages acknowledged by a SYNC_MASTER are all on
// its slave: the master is killed and its store deleted, and every message is read
// back from the slave with identical bytes.
func TestSyncMasterMachineLoss(t *testing.T) {
	p := startPair(t, "SYNC_MASTER", nil)
	const topic, queues, n = "SyncLoss", 4, 10000
	p.createTopic(t, topic, queues)
	sent := bodies("sync", n, 300)
	began := time.Now()
	res := SendMany(context.Background(), p.master.Addr, topic, queues, sent, 256)
	took := time.Since(began)
	requireCodes(t, res, code.Success)
	t.Logf("%d SYNC_MASTER sends acknowledged in %v (%.0f msg/s)", n, took, float64(n)/took.Seconds())

	p.master.Kill()
	if err := os.RemoveAll(p.master.Cfg.StoreDir); err != nil {
		t.Fatal(err)
	}

	want := map[[2]int64][]byte{} // (queue, offset) → body
	ends := make([]int64, queues)
	for i, r := range res {
		want[[2]int64{int64(r.QueueID), r.QueueOffset}] = sent[i]
		ends[r.QueueID] = max(ends[r.QueueID], r.QueueOffset+1)
	}
	got := 0
	for q := int32(0); q < queues; q++ {
		recs := Pull(t, p.slave.Addr, "reader", topic, q, 0, ends[q])
		for _, rec := range recs {
			b, ok := want[[2]int64{int64(q), rec.QueueOffset}]
			if !ok {
				t.Fatalf("queue %d offset %d: a record nobody sent", q, rec.QueueOffset)
			}
			if string(b) != string(rec.Body) {
				t.Fatalf("queue %d offset %d: body %q, sent %q", q, rec.QueueOffset, rec.Body, b)
			}
			delete(want, [2]int64{int64(q), rec.QueueOffset})
			got++
		}
	}
	if got != n || len(want) != 0 {
		t.Fatalf("read %d messages from the slave, %d acknowledged ones missing", got, len(want))
	}
}

// load sends bodies of size bytes to topic in rounds until stop is closed; it returns
// how many were acknowledged. Every answer must be SEND_OK.
func load(t *testing.T, addr, topic string, queues, size int, stop <-chan struct{}) (acked *atomic.Int64, done <-chan struct{}) {
	t.Helper()
	acked = new(atomic.Int64)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for round := 0; ; round++ {
			select {
			case <-stop:
				return
			default:
			}
			res := SendMany(context.Background(), addr, topic, queues, bodies(fmt.Sprintf("load%d", round), 2000, size), 512)
			for _, r := range res {
				if r.Err != nil || r.Code != code.Success {
					t.Errorf("load send: code %d %q err %v", r.Code, r.Remark, r.Err)
					return
				}
			}
			acked.Add(int64(len(res)))
		}
	}()
	return acked, ch
}

// lagSampler samples the master's replication lag (its log end minus the furthest
// offset a slave acknowledged) every 20 ms.
type lagSampler struct {
	mu      sync.Mutex
	samples []int64
}

func (l *lagSampler) run(addr string, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			info, err := RuntimeInfo(addr)
			if err != nil {
				continue
			}
			var maxOff, acked int64
			fmt.Sscan(info["commitLogMaxOffset"], &maxOff)
			fmt.Sscan(info["haSlaveAckOffset"], &acked)
			l.mu.Lock()
			l.samples = append(l.samples, maxOff-acked)
			l.mu.Unlock()
		}
	}()
	return done
}

func (l *lagSampler) summary() (n int, avg, worst int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sum int64
	for _, s := range l.samples {
		sum += s
		worst = max(worst, s)
	}
	if len(l.samples) > 0 {
		avg = sum / int64(len(l.samples))
	}
	return len(l.samples), avg, worst
}

// TestAsyncMasterUnderLoad: the replication lag of an ASYNC_MASTER under load is
// measured, and once the load stops the slave's CommitLog is byte-identical to the
// master's.
func TestAsyncMasterUnderLoad(t *testing.T) {
	p := startPair(t, "ASYNC_MASTER", nil)
	const topic = "AsyncLoad"
	p.createTopic(t, topic, 4)
	stop := make(chan struct{})
	var lag lagSampler
	sampled := lag.run(p.master.Addr, stop)
	began := time.Now()
	acked, loaded := load(t, p.master.Addr, topic, 4, 1024, stop)
	testutil.Eventually(t, 60*time.Second, "48 MB of load", func() bool { return InfoInt(p.master.Addr, "commitLogMaxOffset") > 48<<20 })
	close(stop)
	<-loaded
	<-sampled
	stopped := time.Now()
	end := WaitReplicated(t, p.master, p.slave, 30*time.Second)
	n, avg, worst := lag.summary()
	t.Logf("ASYNC_MASTER load: %d messages of 1 KiB (%d MB of log) in %v; replication lag over %d samples: avg %d KiB, max %d KiB; slave caught up %v after the load stopped",
		acked.Load(), end>>20, stopped.Sub(began).Round(time.Millisecond), n, avg>>10, worst>>10, time.Since(stopped).Round(time.Millisecond))
	if acked.Load() == 0 || end < segBytes {
		t.Fatalf("the load wrote only %d bytes; the test wants segment rolls", end)
	}
	mc := LogChecksum(t, p.master.Cfg.StoreDir, segBytes, 0, end)
	sc := LogChecksum(t, p.slave.Cfg.StoreDir, segBytes, 0, end)
	if mc != sc {
		t.Fatalf("CommitLog [0, %d): master sha256 %s, slave %s", end, mc, sc)
	}
	t.Logf("CommitLog [0, %d) sha256 %s on both", end, mc)
}

// TestSlaveKilledDuringLoad: a slave killed by SIGKILL under load restarts from its own
// offset and catches up to a byte-identical log; the catch-up gives the replication
// throughput.
func TestSlaveKilledDuringLoad(t *testing.T) {
	p := startPair(t, "ASYNC_MASTER", nil)
	const topic = "SlaveKill"
	p.createTopic(t, topic, 4)
	stop := make(chan struct{})
	_, loaded := load(t, p.master.Addr, topic, 4, 1024, stop)
	testutil.Eventually(t, 20*time.Second, "load to reach the slave", func() bool { return InfoInt(p.slave.Addr, "commitLogMaxOffset") > 2<<20 })
	p.slave.Kill()
	killedAt := InfoInt(p.master.Addr, "haSlaveAckOffset")
	testutil.Eventually(t, 30*time.Second, "a backlog", func() bool { return InfoInt(p.master.Addr, "commitLogMaxOffset") > killedAt+16<<20 })
	close(stop)
	<-loaded
	target := InfoInt(p.master.Addr, "commitLogMaxOffset")

	began := time.Now()
	p.slave.Restart(t)
	end := WaitReplicated(t, p.master, p.slave, 60*time.Second)
	took := time.Since(began)
	if end != target {
		t.Fatalf("caught up to %d, the master's log ends at %d", end, target)
	}
	backlog := end - killedAt
	t.Logf("slave restarted %d MB behind; caught up in %v including its restart: %.0f MB/s",
		backlog>>20, took.Round(time.Millisecond), float64(backlog)/(1<<20)/took.Seconds())
	if !p.slave.LogContains("replicating from master") {
		t.Fatalf("the restarted slave's log does not show it replicating")
	}
	if mc, sc := LogChecksum(t, p.master.Cfg.StoreDir, segBytes, 0, end), LogChecksum(t, p.slave.Cfg.StoreDir, segBytes, 0, end); mc != sc {
		t.Fatalf("CommitLog [0, %d): master sha256 %s, slave %s", end, mc, sc)
	}
}

// TestSlaveRefusesAnotherLog: the master restarts after a crash and the slave resumes;
// then the master loses its store (restarts empty, a new log) and the slave refuses to
// follow it, says why, and keeps its log.
func TestSlaveRefusesAnotherLog(t *testing.T) {
	p := startPair(t, "ASYNC_MASTER", nil)
	const topic = "Refuse"
	p.createTopic(t, topic, 2)
	requireCodes(t, SendMany(context.Background(), p.master.Addr, topic, 2, bodies("a", 500, 200), 64), code.Success)
	WaitReplicated(t, p.master, p.slave, 20*time.Second)

	p.master.Kill()
	p.master.Restart(t)
	requireCodes(t, SendMany(context.Background(), p.master.Addr, topic, 2, bodies("b", 500, 200), 64), code.Success)
	end := WaitReplicated(t, p.master, p.slave, 30*time.Second)

	p.master.Kill()
	if err := os.RemoveAll(p.master.Cfg.StoreDir); err != nil {
		t.Fatal(err)
	}
	p.master.Restart(t)
	var info map[string]string
	testutil.Eventually(t, 30*time.Second, "the slave to refuse the new master", func() bool {
		var err error
		info, err = RuntimeInfo(p.slave.Addr)
		return err == nil && info["haRefused"] != ""
	})

	if r := info["haRefused"]; !strings.Contains(r, "another master") && !strings.Contains(r, "past this master's end") && !strings.Contains(r, "log") {
		t.Fatalf("the slave's refusal does not say why: %q", r)
	}
	t.Logf("slave refusal: %s", info["haRefused"])
	// The new master takes messages; the slave appends none of them.
	requireCodes(t, SendMany(context.Background(), p.master.Addr, topic, 2, bodies("c", 100, 200), 32), code.Success)
	if got := InfoInt(p.slave.Addr, "commitLogMaxOffset"); got != end {
		t.Fatalf("the refusing slave's log moved from %d to %d", end, got)
	}
	if !p.slave.LogContains("replication refused") {
		t.Fatalf("the slave's log does not report the refusal")
	}
}
