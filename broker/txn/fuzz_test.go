package txn

import (
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

// FuzzSnapshot: Restore never panics, and whatever it accepts snapshots again to
// bytes that restore to the same set.
func FuzzSnapshot(f *testing.F) {
	_, snap := goldenSnapshot(f)
	f.Add(snap)
	f.Add(encodeSnapshot(nil, 0, nil))
	f.Add(snap[:len(snap)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Restore(b)
		if err != nil {
			return
		}
		snap, _ := s.Snapshot()
		again, err := Restore(snap)
		if err != nil {
			t.Fatalf("re-encoded snapshot does not restore: %v", err)
		}
		if again.Applied() != s.Applied() {
			t.Fatalf("applied %d, then %d", s.Applied(), again.Applied())
		}
		want, _ := s.List("", -1)
		got, _ := again.List("", -1)
		if len(got) != len(want) {
			t.Fatalf("%d entries, then %d", len(want), len(got))
		}
		for i := range want {
			w, g := want[i], got[i]
			if g.Offset != w.Offset || g.QueueOffset != w.QueueOffset || g.Group != w.Group || g.Topic != w.Topic ||
				g.QueueID != w.QueueID || g.UniqKey != w.UniqKey || !g.StoreTime.Equal(w.StoreTime) ||
				g.Immunity != w.Immunity || g.Checks != w.Checks || !g.LastCheck.Equal(w.LastCheck) {
				t.Fatalf("entry %d: %+v, then %+v", i, w, g)
			}
		}
	})
}

// FuzzApply feeds arbitrary bytes to the projection as if they were records (the
// dispatcher only hands it verified ones): it must never panic, and the set must stay
// consistent — every pending entry findable by its queue offset, and snapshots
// restorable.
func FuzzApply(f *testing.F) {
	l := newLogSim(f)
	p, q := l.half("pg", "T", 1, "U", map[string]string{message.PropCheckImmunity: "5"})
	l.op(OpTagChecked, q)
	f.Add(l.recs[p], []byte(nil))
	commit, _ := CommitRecord(nil, l.recs[p], p)
	f.Add(l.recs[p], commit)
	f.Add(l.recs[p], mustOp(f, OpTagRemoved, 0))
	discard, _ := DiscardRecord(nil, l.recs[p], p, 3)
	f.Add(l.recs[p], discard)
	f.Fuzz(func(t *testing.T, first, second []byte) {
		s := New(0)
		_ = s.Apply(first, 0)
		_ = s.Apply(second, int64(len(first)))
		s.mu.Lock()
		for q, off := range s.mu.byQueue {
			if e, ok := s.mu.pending[off]; !ok || e.QueueOffset != q {
				t.Fatalf("queue offset %d points at %d, which is not pending with it", q, off)
			}
		}
		s.mu.Unlock()
		snap, _ := s.Snapshot()
		if _, err := Restore(snap); err != nil {
			t.Fatalf("snapshot of the fuzzed set: %v", err)
		}
		_ = s.Due(epoch, Policy{Interval: 1, Timeout: 1, MaxChecks: 1, Retention: 1})
	})
}

// FuzzRecords: the record builders never panic on arbitrary input, and what they
// build decodes.
func FuzzRecords(f *testing.F) {
	l := newLogSim(f)
	p, _ := l.half("pg", "T", 1, "U", nil)
	f.Add(l.recs[p], int64(p))
	f.Add([]byte{0, 0, 0, 9}, int64(0))
	f.Fuzz(func(t *testing.T, half []byte, off int64) {
		for name, build := range map[string]func() ([]byte, error){
			"commit":  func() ([]byte, error) { return CommitRecord(nil, half, off) },
			"check":   func() ([]byte, error) { return CheckBody(nil, half, 2) },
			"discard": func() ([]byte, error) { return DiscardRecord(nil, half, off, 2) },
		} {
			rec, err := build()
			if err != nil {
				continue
			}
			if _, n, err := message.DecodeRecord(rec); err != nil || n != len(rec) {
				t.Fatalf("%s record does not decode: %v", name, err)
			}
		}
	})
}
