package txn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

func decode(t *testing.T, rec []byte) *message.Ext {
	t.Helper()
	m, n, err := message.DecodeRecord(rec)
	if err != nil || n != len(rec) {
		t.Fatalf("decode: %v (size %d of %d)", err, n, len(rec))
	}
	return m
}

func TestHalfProperties(t *testing.T) {
	p := HalfProperties("TAGS\x01a\x02PGROUP\x01mine", "Orders", 5, "header-group")
	got := message.DecodeProperties(p)
	want := map[string]string{"TAGS": "a", "PGROUP": "mine", "REAL_TOPIC": "Orders", "REAL_QID": "5"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: got %q, want %q (all %v)", k, got[k], v, got)
		}
	}
	if g := message.DecodeProperties(HalfProperties("", "T", 0, "hg"))["PGROUP"]; g != "hg" {
		t.Fatalf("PGROUP from the header: got %q", g)
	}
}

func TestCommitCheckAndDiscardRecords(t *testing.T) {
	l := newLogSim(t)
	l.plain("X")
	p, q := l.half("pg", "Orders", 2, "UQ", map[string]string{"KEYS": "order-9"})
	half := decode(t, l.recs[p])

	rec, err := CommitRecord(nil, l.recs[p], p)
	if err != nil {
		t.Fatal(err)
	}
	c := decode(t, rec)
	if c.Topic != "Orders" || c.QueueID != 2 || message.TxType(c.SysFlag) != message.TxCommitType ||
		c.PreparedTransactionOffset != p || c.Flag != half.Flag || c.BornTimestamp != half.BornTimestamp ||
		c.BornHost != half.BornHost || c.StoreHost != half.StoreHost || !bytes.Equal(c.Body, half.Body) {
		t.Fatalf("commit record %+v\nfrom half %+v", c, half)
	}
	for _, k := range []string{message.PropRealTopic, message.PropRealQueueID, message.PropTranMsg} {
		if _, ok := c.Properties[k]; ok {
			t.Errorf("commit keeps %s", k)
		}
	}
	for _, k := range []string{message.PropProducerGroup, message.PropUniqKey, message.PropTags, "KEYS"} {
		if c.Properties[k] != half.Properties[k] {
			t.Errorf("commit %s = %q, half has %q", k, c.Properties[k], half.Properties[k])
		}
	}

	body, err := CheckBody(nil, l.recs[p], 4)
	if err != nil {
		t.Fatal(err)
	}
	b := decode(t, body)
	if b.Topic != "Orders" || b.QueueID != 2 || b.QueueOffset != q || b.PhysicalOffset != p ||
		b.Properties[message.PropTxCheckTimes] != "4" || b.Properties[message.PropProducerGroup] != "pg" ||
		b.Properties[message.PropUniqKey] != "UQ" || !bytes.Equal(b.Body, half.Body) {
		t.Fatalf("check body %+v", b)
	}

	rec, err = DiscardRecord(nil, l.recs[p], p, 15)
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, rec)
	if d.Topic != CheckMaxTopic || d.QueueID != 0 || message.TxType(d.SysFlag) != message.TxNotType ||
		d.PreparedTransactionOffset != p || d.Properties[message.PropRealTopic] != "Orders" ||
		d.Properties[message.PropTxCheckTimes] != "15" {
		t.Fatalf("discard record %+v", d)
	}

	for name, fn := range map[string]func([]byte) error{
		"commit":  func(r []byte) error { _, err := CommitRecord(nil, r, 0); return err },
		"check":   func(r []byte) error { _, err := CheckBody(nil, r, 1); return err },
		"discard": func(r []byte) error { _, err := DiscardRecord(nil, r, 0, 1); return err },
	} {
		if err := fn(l.recs[0]); !errors.Is(err, ErrNotHalf) {
			t.Errorf("%s of a plain record: %v, want ErrNotHalf", name, err)
		}
		if err := fn([]byte("short")); !errors.Is(err, ErrNotHalf) {
			t.Errorf("%s of garbage: %v, want ErrNotHalf", name, err)
		}
	}
	// A half record without REAL_QID is refused.
	m := message.Ext{Topic: HalfTopic, BornHost: born, StoreHost: host, Body: []byte("b"),
		Properties: map[string]string{message.PropRealTopic: "T"}}
	bad, _ := message.EncodeRecord(nil, &m)
	if _, err := CommitRecord(nil, bad, 0); !errors.Is(err, ErrNotHalf) || !strings.Contains(err.Error(), "REAL_QID") {
		t.Fatalf("commit of a half without REAL_QID: %v", err)
	}
}

func TestOpRecordsSplit(t *testing.T) {
	offs := make([]int64, 1000)
	for i := range offs {
		offs[i] = int64(i) * 1_000_003
	}
	recs, err := OpRecords(nil, OpTagChecked, offs, host, 42)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	n := 0
	for len(recs) > 0 {
		size := message.RecordTotalSize(recs)
		m := decode(t, recs[:size])
		recs = recs[size:]
		n++
		if m.Topic != OpTopic || m.QueueID != 0 || m.Tags() != OpTagChecked || len(m.Body) > MaxOpBody ||
			m.BornTimestamp != 42 || m.StoreHost != host {
			t.Fatalf("op record %d: %+v", n, m)
		}
		for _, f := range strings.Split(string(m.Body), ",") {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				t.Fatalf("op body token %q: %v", f, err)
			}
			got = append(got, v)
		}
	}
	if n < 2 {
		t.Fatalf("1000 offsets in %d record(s), want a split", n)
	}
	if len(got) != len(offs) {
		t.Fatalf("%d offsets back, want %d", len(got), len(offs))
	}
	for i := range offs {
		if got[i] != offs[i] {
			t.Fatalf("offset %d: got %d, want %d", i, got[i], offs[i])
		}
	}
	if recs, err := OpRecords(nil, OpTagRemoved, nil, host, 0); err != nil || len(recs) != 0 {
		t.Fatalf("no offsets: %d bytes, %v", len(recs), err)
	}
}

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
