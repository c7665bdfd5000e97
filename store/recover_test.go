package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/consumequeue"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// written is what a test knows it appended.
type written struct {
	m     msg
	qo    int64
	phys  int64
	end   int64
	props int64 // where the record's properties start
}

// fill appends n messages round-robin over queues and returns them.
func fill(t testing.TB, s *Store, n, queues, size int) []written {
	t.Helper()
	var out []written
	for i := 0; i < n; i++ {
		m := msg{topic: "R", queue: int32(i % queues), body: body(i, size), keys: fmt.Sprintf("k%d", i), uniq: fmt.Sprintf("U%06d", i)}
		rec := encode(t, m)
		r, err := s.Put(rec)
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		out = append(out, written{m, r.QueueOffset, r.PhysicalOffset, r.EndOffset, r.EndOffset - int64(len(message.RecordProperties(rec)))})
	}
	return out
}

// verifyExactly checks that the store holds exactly want (in the order appended) in its
// ConsumeQueues: max offsets, contents, physical offsets.
func verifyExactly(t testing.TB, s *Store, want []written, queues int) {
	t.Helper()
	per := make([][]written, queues)
	for _, w := range want {
		per[w.m.queue] = append(per[w.m.queue], w)
	}
	for q := 0; q < queues; q++ {
		if got := s.MaxOffset("R", int32(q)); got != int64(len(per[q])) {
			t.Fatalf("queue %d: max offset %d, want %d", q, got, len(per[q]))
		}
		for i, w := range per[q] {
			g := s.GetMessages("R", int32(q), int64(i), 1, 0, nil)
			if g.Status != Found || len(g.Records) != 1 {
				t.Fatalf("queue %d offset %d: %s", q, i, g.Status)
			}
			checkRecord(t, g.Records[0], w.m, w.qo, w.phys)
		}
	}
	end := int64(0)
	if len(want) > 0 {
		end = want[len(want)-1].end
	}
	if got := s.MaxPhysicalOffset(); got < end {
		t.Fatalf("max physical offset %d, below the last kept record's end %d", got, end)
	}
}

func TestReopenClean(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		s := openT(t, o)
		ws := fill(t, s, 300, 3, 500)
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		s = openT(t, o)
		st := s.RecoveryStats()
		if !st.Clean || st.TruncatedAt != -1 || st.RedispatchedBytes != 0 || st.BytesScanned != 0 {
			t.Fatalf("clean reopen stats: %+v", st)
		}
		verifyExactly(t, s, ws, 3)
		r := put(t, s, msg{topic: "R", queue: 1, body: []byte("after")})
		if r.QueueOffset != 100 || r.PhysicalOffset != ws[len(ws)-1].end {
			t.Fatalf("append after reopen: %+v, want queue offset 100 at %d", r, ws[len(ws)-1].end)
		}
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.QueryByKey("R", "U000123", 0, 1<<62, 5); len(got) != 1 || got[0] != ws[123].phys {
			t.Fatalf("query after reopen: %v", got)
		}
	})
}

func TestReopenAfterCrash(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.CheckpointInterval = time.Hour // only the checkpoint Open writes: recover it all
		s := openT(t, o)
		ws := fill(t, s, 400, 4, 300)
		s.crash()
		s = openT(t, o)
		st := s.RecoveryStats()
		if st.Clean || st.EndOffset != ws[len(ws)-1].end || st.RecordsVerified != 400 || st.TruncatedAt != -1 {
			t.Fatalf("recovery stats: %+v", st)
		}
		verifyExactly(t, s, ws, 4)
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.QueryByKey("R", "k399", 0, 1<<62, 5); len(got) != 1 || got[0] != ws[399].phys {
			t.Fatalf("query after crash: %v", got)
		}
		r := put(t, s, msg{topic: "R", queue: 3, body: []byte("after")})
		if r.QueueOffset != 100 {
			t.Fatalf("queue offset after crash: %d, want 100", r.QueueOffset)
		}
	})
}

