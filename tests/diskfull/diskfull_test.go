// Package diskfull runs a real broker process on a small tmpfs and fills the disk —
// with another process's file and with the broker's own appends — while a producer
// sends: the broker must not exit, must refuse sends with SERVICE_NOT_AVAILABLE and a
// remark saying the disk is full, must keep serving pulls, must lose no acknowledged
// message, and must accept sends again by itself once space returns; restarted on the
// full disk it must serve reads within 2 s. The test mounts the tmpfs, so it needs
// root; it skips with a message otherwise.
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

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/tests/ha"
)

const (
	fsSize  = 48 << 20
	bodyLen = 8 << 10
	topic   = "DiskFull"
)

// mountTmpfs mounts a fsSize tmpfs for the store, or skips the test.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs bin/mqbroker")
	}
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

func startProducer(addr string) *producer {
	p := &producer{addr: addr, acked: map[int64][]byte{}, stop: make(chan struct{}), done: make(chan struct{})}
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
	ha.WaitFor(t, 20*time.Second, what, func() bool {
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
	ha.WaitFor(t, 20*time.Second, what, func() bool {
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

func TestDiskFullProcess(t *testing.T) {
	mnt := mountTmpfs(t)
	bin := ha.Build(t)
	t0 := time.Now()
	phase := func(what string) { t.Logf("%s after %s", what, time.Since(t0).Round(time.Millisecond)) }
	dir := t.TempDir()
	ns := ha.StartNamesrv(t, bin, dir, "namesrv", "")
	b := ha.StartBroker(t, bin, dir, ha.BrokerConfig{
		Name: "df", Role: "ASYNC_MASTER", Namesrv: []string{ns.Addr}, HAPort: -1,
		StoreDir: filepath.Join(mnt, "store"),
		Store: map[string]any{
			// Only the reserve refuses sends and nothing is deleted forcibly, so every
			// acknowledged message must stay readable.
			"diskSpaceCleanForciblyRatio": 0.999,
			"diskSpaceWarningLevelRatio":  0.999,
		},
	})
	ha.CreateTopic(t, b.Addr, topic, 1)
	p := startProducer(b.Addr)
	defer func() {
		select {
		case <-p.stop:
		default:
			p.halt()
		}
	}()
	ha.WaitFor(t, 10*time.Second, "first sends", func() bool { n, _, _, _ := p.state(); return n >= 20 })

	// Another process fills the disk, leaving 1 MiB.
	filler := filepath.Join(mnt, "filler")
	fillBy(t, filler, free(t, mnt)-(1<<20))
	p.waitRefused(t, "sends refused after another process filled the disk")
	checkAcked(t, b.Addr, p)
	if !b.Running() {
		t.Fatal("broker exited on a disk filled by another process")
	}
	if info, err := ha.RuntimeInfo(b.Addr); err != nil || info["diskFull"] != "true" {
		t.Fatalf("runtime info diskFull %q (%v), want true", info["diskFull"], err)
	}
	phase("filled by another process")
	os.Remove(filler)
	p.waitResumed(t, "sends resumed after the file was removed")
	phase("resumed")

	// A ballast to free later, then the broker fills the disk by itself.
	ballast := filepath.Join(mnt, "ballast")
	fillBy(t, ballast, 8<<20)
	p.waitRefused(t, "sends refused once the broker filled the disk")
	checkAcked(t, b.Addr, p)
	p.halt()
	phase("filled by the broker")
	if !b.Running() {
		t.Fatal("broker exited on a disk it filled")
	}

	// Kill it and restart it on a critically full disk: it serves reads within 2 s.
	fillBy(t, filler, free(t, mnt)-(512<<10))
	b.Kill()
	began := time.Now()
	b.Start()
	ha.WaitFor(t, 10*time.Second, "restarted broker to serve", func() bool {
		if !b.Running() {
			t.Fatal("broker exited when restarted on a full disk")
		}
		_, err := ha.RuntimeInfo(b.Addr)
		return err == nil
	})
	recs := ha.Pull(t, b.Addr, "checker", topic, 0, 0, 1)
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("restart on a full disk served its first pull after %s, want within 2s", took)
	}
	if len(recs) == 0 || recs[0].QueueOffset != 0 {
		t.Fatalf("pull after restart: %d records", len(recs))
	}
	phase("restarted")
	// Reopening its databases read-write may free what the killed run left (pebble's
	// old WAL), so top the disk up again: sends must be refused with the remark.
	p2 := startProducer(b.Addr)
	for k, v := range p.acked {
		p2.acked[k] = v
	}
	filler2 := filepath.Join(mnt, "filler2")
	fillBy(t, filler2, free(t, mnt)-(512<<10))
	p2.waitRefused(t, "sends refused after the restart on a full disk")
	checkAcked(t, b.Addr, p2)
	os.Remove(filler2)
	os.Remove(filler)
	os.Remove(ballast)
	p2.waitResumed(t, "sends resumed after restart once space returned")
	p2.halt()
	checkAcked(t, b.Addr, p2)

	if b.LogContains("panic") {
		t.Fatal("broker log mentions a panic")
	}
	data, _ := os.ReadFile(filepath.Join(dir, "df-0.log"))
	if n := bytes.Count(data, []byte("\n")); n > 400 {
		t.Fatalf("broker wrote %d log lines; a full disk must be logged once per state change", n)
	}
	t.Logf("acknowledged %d messages; broker log %d lines", len(p2.acked), bytes.Count(data, []byte("\n")))
}
