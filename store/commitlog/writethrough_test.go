package commitlog

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
)

// fixedLog returns a recovered, started log in dir whose clock is fixed, so that two
// logs fed the same appends hold the same bytes.
func fixedLog(t *testing.T, dir string, sync bool) *Log {
	t.Helper()
	l := New(Options{
		Dir:              dir,
		SegmentBytes:     16 << 10,
		SyncFlush:        sync,
		FlushInterval:    time.Hour,
		SyncFlushTimeout: 5 * time.Second,
		Now:              func() time.Time { return time.UnixMilli(1_700_000_000_000) },
		Logger:           zerolog.New(zerolog.NewTestWriter(t)),
	})
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	return l
}

// TestAsyncAndSyncWritesMatch checks that both write paths — ASYNC_FLUSH's, which
// writes each append call's records before it returns, and SYNC_FLUSH's, which writes
// them in the flusher's round — leave exactly the records appended, stamped with their
// queue offset, physical offset and store time: single records, batches of several
// records and a roll to the next segment, read back both through the mapping (At) and
// with pread (Reader), and byte-identical segment files.
func TestAsyncAndSyncWritesMatch(t *testing.T) {
	logs := []*Log{fixedLog(t, t.TempDir(), false), fixedLog(t, t.TempDir(), true)}
	type appended struct {
		rec     []byte
		pos, qo int64
	}
	var want []appended
	var end int64
	qos := map[int32]int64{}
	for i := 0; i < 40; i++ {
		n := 1 + i%3
		var batch [][]byte
		var recs []byte
		for j := 0; j < n; j++ {
			r := record(t, "T", int32(i%2), bytes.Repeat([]byte{byte(i)}, 200+i*7))
			batch = append(batch, r)
			recs = append(recs, r...)
		}
		var rs [2]Result
		for k, l := range logs {
			r, err := l.Append(recs, n, []byte("T"), int32(i%2), true)
			if err != nil {
				t.Fatalf("log %d append %d: %v", k, i, err)
			}
			rs[k] = r
		}
		if rs[0] != rs[1] {
			t.Fatalf("append %d: async %+v, sync %+v", i, rs[0], rs[1])
		}
		pos := rs[0].PhysicalOffset
		for _, r := range batch {
			want = append(want, appended{rec: r, pos: pos, qo: qos[int32(i%2)]})
			qos[int32(i%2)]++
			pos += int64(len(r))
		}
		end = rs[1].EndOffset
	}
	if end <= 16<<10 {
		t.Fatalf("the appends ended at %d, before the first roll", end)
	}
	for k, l := range logs {
		// No flush first: under ASYNC_FLUSH the records must be in the file once
		// Append returned; under SYNC_FLUSH Written writes what is staged.
		if w := l.Written(); w != end {
			t.Fatalf("log %d: written %d, appended through %d", k, w, end)
		}
		rd := l.NewReader()
		i := 0
		for pos := int64(0); pos < end; {
			got, next, err := l.At(pos)
			rgot, rnext, rerr := rd.At(pos, end)
			if err != nil || rerr != nil || next != rnext || !bytes.Equal(got, rgot) {
				t.Fatalf("log %d at %d: At %d %v, Reader %d %v, same bytes %v", k, pos, next, err, rnext, rerr, bytes.Equal(got, rgot))
			}
			if got != nil {
				w := want[i]
				exp := append([]byte(nil), w.rec...)
				message.PatchRecord(exp, w.qo, w.pos, 1_700_000_000_000)
				if w.pos != pos || !bytes.Equal(got, exp) {
					t.Fatalf("log %d record %d at %d (want at %d): stored bytes differ from the record appended", k, i, pos, w.pos)
				}
				i++
			}
			pos = next
		}
		if i != len(want) {
			t.Fatalf("log %d: read %d records, appended %d", k, i, len(want))
		}
	}
	for pos := int64(0); pos < end; pos += 16 << 10 {
		a, b := logs[0].files.Find(pos).Bytes(), logs[1].files.Find(pos).Bytes()
		if !bytes.Equal(a, b) {
			i := 0
			for a[i] == b[i] {
				i++
			}
			t.Fatalf("segment at %d differs from byte %d: async %x, sync %x", pos, i, a[i:i+8], b[i:i+8])
		}
	}
	for _, l := range logs {
		l.Close()
	}
}