// crashedBase builds a store of n records with a checkpoint only at its creation,
// crashes it, and returns its directory and what it wrote.
func crashedBase(t *testing.T, o Options, n, queues, size int) []written {
	t.Helper()
	o.CheckpointInterval = time.Hour
	s := openT(t, o)
	ws := fill(t, s, n, queues, size)
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		t.Fatal(err)
	}
	s.crash()
	return ws
}

// keptBefore returns the records a tail damaged from pos on leaves: those that end at
// or before pos, and the one holding pos if the damage starts inside its properties.
// The v1 record has no checksum over its properties (only over the body), so damage
// confined to them cannot be told from data; the appender writes each record's header
// last so that a killed process never leaves such a record behind.
func keptBefore(ws []written, pos int64) []written {
	for i, w := range ws {
		if w.end > pos {
			if pos >= w.props {
				return ws[:i+1]
			}
			return ws[:i]
		}
	}
	return ws
}

// segmentFile returns the path of the CommitLog segment holding pos.
func segmentFile(o Options, pos int64) (string, int64) {
	start := pos - pos%o.CommitLogSegmentBytes
	return filepath.Join(o.Dir, commitLogDir, segment.Name(start)), pos - start
}

// TestTornTail damages the CommitLog tail at hundreds of positions inside the last
// records — zeroed from there on (a torn or lost write), overwritten with garbage, or
// one body byte flipped — and checks that recovery keeps exactly the records before the
// damaged one, with ConsumeQueues that agree.
func TestTornTail(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		base := testOptions(t, mode)
		base.CommitLogSegmentBytes = 32 << 10
		ws := crashedBase(t, base, 60, 3, 60)
		last := ws[len(ws)-3:] // damage inside the last three records
		rng := rand.New(rand.NewSource(1))
		type damage struct {
			name string
			pos  int64
			do   func(b []byte, rel int64)
		}
		var cases []damage
		step := int64(3) // every third byte: about 270 cases; ROCKETGO_LONG=1 takes every byte
		if os.Getenv("ROCKETGO_LONG") != "" {
			step = 1
		}
		for _, w := range last {
			for pos := w.phys; pos < w.end; pos++ {
				if (pos-w.phys)%step == 0 || pos-w.phys < 12 {
					cases = append(cases, damage{"zero", pos, func(b []byte, rel int64) { clear(b[rel:]) }})
				}
				if (pos-w.phys)%(2*step) == 1 {
					cases = append(cases, damage{"garbage", pos, func(b []byte, rel int64) {
						for i := rel; i < int64(len(b)); i++ {
							b[i] = byte(rng.Intn(256))
						}
					}})
				}
			}
		}
		lastRec := ws[len(ws)-1]
		bodyAt := lastRec.props - 2 - 1 - 1 - int64(len(lastRec.m.body))
		for i := int64(0); i < int64(len(lastRec.m.body)); i += 3 * step {
			cases = append(cases, damage{"flip", bodyAt + i, func(b []byte, rel int64) { b[rel] ^= 0x5a }})
		}
		if len(cases) < 200 {
			t.Fatalf("only %d damage positions", len(cases))
		}
		scratch := t.TempDir()
		for i, c := range cases {
			o := base
			o.Dir = filepath.Join(scratch, fmt.Sprintf("d%d", i))
			copyDir(t, base.Dir, o.Dir)
			path, rel := segmentFile(o, c.pos)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c.do(b, rel)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(o)
			if err != nil {
				t.Fatalf("%s at %d: open: %v", c.name, c.pos, err)
			}
			want := keptBefore(ws, c.pos)
			if c.name == "flip" {
				want = ws[:len(ws)-1]
			}
			func() {
				defer s.Close()
				verifyExactly(t, s, want, 3)
				if got := s.MaxPhysicalOffset(); got != want[len(want)-1].end {
					t.Fatalf("%s at %d: log ends at %d, want %d", c.name, c.pos, got, want[len(want)-1].end)
				}
				if st := s.RecoveryStats(); c.name != "zero" && c.pos < want[len(want)-1].end && st.TruncatedAt != want[len(want)-1].end {
					t.Fatalf("%s at %d: truncated at %d, want %d", c.name, c.pos, st.TruncatedAt, want[len(want)-1].end)
				}
				// Appends continue right after the kept records.
				r := put(t, s, msg{topic: "R", queue: 0, body: []byte("next")})
				if r.PhysicalOffset != want[len(want)-1].end {
					t.Fatalf("%s at %d: next append at %d, want %d", c.name, c.pos, r.PhysicalOffset, want[len(want)-1].end)
				}
			}()
			os.RemoveAll(o.Dir)
		}
		t.Logf("%d damage cases recovered", len(cases))
	})
}

