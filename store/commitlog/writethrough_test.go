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

// TestWriteThroughMatchesCopyIn checks that the SYNC_FLUSH write path (pwrite) leaves
// the same bytes as the ASYNC_FLUSH one (copy into the mapping): single records,
// batches of several records and a roll to the next segment.
func TestWriteThroughMatchesCopyIn(t *testing.T) {
	logs := []*Log{fixedLog(t, t.TempDir(), false), fixedLog(t, t.TempDir(), true)}
	var end int64
	for i := 0; i < 40; i++ {
		n := 1 + i%3
		var batch []byte
		for j := 0; j < n; j++ {
			batch = append(batch, record(t, "T", int32(i%2), bytes.Repeat([]byte{byte(i)}, 200+i*7))...)
		}
		var rs [2]Result
		for k, l := range logs {
			r, err := l.Append(batch, n, []byte("T"), int32(i%2), true)
			if err != nil {
				t.Fatalf("log %d append %d: %v", k, i, err)
			}
			rs[k] = r
		}
		if rs[0] != rs[1] {
			t.Fatalf("append %d: copy-in %+v, write-through %+v", i, rs[0], rs[1])
		}
		end = rs[1].EndOffset
	}
	if end <= 16<<10 {
		t.Fatalf("the appends ended at %d, before the first roll", end)
	}
	for _, l := range logs {
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for pos := int64(0); pos < end; pos += 16 << 10 {
		a, b := logs[0].files.Find(pos).Bytes(), logs[1].files.Find(pos).Bytes()
		if !bytes.Equal(a, b) {
			i := 0
			for a[i] == b[i] {
				i++
			}
			t.Fatalf("segment at %d differs from byte %d: copy-in %x, write-through %x", pos, i, a[i:i+8], b[i:i+8])
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
