// Package diskfull runs a real broker process on a small tmpfs and fills the disk —
// with another process's file and with the broker's own appends — while a producer
// sends: the broker must not exit, must refuse sends with SERVICE_NOT_AVAILABLE and a
// remark saying the disk is full, must keep serving pulls, must lose no acknowledged
// message, and must accept sends again by itself once space returns. Killed and
// restarted on the critically full disk it must serve reads within 2 s, refuse
// metadata changes, and — once space returns, without a restart — take a new topic
// and a committed offset that survive the next restart. The test mounts the tmpfs, so
// it needs root; it skips with a message otherwise.
package diskfull

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/ha"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

const (
	fsSize  = 48 << 20
	bodyLen = 8 << 10
	topic   = "DiskFull"
)

// mountTmpfs mounts a fsSize tmpfs for the store, or skips the test.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; skipping the disk-full process test")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, fmt.Sprintf("size=%d", fsSize)); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v); skipping the disk-full process test", mnt, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}

func free(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fillBy writes a file of n bytes with another process (dd), as an unrelated program
// filling the disk would.
func fillBy(t *testing.T, path string, n int64) {
	t.Helper()
	cmd := exec.Command("dd", "if=/dev/zero", "of="+path, "bs=64k", fmt.Sprintf("count=%d", n/(64<<10)))
	if out, err := cmd.CombinedOutput(); err != nil && !bytes.Contains(out, []byte("No space")) {
		t.Fatalf("dd: %v: %s", err, out)
	}
}

// producer sends bodies one after another and records what was acknowledged.
type producer struct {
	addr string
	mu   sync.Mutex
	// acked maps queue offset → body of every acknowledged send.
	acked    map[int64][]byte
	refused  int
	remark   string
	sinceRef int // successes since the last refusal
	stop     chan struct{}
	done     chan struct{}
}

// startProducer starts sending to addr; acked holds the sends of an earlier producer
// to check with this one's (nil: none).
func startProducer(addr string, acked map[int64][]byte) *producer {
	if acked == nil {
		acked = map[int64][]byte{}
	}
	p := &producer{addr: addr, acked: acked, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			b := bytes.Repeat([]byte{byte(i)}, bodyLen)
			copy(b, fmt.Sprintf("msg-%d-", i))
			r := ha.SendOne(p.addr, topic, 0, b)
			p.mu.Lock()
			switch {
			case r.Err == nil && r.Code == code.Success:
				p.acked[r.QueueOffset] = b
				p.sinceRef++
			case r.Err == nil && r.Code == code.ServiceNotAvailable:
				p.refused++
				p.remark = r.Remark
				p.sinceRef = 0
			}
			p.mu.Unlock()
			if r.Err != nil || r.Code != code.Success {
				time.Sleep(5 * time.Millisecond) // a refused producer backs off a little
			}
		}
	}()
	return p
}

func (p *producer) state() (acked, refused, sinceRef int, remark string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked), p.refused, p.sinceRef, p.remark
}

func (p *producer) halt() { close(p.stop); <-p.done }

// waitRefused waits until sends are refused with the disk-full remark.
func (p *producer) waitRefused(t *testing.T, what string) {
	t.Helper()
	_, before, _, _ := p.state()
	testutil.Eventually(t, 20*time.Second, what, func() bool {
		_, refused, _, _ := p.state()
		return refused > before
	})
	if _, _, _, remark := p.state(); !strings.Contains(remark, "disk full") {
		t.Fatalf("refusal remark %q does not say the disk is full", remark)
	}
}

// waitResumed waits until sends succeed again after a refusal.
func (p *producer) waitResumed(t *testing.T, what string) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, what, func() bool {
		_, _, since, _ := p.state()
		return since >= 3
	})
}

