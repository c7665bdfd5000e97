package scale

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rocketgo/rocketgo/internal/testutil/pagecache"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// Sizes of the backlog test.
const (
	backlogTopic   = "ScaleBacklog"
	backlogBody    = 16 << 10 // bytes per message body
	produceWorkers = 8        // SEND_MESSAGE requests in flight
	pullBatch      = 64       // maxMsgNums of each PULL_MESSAGE: 1 MiB of bodies
	// serveTimeout bounds a restart, a full 20 GiB recovery included.
	serveTimeout = 10 * time.Minute
)

// backlogEnv raises the broker's per-pull limits to a 1 MiB batch (as bin/mqbench's
// compare.sh does), so the figure is the store's and not the round trips'.
var backlogEnv = []string{
	"ROCKETGO_BROKER_MAXTRANSFERCOUNTONMESSAGEINMEMORY=500",
	"ROCKETGO_BROKER_MAXTRANSFERBYTESONMESSAGEINMEMORY=" + strconv.Itoa(pullBatch*(backlogBody+1024)),
}

// TestBacklog writes a backlog of 64 MiB (20 GiB under ROCKETGO_SCALE=1) of 16 KiB
// messages into one queue, stops the broker, evicts the store's files from the page
// cache (posix_fadvise DONTNEED), starts it again and consumes the whole backlog from
// cold pages, then the last part again from warm ones; then it kills the broker with
// SIGKILL and measures the restart until it serves (the checkpoint's tail only), and
// once more without checkpoint and ConsumeQueues (the whole CommitLog verified and
// re-dispatched). Every message is read back in order with its sequence number.
func TestBacklog(t *testing.T) {
	total := int64(64 << 20)
	env := append([]string(nil), backlogEnv...)
	if full() {
		total = 20 << 30
	} else {
		env = append(env, proctest.SmallStore...)
	}
	if mib, err := strconv.ParseInt(os.Getenv("ROCKETGO_SCALE_BACKLOG_MIB"), 10, 64); err == nil && mib > 0 {
		total = mib << 20
	}
	count := total / backlogBody
	bins := proctest.Build(t)
	dir := t.TempDir()
	broker, addr := startBroker(t, bins, newRecorder(t).addr(), dir, env...)
	rc := transport.NewClient(transport.ClientOptions{DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = rc.Close() })

	c0, began := cpu(t, broker), time.Now()
	produce(t, rc, addr, count)
	took := time.Since(began)
	record(t, "backlog_produce", map[string]float64{"bytes": float64(total), "seconds": took.Seconds(),
		"mb_per_s": mbps(total, took), "broker_cpu_us_per_msg": float64((cpu(t, broker) - c0).Microseconds()) / float64(count)})

	// Cold: a clean stop writes everything out, the eviction drops it from the cache.
	broker.Stop()
	evict(t, dir)
	restart(t, broker, addr)
	cold := consume(t, rc, broker, addr, 0, count)
	record(t, "backlog_consume", map[string]float64{"cache": 0, "bytes": float64(total), "seconds": cold.took.Seconds(),
		"mb_per_s": mbps(total, cold.took), "broker_cpu_us_per_msg": cold.cpuPerMsg, "major_faults": float64(cold.majflt)})
	warmFrom := max(0, count-(4<<30)/backlogBody)
	warm := consume(t, rc, broker, addr, warmFrom, count)
	warmBytes := (count - warmFrom) * backlogBody
	record(t, "backlog_consume", map[string]float64{"cache": 1, "bytes": float64(warmBytes), "seconds": warm.took.Seconds(),
		"mb_per_s": mbps(warmBytes, warm.took), "broker_cpu_us_per_msg": warm.cpuPerMsg, "major_faults": float64(warm.majflt)})

	// SIGKILL: the restart verifies from the checkpoint on.
	log := commitLogBytes(t, dir)
	broker.Kill()
	serve := restart(t, broker, addr)
	rec := lastRecovery(t, broker)
	record(t, "backlog_recovery", map[string]float64{"full": 0, "commitlog_bytes": float64(log), "serve_seconds": serve.Seconds(),
		"scanned_bytes": rec.scanned, "recovery_seconds": rec.took.Seconds()})
	requireMax(t, rc, addr, count)

	// SIGKILL with the checkpoint and the ConsumeQueues lost, from cold pages: the
	// whole CommitLog is verified and re-dispatched.
	broker.Kill()
	for _, p := range []string{filepath.Join(dir, "checkpoint"), filepath.Join(dir, "consumequeue")} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	evict(t, dir)
	serve = restart(t, broker, addr)
	rec = lastRecovery(t, broker)
	record(t, "backlog_recovery", map[string]float64{"full": 1, "commitlog_bytes": float64(log), "serve_seconds": serve.Seconds(),
		"scanned_bytes": rec.scanned, "recovery_seconds": rec.took.Seconds(), "gb_per_s": rec.scanned / rec.took.Seconds() / 1e9})
	requireMax(t, rc, addr, count)
	if rec.scanned < float64(total) {
		t.Fatalf("recovery without checkpoint scanned %.0f bytes, less than the %d of the backlog", rec.scanned, total)
	}
	// The rebuilt queue serves the backlog's last batch.
	consume(t, rc, broker, addr, count-pullBatch, count)
}

