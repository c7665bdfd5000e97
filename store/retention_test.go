package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/segment"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func TestRetentionByTime(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.FileReservedTime = time.Hour
		o.DeleteWhenHour = 4
		start := time.Date(2030, 1, 2, 2, 0, 0, 0, time.Local)
		clock := &fakeClock{now: start}
		o.Now = clock.Now
		s := openT(t, o)
		var old []written
		for i := 0; i < 200; i++ {
			r := put(t, s, msg{topic: "T", queue: int32(i % 2), body: body(i, 900), uniq: "old"})
			old = append(old, written{qo: r.QueueOffset, phys: r.PhysicalOffset, end: r.EndOffset})
		}
		clock.Set(start.Add(110 * time.Minute)) // 03:50
		var recent []written
		for i := 0; i < 100; i++ {
			r := put(t, s, msg{topic: "T", queue: int32(i % 2), body: body(i, 900), uniq: "new"})
			recent = append(recent, written{qo: r.QueueOffset, phys: r.PhysicalOffset, end: r.EndOffset})
		}
		syncDispatch(t, s)
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		before := len(s.cl.Segments())

		// 03:55: everything old has expired, but it is not the deletion hour yet.
		clock.Set(start.Add(115 * time.Minute))
		if n := s.runRetention(); n != 0 || len(s.cl.Segments()) != before {
			t.Fatalf("deleted %d segments outside the deletion hour", n)
		}
		// 04:10: the segments whose records all predate 03:10 go; the one holding the
		// first recent record (and everything after it) stays.
		clock.Set(start.Add(130 * time.Minute))
		n := s.runRetention()
		firstRecent := recent[0].phys
		keepFrom := firstRecent - firstRecent%o.CommitLogSegmentBytes
		if n == 0 || s.MinPhysicalOffset() != keepFrom {
			t.Fatalf("deleted %d segments, min physical offset %d, want %d", n, s.MinPhysicalOffset(), keepFrom)
		}
		if n := s.runRetention(); n != 0 {
			t.Fatalf("second run deleted %d more", n)
		}
		for _, f := range s.cl.Segments() {
			if f.Start() < keepFrom {
				t.Fatalf("segment %s still listed", f.Path())
			}
		}
		starts, _ := segment.List(filepath.Join(o.Dir, commitLogDir))
		if starts[0] != keepFrom {
			t.Fatalf("first segment file on disk starts at %d, want %d", starts[0], keepFrom)
		}
		// Queues now start at their first unit in a kept segment.
		for q := int32(0); q < 2; q++ {
			want := int64(-1)
			for i, w := range old {
				if int32(i%2) == q && w.phys >= keepFrom {
					want = w.qo
					break
				}
			}
			if want < 0 {
				want = recent[q].qo
			}
			if got := s.MinOffset("T", q); got != want {
				t.Fatalf("queue %d: min offset %d, want %d", q, got, want)
			}
			g := s.GetMessages("T", q, 0, 8, 0, nil)
			if g.Status != OffsetTooSmall || g.NextBegin != want {
				t.Fatalf("queue %d: get from 0: %s next %d", q, g.Status, g.NextBegin)
			}
			if g := s.GetMessages("T", q, want, 8, 0, nil); g.Status != Found {
				t.Fatalf("queue %d: get from min: %s", q, g.Status)
			}
		}
		if got, _ := s.QueryByKey("T", "old", 0, 1<<62, 1000); len(got) >= 200 {
			t.Fatalf("index still returns %d old entries", len(got))
		}
		if got, _ := s.QueryByKey("T", "new", 0, 1<<62, 1000); len(got) != 100 {
			t.Fatalf("index returns %d new entries, want 100", len(got))
		}
		// Reopening keeps the new minimum.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openT(t, o)
		if s.MinPhysicalOffset() != keepFrom {
			t.Fatalf("after reopen: min physical offset %d, want %d", s.MinPhysicalOffset(), keepFrom)
		}
		if g := s.GetMessages("T", 0, 0, 8, 0, nil); g.Status != OffsetTooSmall {
			t.Fatalf("after reopen: get from 0: %s", g.Status)
		}
	})
}

func TestRetentionUnderDiskPressure(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.DiskWarnRatio = 1e-9 // always above: delete the oldest segments at once
		s := openT(t, o)
		var last PutResult
		for i := 0; i < 300; i++ {
			last = put(t, s, msg{topic: "T", body: body(i, 900)})
		}
		syncDispatch(t, s)
		if n := s.runRetention(); n == 0 {
			t.Fatal("nothing deleted under disk pressure")
		}
		segs := s.cl.Segments()
		if len(segs) != 1 || !segs[0].Contains(last.PhysicalOffset) {
			t.Fatalf("kept %d segments; want only the active one", len(segs))
		}
		if g := s.GetMessages("T", 0, last.QueueOffset, 1, 0, nil); g.Status != Found {
			t.Fatalf("newest record: %s", g.Status)
		}
		r := put(t, s, msg{topic: "T", body: []byte("after")})
		if r.QueueOffset != last.QueueOffset+1 {
			t.Fatalf("queue offset after deletion %d, want %d", r.QueueOffset, last.QueueOffset+1)
		}
	})
}

// TestDiskFull runs the store on a 64 MiB tmpfs the test mounts, fills the disk with
// another file, and checks that appends fail with ErrDiskFull naming the usage, then
// resume by themselves once the file is removed.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; skipping the disk-full test")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64m"); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v); skipping the disk-full test", mnt, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.Dir = filepath.Join(mnt, "store-"+string(mode))
		o.CommitLogSegmentBytes = 1 << 20
		o.DiskWarnRatio, o.DiskMaxRatio = 0.85, 0.9
		s := openT(t, o)
		put(t, s, msg{topic: "T", body: []byte("before")})
		// Fill the file system up to 95 % with another file, a chunk at a time, and
		// keep it there (pebble's WAL grows and shrinks meanwhile) until appends fail.
		filler := filepath.Join(mnt, "filler")
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filler)
		topUp := func() {
			for {
				usage, _, err := diskUsage(o.Dir)
				if err != nil {
					t.Fatal(err)
				}
				if usage >= 0.95 {
					return
				}
				if _, err := f.Write(make([]byte, 64<<10)); err != nil {
					return // ENOSPC: full by any measure
				}
			}
		}
		var perr error
		waitFor(t, "ErrDiskFull", 10*time.Second, func() bool {
			topUp()
			_, perr = s.Put(encode(t, msg{topic: "T", body: []byte("x")}))
			return errors.Is(perr, ErrDiskFull)
		})
		f.Close()
		if !strings.Contains(perr.Error(), "% used") || !strings.Contains(perr.Error(), o.Dir) {
			t.Fatalf("disk full error %q does not name the usage and directory", perr)
		}
		if !s.Stats().DiskFull {
			t.Fatal("stats do not report the full disk")
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "appends to resume", 10*time.Second, func() bool {
			_, perr = s.Put(encode(t, msg{topic: "T", body: []byte("y")}))
			return perr == nil
		})
		if s.Stats().DiskFull {
			t.Fatal("stats still report a full disk")
		}
		syncDispatch(t, s)
		g := s.GetMessages("T", 0, 0, 100, 0, nil)
		if g.Status != Found || string(message.RecordBody(g.Records[0])) != "before" {
			t.Fatalf("get after resume: %s", g.Status)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(o.Dir)
	})
}