// TestWriteThroughTornUnit recovers a log killed during the second pwrite of a unit:
// the unit is in the file with its first record's header and without the second's. Recovery must cut it there,
// keep every record before it, zero what follows, and the next append must take its
// place.
func TestWriteThroughTornUnit(t *testing.T) {
	dir := t.TempDir()
	l := fixedLog(t, dir, true)
	var last Result
	for i := 0; i < 3; i++ {
		r, err := l.Append(record(t, "T", 0, []byte("kept")), 1, []byte("T"), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.WaitFlushed(t.Context(), r.EndOffset); err != nil {
			t.Fatal(err)
		}
		last = r
	}
	// What a kill part-way through the headers' pwrite of a three-record unit leaves:
	// the records, stamped, only the first with TOTALSIZE and MAGICCODE.
	a, b, c := record(t, "T", 0, []byte("torn-a")), record(t, "T", 0, []byte("torn-b")), record(t, "T", 0, []byte("torn-c"))
	message.PatchRecord(a, 3, last.EndOffset, 1)
	message.PatchRecord(b, 4, last.EndOffset+int64(len(a)), 1)
	message.PatchRecord(c, 5, last.EndOffset+int64(len(a)+len(b)), 1)
	unit := append(append(append([]byte{}, a...), b...), c...)
	clear(unit[len(a) : len(a)+headerLen])
	clear(unit[len(a)+len(b) : len(a)+len(b)+headerLen])
	seg := l.files.Find(last.EndOffset)
	if err := seg.WriteAt(unit, last.EndOffset-seg.Start()); err != nil {
		t.Fatal(err)
	}
	l.Abandon()

	l2 := fixedLog(t, dir, true)
	defer l2.Close()
	// The unit's first record is whole: recovery keeps it (it was never acknowledged,
	// and a record in the log without an acknowledgement is what a crash may leave).
	last.EndOffset += int64(len(a))
	unit = unit[len(a):]
	if got := l2.Written(); got != last.EndOffset {
		t.Fatalf("recovered end %d, want %d (cut after the unit's first record)", got, last.EndOffset)
	}
	for pos := int64(0); pos < last.EndOffset; {
		rec, err := l2.Record(pos)
		if err != nil {
			t.Fatalf("record at %d: %v", pos, err)
		}
		if got := message.RecordBody(rec); string(got) != "kept" && (pos != last.EndOffset-int64(len(a)) || string(got) != "torn-a") {
			t.Fatalf("record at %d: body %q", pos, got)
		}
		pos += int64(len(rec))
	}
	seg = l2.files.Find(last.EndOffset)
	rel := last.EndOffset - seg.Start()
	if tail := seg.Bytes()[rel : rel+int64(len(unit))]; !bytes.Equal(tail, make([]byte, len(unit))) {
		t.Fatalf("bytes past the cut not zeroed: %x...", tail[:16])
	}
	r, err := l2.Append(record(t, "T", 0, []byte("next")), 1, []byte("T"), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.PhysicalOffset != last.EndOffset {
		t.Fatalf("next append at %d, want %d", r.PhysicalOffset, last.EndOffset)
	}
	// Staged until the flusher writes it (stage.go): the acknowledgement is the point.
	if err := l2.WaitFlushed(t.Context(), r.EndOffset); err != nil {
		t.Fatal(err)
	}
	if size := binary.BigEndian.Uint32(seg.Bytes()[rel:]); int(size) != int(r.EndOffset-r.PhysicalOffset) {
		t.Fatalf("next record's TOTALSIZE %d, want %d", size, r.EndOffset-r.PhysicalOffset)
	}
}