func TestMidLogCorruption(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		base := testOptions(t, mode)
		ws := crashedBase(t, base, 50, 2, 200)
		bad := ws[10]
		path, rel := segmentFile(base, bad.phys+100) // inside the body
		b, _ := os.ReadFile(path)
		b[rel] ^= 0xff
		os.WriteFile(path, b, 0o644)

		o := base
		o.Dir = filepath.Join(t.TempDir(), "copy")
		copyDir(t, base.Dir, o.Dir)
		_, err := Open(o)
		if !errors.Is(err, ErrCorruption) {
			t.Fatalf("open: got %v, want ErrCorruption", err)
		}
		file, _ := segmentFile(o, bad.phys)
		for _, want := range []string{file, fmt.Sprintf("offset %d", bad.phys), "truncateOnCorruption"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not name %q", err, want)
			}
		}
		// Refusing must not have changed anything: the lock is free and the data intact.
		o.TruncateOnCorruption = true
		s, err := Open(o)
		if err != nil {
			t.Fatalf("open with truncateOnCorruption: %v", err)
		}
		defer s.Close()
		st := s.RecoveryStats()
		if !st.Corruption || st.TruncatedAt != bad.phys {
			t.Fatalf("stats %+v, want corruption cut at %d", st, bad.phys)
		}
		verifyExactly(t, s, ws[:10], 2)
	})
}

func TestFormatMismatchAndLock(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		s := openT(t, o)
		if _, err := Open(o); !errors.Is(err, ErrLocked) {
			t.Fatalf("second open: got %v, want ErrLocked", err)
		}
		s.Close()
		o2 := o
		o2.CommitLogSegmentBytes = 128 << 10
		_, err := Open(o2)
		if !errors.Is(err, ErrFormatMismatch) || !strings.Contains(err.Error(), "65536") || !strings.Contains(err.Error(), "131072") {
			t.Fatalf("segment size mismatch: got %v", err)
		}
		o3 := o
		o3.ConsumeQueueUnits = 100
		_, err = Open(o3)
		if !errors.Is(err, ErrFormatMismatch) || !strings.Contains(err.Error(), "64") || !strings.Contains(err.Error(), "100") {
			t.Fatalf("queue units mismatch: got %v", err)
		}
		// The refused opens left the store usable.
		s = openT(t, o)
		put(t, s, msg{topic: "T", body: []byte("ok")})
	})
}

// TestTornConsumeQueue damages ConsumeQueue files as a machine crash could (a lost page
// in the tail, stale units past the end) and checks that recovery rebuilds them.
func TestTornConsumeQueue(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		base := testOptions(t, mode)
		ws := crashedBase(t, base, 200, 2, 50)
		for _, c := range []struct {
			name string
			do   func(b []byte, units int)
		}{
			{"lost tail units", func(b []byte, units int) { clear(b[(units-5)*20 : units*20]) }},
			{"hole before the tail", func(b []byte, units int) { clear(b[(units-9)*20 : (units-6)*20]) }},
			{"stale units past the end", func(b []byte, units int) {
				for i := units * 20; i < (units+3)*20; i++ {
					b[i] = 0x11
				}
			}},
			{"torn unit", func(b []byte, units int) { clear(b[(units-1)*20+9 : units*20]) }},
		} {
			o := base
			o.Dir = filepath.Join(t.TempDir(), "copy")
			copyDir(t, base.Dir, o.Dir)
			dir := consumequeue.Dir(filepath.Join(o.Dir, consumeQDir), "R", 1)
			starts, _ := segment.List(dir)
			last := filepath.Join(dir, segment.Name(starts[len(starts)-1]))
			b, _ := os.ReadFile(last)
			units := 100 - int(starts[len(starts)-1]/20)
			c.do(b, units)
			os.WriteFile(last, b, 0o644)
			s, err := Open(o)
			if err != nil {
				t.Fatalf("%s: open: %v", c.name, err)
			}
			verifyExactly(t, s, ws, 2)
			s.Close()
		}
	})
}

