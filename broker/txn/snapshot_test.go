package txn

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// goldenSnapshot is the snapshot of a set with three pending half messages, one of
// them checked, one with an immunity: the seed of the fuzzer and of the round trip.
func goldenSnapshot(t testing.TB) (*Set, []byte) {
	t.Helper()
	l := newLogSim(t)
	l.half("pg", "Orders", 1, "U1", nil)
	_, q := l.half("pg", "Orders", 2, "U2", map[string]string{message.PropCheckImmunity: "9"})
	l.half("other", "Pay", 0, "", nil)
	l.now = l.now.Add(time.Minute)
	l.op(OpTagChecked, q)
	snap, _ := l.set.Snapshot()
	return l.set, snap
}

func TestSnapshotRoundTrip(t *testing.T) {
	s, snap := goldenSnapshot(t)
	r, err := Restore(snap)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if r.Applied() != s.Applied() {
		t.Fatalf("applied: got %d, want %d", r.Applied(), s.Applied())
	}
	want, _ := s.List("", -1)
	got, _ := r.List("", -1)
	if len(got) != len(want) || len(want) != 3 {
		t.Fatalf("entries: got %d, want %d (3)", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || g.QueueOffset != w.QueueOffset || g.Group != w.Group || g.Topic != w.Topic ||
			g.QueueID != w.QueueID || g.UniqKey != w.UniqKey || !g.StoreTime.Equal(w.StoreTime) ||
			g.Immunity != w.Immunity || g.Checks != w.Checks || !g.LastCheck.Equal(w.LastCheck) {
			t.Fatalf("entry %d: got %+v\nwant %+v", i, g, w)
		}
	}
	// The restored set resolves by queue offset like the original.
	r.mu.Lock()
	r.applyLocked(recOp, mustOp(t, OpTagRemoved, want[0].QueueOffset), r.Applied())
	r.mu.Unlock()
	if _, ok := r.Get(want[0].Offset); ok {
		t.Fatalf("rollback op did not resolve the restored entry")
	}
}

func mustOp(t testing.TB, tag string, q int64) []byte {
	recs, err := OpRecords(nil, tag, []int64{q}, host, 0)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSnapshotCorruption(t *testing.T) {
	_, snap := goldenSnapshot(t)
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": snap[:len(snap)-1],
		"trailing":  append(append([]byte(nil), snap...), 0),
	}
	flipped := append([]byte(nil), snap...)
	flipped[len(flipped)-3] ^= 0x40
	cases["bit flip"] = flipped
	magic := append([]byte(nil), snap...)
	magic[0] = 'X'
	cases["magic"] = magic
	for name, b := range cases {
		if _, err := Restore(b); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v, want ErrBadSnapshot", name, err)
		}
	}
	// A count far beyond the bytes present is refused before anything is allocated.
	huge := encodeSnapshot(nil, 100, nil)
	huge[20], huge[21], huge[22], huge[23] = 0xFF, 0xFF, 0xFF, 0xFF
	fixCRC(huge)
	if _, err := Restore(huge); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("huge count: %v", err)
	}
	// An entry at or past the applied offset is refused.
	bad := encodeSnapshot(nil, 100, []Entry{{Offset: 100, StoreTime: epoch}})
	if _, err := Restore(bad); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("entry past applied: %v", err)
	}
	dupOff := encodeSnapshot(nil, 100, []Entry{{Offset: 1, QueueOffset: 6, StoreTime: epoch}, {Offset: 1, QueueOffset: 7, StoreTime: epoch}})
	if _, err := Restore(dupOff); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("duplicate offset: %v", err)
	}
	// Two entries with one queue offset (a log the broker did not write): both kept,
	// the newer indexed, as Apply would have it.
	dupQ := encodeSnapshot(nil, 100, []Entry{{Offset: 2, QueueOffset: 7, StoreTime: epoch}, {Offset: 1, QueueOffset: 7, StoreTime: epoch}})
	r, err := Restore(dupQ)
	if err != nil || r.Len() != 2 || r.mu.byQueue[7] != 2 {
		t.Fatalf("duplicate queue offset: %v, %d entries, indexed %d", err, r.Len(), r.mu.byQueue[7])
	}
}

// fixCRC recomputes the CRC of an edited snapshot.
func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[12:], castagnoli))
}