// produce sends count messages to queue 0 of backlogTopic; message i's body starts with
// i (8 bytes, big-endian).
func produce(t *testing.T, rc *transport.Client, addr string, count int64) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var failure error
	for range produceWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := make([]byte, backlogBody)
			for {
				i := next.Add(1) - 1
				if i >= count {
					return
				}
				binary.BigEndian.PutUint64(payload, uint64(i))
				h := header.SendMessageRequest{ProducerGroup: "scale-pg", Topic: backlogTopic, DefaultTopic: "TBW102",
					DefaultTopicQueueNums: 1, QueueID: 0, BornTimestamp: time.Now().UnixMilli(),
					Properties: message.EncodeProperties(map[string]string{message.PropUniqKey: message.NewUniqID(), message.PropWait: "true"})}
				resp, err := invoke(rc, addr, codec.NewRequest(code.SendMessage, h.Encode(), payload))
				if err == nil && resp.Code != code.Success {
					err = fmt.Errorf("code %d remark %q", resp.Code, resp.Remark)
				}
				if err != nil {
					once.Do(func() { failure = fmt.Errorf("send %d: %w", i, err) })
					next.Store(count)
					return
				}
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
}

// consumed is one consume pass.
type consumed struct {
	took      time.Duration
	cpuPerMsg float64 // broker CPU µs per message
	majflt    int64   // the broker's major page faults meanwhile
}

// consume pulls queue 0 of backlogTopic from offset from to to, one PULL_MESSAGE of
// pullBatch in flight, and checks that the queue offsets run without a gap and that no
// message comes twice (the concurrent senders stored them in any order).
func consume(t *testing.T, rc *transport.Client, broker *proctest.Proc, addr string, from, to int64) consumed {
	t.Helper()
	seen := make([]uint64, (to+63)/64) // by sequence number
	c0, f0, began := cpu(t, broker), majorFaults(t, broker), time.Now()
	for off := from; off < to; {
		h := header.PullMessageRequest{ConsumerGroup: "scale-cg", Topic: backlogTopic, QueueOffset: off,
			MaxMsgNums: pullBatch, SysFlag: header.PullSubscription, Subscription: "*", ExpressionType: "TAG"}
		resp, err := invoke(rc, addr, codec.NewRequest(code.PullMessage, h.Encode(), nil))
		if err != nil || resp.Code != code.Success {
			t.Fatalf("pull at %d: %v %v", off, err, resp)
		}
		for b := resp.Body; len(b) > 0; off++ {
			m, n, err := message.DecodeRecord(b)
			if err != nil {
				t.Fatalf("record at queue offset %d: %v", off, err)
			}
			seq := int64(binary.BigEndian.Uint64(m.Body))
			if m.QueueOffset != off || len(m.Body) != backlogBody || seq >= to || seen[seq/64]&(1<<(seq%64)) != 0 {
				t.Fatalf("at queue offset %d: record of offset %d, %d bytes, sequence %d (twice or out of range)", off, m.QueueOffset, len(m.Body), seq)
			}
			seen[seq/64] |= 1 << (seq % 64)
			b = b[n:]
		}
	}
	took := time.Since(began)
	return consumed{took: took, cpuPerMsg: float64((cpu(t, broker) - c0).Microseconds()) / float64(to-from),
		majflt: majorFaults(t, broker) - f0}
}