// TestIndexAheadOfLog cuts the log below what the key index holds (a machine crash that
// lost the log's tail but not pebble's) and checks that the index is trimmed.
func TestIndexAheadOfLog(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		s := openT(t, o)
		ws := fill(t, s, 100, 2, 100)
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		// The index reached the disk (a checkpoint flushed it); the log's tail did not.
		if err := s.idx.Sync(); err != nil {
			t.Fatal(err)
		}
		s.crash()
		cut := ws[80]
		path, rel := segmentFile(o, cut.phys)
		b, _ := os.ReadFile(path)
		clear(b[rel:])
		os.WriteFile(path, b, 0o644)
		for seg := cut.phys - cut.phys%o.CommitLogSegmentBytes + o.CommitLogSegmentBytes; ; seg += o.CommitLogSegmentBytes {
			if os.Remove(filepath.Join(o.Dir, commitLogDir, segment.Name(seg))) != nil {
				break
			}
		}
		// The checkpoint vouches for less than the cut, as after a real machine crash.
		os.Remove(filepath.Join(o.Dir, checkpointName))
		s = openT(t, o)
		if st := s.RecoveryStats(); !st.IndexTruncated || st.EndOffset != cut.phys {
			t.Fatalf("recovery stats %+v, want the index truncated at %d", st, cut.phys)
		}
		verifyExactly(t, s, ws[:80], 2)
		if got, _ := s.QueryByKey("R", "U000090", 0, 1<<62, 5); len(got) != 0 {
			t.Fatalf("query for a cut record: %v", got)
		}
		// The same keys written again are found at their new offsets only.
		r := put(t, s, ws[90].m)
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.QueryByKey("R", "U000090", 0, 1<<62, 5); len(got) != 1 || got[0] != r.PhysicalOffset {
			t.Fatalf("query after re-append: %v, want [%d]", got, r.PhysicalOffset)
		}
		if got, _ := s.QueryByKey("R", "U000079", 0, 1<<62, 5); len(got) != 1 || got[0] != ws[79].phys {
			t.Fatalf("query for a kept record: %v", got)
		}
	})
}

// recorder is a test projection that keeps what it was fed in memory.
type recorder struct {
	name      string
	applied   int64
	offsets   []int64
	bodies    [][]byte
	truncated []int64
	failAt    int64
}

func (r *recorder) Name() string   { return r.name }
func (r *recorder) Applied() int64 { return r.applied }
func (r *recorder) Apply(rec []byte, off int64) error {
	if r.failAt > 0 && off >= r.failAt {
		return errors.New("injected failure")
	}
	r.offsets = append(r.offsets, off)
	r.bodies = append(r.bodies, bytes.Clone(message.RecordBody(rec)))
	r.applied = off + int64(len(rec))
	return nil
}
func (r *recorder) Truncate(off int64) error {
	r.truncated = append(r.truncated, off)
	r.applied = off
	return nil
}