// checkAcked pulls the queue and checks every acknowledged message is there intact.
func checkAcked(t *testing.T, addr string, p *producer) {
	t.Helper()
	p.mu.Lock()
	acked := make(map[int64][]byte, len(p.acked))
	var maxOff int64 = -1
	for k, v := range p.acked {
		acked[k] = v
		maxOff = max(maxOff, k)
	}
	p.mu.Unlock()
	recs := ha.Pull(t, addr, "checker", topic, 0, 0, maxOff+1)
	got := map[int64][]byte{}
	for _, r := range recs {
		got[r.QueueOffset] = r.Body
	}
	lost := 0
	for off, b := range acked {
		if !bytes.Equal(got[off], b) {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged messages missing or different in the pulled queue", lost, len(acked))
	}
}

// startBroker launches bin/mqbroker -standalone with its store on the tmpfs. Only the
// metadata reserve refuses sends and nothing is deleted forcibly, so every acknowledged
// message must stay readable.
func startBroker(t *testing.T, bin proctest.Binaries, store string) (*proctest.Proc, string) {
	var addr string
	serves := func(*proctest.Proc) bool { _, err := ha.RuntimeInfo(addr); return err == nil }
	p := proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: bin.Broker,
			Args: []string{"-standalone", "-c", "", "-store", store, "-listen", addr, "-brokerIP1", "127.0.0.1", "-loglevel", "info"},
			Env: []string{
				"ROCKETGO_NAMESRV_LISTENADDR=" + proctest.FreeAddr(t),
				proctest.AnyHAPort,
				// 1 MiB segments: what a restart frees of the killed run (its spare
				// segment) stays below what would lift the disk out of critical.
				"ROCKETGO_STORE_MAPPEDFILESIZECOMMITLOG=" + fmt.Sprint(1<<20),
				"ROCKETGO_STORE_CONSUMEQUEUEUNITSPERFILE=4096",
				"ROCKETGO_STORE_DISKSPACECLEANFORCIBLYRATIO=0.999",
				"ROCKETGO_STORE_DISKSPACEWARNINGLEVELRATIO=0.999",
			}}
	}, serves)
	return p, addr
}

// createTopic sends UPDATE_AND_CREATE_TOPIC and returns the answer's code and remark.
func createTopic(addr, name string) (int32, string) {
	h := &header.CreateTopicRequest{Topic: name, DefaultTopic: "TBW102", ReadQueueNums: 1, WriteQueueNums: 1,
		Perm: 6, TopicFilterType: "SINGLE_TAG"}
	resp, err := proctest.Invoke(addr, codec.NewRequest(code.UpdateAndCreateTopic, h.Encode(), nil))
	if err != nil {
		return -1, err.Error()
	}
	return resp.Code, resp.Remark
}

// commitOffset sends UPDATE_CONSUMER_OFFSET and fails the test unless it succeeds.
func commitOffset(t *testing.T, addr, group string, off int64) {
	t.Helper()
	h := &header.UpdateConsumerOffsetRequest{ConsumerGroup: group, Topic: topic, QueueID: 0, CommitOffset: off}
	resp, err := proctest.Invoke(addr, codec.NewRequest(code.UpdateConsumerOffset, h.Encode(), nil))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("commit offset %d of %s: %v %v", off, group, err, resp)
	}
}

// The disk guard's lines for its levels.
const (
	critical = "disk critically full: sends refused"
	full     = "disk full: sends refused"
	ok       = "disk space available again: sends accepted"
)

// guardLevel returns the line of the broker's current run naming the level the disk
// guard logged last.
func guardLevel(b *proctest.Proc) string {
	lines := b.Lines()
	for i := len(lines) - 1; i >= 0; i-- {
		for _, l := range []string{critical, full, ok} {
			if strings.Contains(lines[i], l) {
				return l
			}
		}
		if strings.Contains(lines[i], "start mqbroker") {
			break
		}
	}
	return ok
}