// restart starts the stopped or killed broker again on its store and returns the time
// until it answers a pull of the backlog.
func restart(t *testing.T, broker *proctest.Proc, addr string) time.Duration {
	t.Helper()
	began := time.Now()
	broker.Start()
	err := broker.AwaitReady(serveTimeout, func(*proctest.Proc) bool {
		h := header.PullMessageRequest{ConsumerGroup: "scale-cg", Topic: backlogTopic, MaxMsgNums: 1,
			SysFlag: header.PullSubscription, Subscription: "*", ExpressionType: "TAG"}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := proctest.Client().Invoke(ctx, addr, codec.NewRequest(code.PullMessage, h.Encode(), nil))
		if err != nil {
			proctest.Client().CloseAddr(addr)
			return false
		}
		return resp.Code == code.Success
	})
	if err != nil {
		t.Fatal(err)
	}
	return time.Since(began)
}

// requireMax checks that the broker's queue ends at count.
func requireMax(t *testing.T, rc *transport.Client, addr string, count int64) {
	t.Helper()
	h := header.GetMaxOffsetRequest{Topic: backlogTopic, QueueID: 0}
	resp, err := invoke(rc, addr, codec.NewRequest(code.GetMaxOffset, h.Encode(), nil))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("max offset: %v %v", err, resp)
	}
	if got := resp.ExtFields["offset"]; got != strconv.FormatInt(count, 10) {
		t.Fatalf("queue ends at %s after the restart, want %d", got, count)
	}
}

// recovery is what the last run's "store recovered" line says.
type recovery struct {
	scanned float64
	took    time.Duration
}

func lastRecovery(t *testing.T, p *proctest.Proc) recovery {
	t.Helper()
	lines := p.Lines()
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.Contains(lines[i], "store recovered") {
			continue
		}
		scanned, err1 := strconv.ParseFloat(fieldOf(lines[i], "scanned_bytes"), 64)
		took, err2 := time.ParseDuration(fieldOf(lines[i], "took"))
		if err1 != nil || err2 != nil {
			t.Fatalf("recovery line %q", lines[i])
		}
		return recovery{scanned: scanned, took: took}
	}
	t.Fatal("no store recovered line")
	return recovery{}
}

// evict writes back and drops every file of the store from the page cache
// (fdatasync, then posix_fadvise DONTNEED), so the next reads come from the disk. The
// broker must not be running: pages it maps stay cached.
func evict(t *testing.T, dir string) {
	t.Helper()
	if err := pagecache.Evict(dir); err != nil {
		t.Fatal(err)
	}
	if r := resident(t, filepath.Join(dir, "commitlog")); r > 0.05 {
		t.Fatalf("%.0f%% of the CommitLog still cached after the eviction", r*100)
	}
}

// resident is the fraction of the pages of dir's files that are in the page cache.
func resident(t *testing.T, dir string) float64 {
	t.Helper()
	var in, all int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		if st.Size() == 0 {
			f.Close()
			continue
		}
		m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
		// golang.org/x/sys/unix has no mincore wrapper.
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			t.Fatal(errno)
		}
		for _, v := range vec {
			in += int64(v & 1)
		}
		all += int64(len(vec))
		_ = unix.Munmap(m)
	}
	if all == 0 {
		return 0
	}
	return float64(in) / float64(all)
}

// commitLogBytes is the size of the CommitLog's segment files.
func commitLogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, err := os.ReadDir(filepath.Join(dir, "commitlog"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

// majorFaults is the child's count of page faults that read the disk (/proc/PID/stat
// field 12).
func majorFaults(t *testing.T, p *proctest.Proc) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	n, err := strconv.ParseInt(f[9], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / d.Seconds() / 1e6 }