func TestProjections(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		s := openT(t, o)
		ws := fill(t, s, 40, 2, 100)
		p := &recorder{name: "p"}
		if err := s.AddProjection(p); err != nil {
			t.Fatalf("add: %v", err)
		}
		if len(p.offsets) != 40 || p.offsets[39] != ws[39].phys {
			t.Fatalf("catch-up fed %d records", len(p.offsets))
		}
		if err := s.AddProjection(&recorder{name: "p"}); err == nil {
			t.Fatal("duplicate projection name accepted")
		}
		more := fill(t, s, 10, 2, 100)
		syncDispatch(t, s)
		if err := s.AddProjection(&recorder{name: "sync-point"}); err != nil { // runs on the dispatcher: p is quiet now
			t.Fatal(err)
		}
		if len(p.offsets) != 50 || p.offsets[49] != more[9].phys || p.applied != more[9].end {
			t.Fatalf("live feed: %d records, applied %d", len(p.offsets), p.applied)
		}
		// A projection that claims more than the log holds is truncated, not trusted.
		ahead := &recorder{name: "ahead", applied: s.MaxPhysicalOffset() + 1000}
		if err := s.AddProjection(ahead); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ahead.truncated) != fmt.Sprint([]int64{s.MaxPhysicalOffset()}) || len(ahead.offsets) != 0 {
			t.Fatalf("ahead projection: truncated %v, fed %d", ahead.truncated, len(ahead.offsets))
		}
		// A failing projection stops being fed; the others go on.
		failing := &recorder{name: "failing", applied: more[9].end, failAt: more[9].end}
		if err := s.AddProjection(failing); err != nil {
			t.Fatal(err)
		}
		put(t, s, msg{topic: "R", body: []byte("x")})
		put(t, s, msg{topic: "R", body: []byte("y")})
		syncDispatch(t, s)
		if err := s.AddProjection(&recorder{name: "sync-point-2"}); err != nil {
			t.Fatal(err)
		}
		if len(failing.offsets) != 0 || len(p.offsets) != 52 {
			t.Fatalf("after a failure: failing fed %d, p fed %d", len(failing.offsets), len(p.offsets))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		cp, last, err := openCheckpoint(o.Dir)
		if err != nil {
			t.Fatal(err)
		}
		cp.close()
		if got := last.GetApplied()["p"]; got != p.applied {
			t.Fatalf("checkpoint has p at %d, want %d", got, p.applied)
		}
		if err := s.AddProjection(&recorder{name: "late"}); !errors.Is(err, ErrClosed) {
			t.Fatalf("add after close: got %v, want ErrClosed", err)
		}
	})
}

// TestInconsistentQueueOffset damages the QUEUEOFFSET of a record (not covered by any
// checksum in v1): at the tail it is cut like a torn write, in the middle it is
// corruption, refused unless TruncateOnCorruption.
func TestInconsistentQueueOffset(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		base := testOptions(t, mode)
		ws := crashedBase(t, base, 30, 2, 100)
		for _, c := range []struct {
			name    string
			victim  int
			corrupt bool
		}{{"tail", 29, false}, {"middle", 20, true}} {
			o := base
			o.Dir = filepath.Join(t.TempDir(), c.name)
			copyDir(t, base.Dir, o.Dir)
			v := ws[c.victim]
			path, rel := segmentFile(o, v.phys)
			b, _ := os.ReadFile(path)
			binary.BigEndian.PutUint64(b[rel+20:], uint64(v.qo+1000))
			os.WriteFile(path, b, 0o644)
			s, err := Open(o)
			if c.corrupt {
				if !errors.Is(err, ErrCorruption) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", v.phys)) {
					t.Fatalf("%s: got %v, want corruption at %d", c.name, err, v.phys)
				}
				o.TruncateOnCorruption = true
				if s, err = Open(o); err != nil {
					t.Fatalf("%s: open with truncateOnCorruption: %v", c.name, err)
				}
			} else if err != nil {
				t.Fatalf("%s: open: %v", c.name, err)
			}
			if st := s.RecoveryStats(); st.TruncatedAt != v.phys || st.Corruption != c.corrupt {
				t.Fatalf("%s: stats %+v", c.name, st)
			}
			verifyExactly(t, s, ws[:c.victim], 2)
			r := put(t, s, msg{topic: "R", queue: int32(c.victim % 2), body: []byte("next")})
			if r.PhysicalOffset != v.phys || r.QueueOffset != v.qo {
				t.Fatalf("%s: next append at %d queue offset %d, want %d %d", c.name, r.PhysicalOffset, r.QueueOffset, v.phys, v.qo)
			}
			s.Close()
		}
	})
}
