package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/consumequeue"
	"github.com/rocketgo/rocketgo/store/internal/segment"
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
		// The index answers exactly the old records of the kept segments.
		var oldKept []int64
		for _, w := range old {
			if w.phys >= keepFrom {
				oldKept = append(oldKept, w.phys)
			}
		}
		if len(oldKept) == 0 || len(oldKept) == len(old) {
			t.Fatalf("%d of %d old records kept: the test needs some of them on each side of %d", len(oldKept), len(old), keepFrom)
		}
		got, _ := s.QueryByKey("T", "old", 0, 1<<62, 1000)
		slices.Sort(got)
		if !slices.Equal(got, oldKept) {
			t.Fatalf("index returns old entries %v, want exactly those in kept segments %v", got, oldKept)
		}
		all := append(append([]written(nil), old...), recent...)
		mins := make([]int64, 2)
		for q := int32(0); q < 2; q++ {
			mins[q] = checkQueueRetention(t, s, o, "T", q, queueWrites(all, 2, q), keepFrom)
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
		for q := int32(0); q < 2; q++ {
			if got := checkQueueRetention(t, s, o, "T", q, queueWrites(all, 2, q), keepFrom); got != mins[q] {
				t.Fatalf("after reopen: queue %d min offset %d, want %d as before", q, got, mins[q])
			}
		}
	})
}

// TestRetentionUnderDiskPressure deletes every segment but the active one at once (the
// disk is always above DiskWarnRatio) and checks exactly what remains: the queues keep
// the units of the records in the active segment and nothing else, the ConsumeQueue
// files wholly below the new minimum are gone from disk, and appends continue the
// queues' offsets.
func TestRetentionUnderDiskPressure(t *testing.T) {
	const queues = 2
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.DiskWarnRatio = 1e-9 // always above: delete the oldest segments at once
		s := openT(t, o)
		var ws []written
		for i := 0; i < 300; i++ {
			m := msg{topic: "T", queue: int32(i % queues), body: body(i, 900)}
			r := put(t, s, m)
			ws = append(ws, written{m: m, qo: r.QueueOffset, phys: r.PhysicalOffset, end: r.EndOffset})
		}
		last := ws[len(ws)-1]
		syncDispatch(t, s)
		// The retention loop may have run on its own tick too; either way what is left
		// must be the same, so the checks below go by the end state.
		s.runRetention()
		keepFrom := last.phys - last.phys%o.CommitLogSegmentBytes
		segs := s.cl.Segments()
		if len(segs) != 1 || !segs[0].Contains(last.phys) || segs[0].Start() != keepFrom {
			t.Fatalf("kept %d segments; want only the active one at %d", len(segs), keepFrom)
		}
		if keepFrom == 0 || s.MinPhysicalOffset() != keepFrom {
			t.Fatalf("min physical offset %d, want %d (> 0)", s.MinPhysicalOffset(), keepFrom)
		}
		if starts, _ := segment.List(filepath.Join(o.Dir, commitLogDir)); len(starts) == 0 || starts[0] != keepFrom {
			t.Fatalf("commitlog files on disk start at %v, want %d", starts, keepFrom)
		}
		for q := int32(0); q < queues; q++ {
			checkQueueRetention(t, s, o, "T", q, queueWrites(ws, queues, q), keepFrom)
		}
		for q := int32(0); q < queues; q++ {
			r := put(t, s, msg{topic: "T", queue: q, body: []byte("after")})
			if want := int64(len(queueWrites(ws, queues, q))); r.QueueOffset != want {
				t.Fatalf("queue %d: offset after deletion %d, want %d", q, r.QueueOffset, want)
			}
		}
		syncDispatch(t, s)
		for q := int32(0); q < queues; q++ {
			if g := s.GetMessages("T", q, int64(len(queueWrites(ws, queues, q))), 8, 0, nil); g.Status != Found ||
				len(g.Records) != 1 || string(message.RecordBody(g.Records[0])) != "after" {
				t.Fatalf("queue %d: append after deletion not readable: %s, %d records", q, g.Status, len(g.Records))
			}
		}
	})
}

// queueWrites returns the writes of queue q, in queue-offset order.
func queueWrites(ws []written, queues int, q int32) []written {
	var out []written
	for i, w := range ws {
		if int32(i%queues) == q {
			out = append(out, w)
		}
	}
	return out
}

// checkQueueRetention checks queue q of topic after retention moved the CommitLog's
// minimum to keepFrom: its min offset is that of the first of ws (all its writes) whose
// record lies at or past keepFrom, exactly the units from there on are readable with
// their records, and its directory holds exactly the files from the one holding the min
// offset to the one holding the last unit. It returns the min offset.
func checkQueueRetention(t *testing.T, s *Store, o Options, topic string, q int32, ws []written, keepFrom int64) int64 {
	t.Helper()
	want := int64(len(ws))
	for _, w := range ws {
		if w.phys >= keepFrom {
			want = w.qo
			break
		}
	}
	if want == 0 {
		t.Fatalf("queue %d: every unit kept; the test needs some deleted", q)
	}
	max := int64(len(ws))
	if got := s.MinOffset(topic, q); got != want {
		t.Fatalf("queue %d: min offset %d, want %d", q, got, want)
	}
	if got := s.MaxOffset(topic, q); got != max {
		t.Fatalf("queue %d: max offset %d, want %d", q, got, max)
	}
	if g := s.GetMessages(topic, q, want-1, 1, 0, nil); g.Status != OffsetTooSmall || g.NextBegin != want {
		t.Fatalf("queue %d: get below min: %s next %d, want %s next %d", q, g.Status, g.NextBegin, OffsetTooSmall, want)
	}
	// Exactly max-want entries remain: every one readable, pointing at its record.
	for off := want; off < max; {
		g := s.GetMessages(topic, q, off, 32, 0, nil)
		if g.Status != Found || len(g.Records) == 0 {
			t.Fatalf("queue %d: get from %d: %s", q, off, g.Status)
		}
		for _, rec := range g.Records {
			w := ws[off]
			if e, _, err := message.DecodeRecord(rec); err != nil || e.QueueOffset != w.qo || e.PhysicalOffset != w.phys {
				t.Fatalf("queue %d offset %d: record %+v (%v), want queue offset %d at %d", q, off, e, err, w.qo, w.phys)
			}
			off++
		}
	}
	perFile := int64(o.ConsumeQueueUnits)
	var wantFiles []int64
	for k := min(want, max-1) / perFile; k <= (max-1)/perFile; k++ {
		wantFiles = append(wantFiles, k*perFile*consumequeue.UnitSize)
	}
	if wantFiles[0] == 0 {
		t.Fatalf("queue %d: min offset %d leaves the first file: the test needs one removed", q, want)
	}
	dir := consumequeue.Dir(filepath.Join(o.Dir, consumeQDir), topic, q)
	starts, err := segment.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(starts, wantFiles) {
		t.Fatalf("queue %d (min %d, max %d): files on disk %v, want %v", q, want, max, starts, wantFiles)
	}
	return want
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
		testutil.Eventually(t, 10*time.Second, "ErrDiskFull", func() bool {
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
		testutil.Eventually(t, 10*time.Second, "appends to resume", func() bool {
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