func TestDiskFullProcess(t *testing.T) {
	bin := proctest.Build(t)
	mnt := mountTmpfs(t)
	t0 := time.Now()
	phase := func(what string) { t.Logf("%s after %s", what, time.Since(t0).Round(time.Millisecond)) }
	b, addr := startBroker(t, bin, filepath.Join(mnt, "store"))
	ha.CreateTopic(t, addr, topic, 1)
	p := startProducer(addr, nil)
	defer func() {
		select {
		case <-p.stop:
		default:
			p.halt()
		}
	}()
	testutil.Eventually(t, 10*time.Second, "first sends", func() bool { n, _, _, _ := p.state(); return n >= 20 })

	// Another process fills the disk, leaving 1 MiB.
	filler := filepath.Join(mnt, "filler")
	fillBy(t, filler, free(t, mnt)-(1<<20))
	began := time.Now()
	p.waitRefused(t, "sends refused after another process filled the disk")
	t.Logf("figure: sends refused %s after the disk was filled", time.Since(began).Round(time.Millisecond))
	checkAcked(t, addr, p)
	if !b.Running() {
		t.Fatal("broker exited on a disk filled by another process")
	}
	if info, err := ha.RuntimeInfo(addr); err != nil || info["diskFull"] != "true" {
		t.Fatalf("runtime info diskFull %q (%v), want true", info["diskFull"], err)
	}
	phase("filled by another process")
	os.Remove(filler)
	began = time.Now()
	p.waitResumed(t, "sends resumed after the file was removed")
	t.Logf("figure: sends resumed %s after the file was removed", time.Since(began).Round(time.Millisecond))

	// A ballast to free later, then the broker fills the disk by itself.
	ballast := filepath.Join(mnt, "ballast")
	fillBy(t, ballast, 8<<20)
	p.waitRefused(t, "sends refused once the broker filled the disk")
	checkAcked(t, addr, p)
	p.halt()
	phase("filled by the broker")
	if !b.Running() {
		t.Fatal("broker exited on a disk it filled")
	}

	// Kill it and restart it on a critically full disk: it serves reads within 2 s,
	// with its metadata read-only.
	// The disk is filled after the kill: the killed process's deleted but still
	// mapped files are freed only when it is gone.
	b.Kill()
	fillBy(t, filler, free(t, mnt)-(512<<10))
	began = time.Now()
	b.Restart(func(*proctest.Proc) bool { _, err := ha.RuntimeInfo(addr); return err == nil })
	recs := ha.Pull(t, addr, "checker", topic, 0, 0, 1)
	took := time.Since(began)
	t.Logf("figure: restart on a full disk served its first pull %s after the start", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Fatalf("restart on a full disk served its first pull after %s, want within 2s", took)
	}
	if len(recs) == 0 || recs[0].QueueOffset != 0 || !bytes.Equal(recs[0].Body, p.acked[0]) {
		t.Fatalf("pull after restart: %d records, first not the acknowledged offset 0", len(recs))
	}
	b.WaitLine(5*time.Second, "metadata opened read-only")
	// The restart may free what the killed run left (a preallocated segment), so top
	// the disk up again before asking for a metadata change.
	filler2 := filepath.Join(mnt, "filler2")
	fillBy(t, filler2, free(t, mnt)-(512<<10))
	testutil.Eventually(t, 5*time.Second, "the broker to see the disk critically full", func() bool {
		return guardLevel(b) == critical
	})
	if c, remark := createTopic(addr, "AfterFull"); c == code.Success {
		t.Fatalf("topic created on a critically full disk (remark %q)", remark)
	} else if !strings.Contains(remark, "disk full") {
		t.Fatalf("topic creation refused with %d %q, which does not say the disk is full", c, remark)
	}
	phase("restarted")

	// Space returns: without a restart the metadata becomes writable again.
	os.Remove(filler)
	os.Remove(filler2)
	os.Remove(ballast)
	began = time.Now()
	testutil.Eventually(t, 10*time.Second, "a topic created once space returned", func() bool {
		c, _ := createTopic(addr, "AfterFull")
		return c == code.Success
	})
	t.Logf("figure: metadata writable %s after space returned", time.Since(began).Round(time.Millisecond))
	b.WaitLine(5*time.Second, "metadata writable")
	commitOffset(t, addr, "cg-after-full", 7)
	p2 := startProducer(addr, p.acked) // p has halted
	p2.waitResumed(t, "sends resumed after the restart once space returned")
	p2.halt()
	checkAcked(t, addr, p2)

	// A clean restart finds the topic and the offset written after the full start.
	b.Stop()
	b.Restart(func(*proctest.Proc) bool { _, err := ha.RuntimeInfo(addr); return err == nil })
	if !ha.ServesTopic(addr, "AfterFull") {
		t.Fatal("topic created after space returned is gone after a restart")
	}
	if off, ok := ha.CommittedOffset(addr, "cg-after-full", topic, 0); !ok || off != 7 {
		t.Fatalf("offset committed after space returned: %d %v after a restart, want 7", off, ok)
	}
	phase("metadata kept over a restart")

	out := b.Output()
	if strings.Contains(out, "panic") {
		t.Fatal("broker output mentions a panic")
	}
	if n := strings.Count(out, "\n"); n > 400 {
		t.Fatalf("broker wrote %d log lines; a full disk must be logged once per state change", n)
	}
	t.Logf("acknowledged %d messages; broker output %d lines", len(p2.acked), strings.Count(out, "\n"))
}
