package commitlog

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
)

// TestReaderDropsWhatACutReplaced reads records ahead into a Reader's buffer, cuts the
// log below them and appends different records in their place: the reader must serve
// the new records, never the ones it read before the cut.
func TestReaderDropsWhatACutReplaced(t *testing.T) {
	l := testLog(t, t.TempDir(), false)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	old := appendN(t, l, 6, 100)
	rd := l.NewReader()
	end := old[len(old)-1].EndOffset
	for pos := int64(0); pos < end; {
		_, next, err := rd.At(pos, end)
		if err != nil {
			t.Fatal(err)
		}
		pos = next
	}
	cut := old[2].PhysicalOffset
	if _, err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	fresh := record(t, "T", 0, bytes.Repeat([]byte("new"), 50))
	r, err := l.Append(fresh, 1, []byte("T"), 0, true)
	if err != nil || r.PhysicalOffset != cut {
		t.Fatalf("append after the cut: %+v %v, want it at %d", r, err, cut)
	}
	got, next, err := rd.At(cut, l.Written())
	if err != nil || next != r.EndOffset {
		t.Fatalf("read after the cut: next %d %v, want next %d", next, err, r.EndOffset)
	}
	if body := message.RecordBody(got); !bytes.Equal(body, bytes.Repeat([]byte("new"), 50)) {
		t.Fatalf("read after the cut returned the old record (body %q...)", body[:min(len(body), 12)])
	}
}

// TestReaderLargeRecordAndBounds reads a record larger than the reader's read-ahead
// chunk, and refuses a record that runs past the end the caller gives.
func TestReaderLargeRecordAndBounds(t *testing.T) {
	l := New(Options{Dir: t.TempDir(), SegmentBytes: 1 << 20, FlushInterval: time.Hour, SyncFlushTimeout: time.Second, Logger: zerolog.Nop()})
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	small := record(t, "T", 0, []byte("s"))
	big := record(t, "T", 0, bytes.Repeat([]byte{7}, readChunk+5000))
	r1, err := l.Append(small, 1, []byte("T"), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Append(big, 1, []byte("T"), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	rd := l.NewReader()
	if _, next, err := rd.At(r1.PhysicalOffset, r2.EndOffset); err != nil || next != r2.PhysicalOffset {
		t.Fatalf("small record: next %d %v", next, err)
	}
	got, next, err := rd.At(r2.PhysicalOffset, r2.EndOffset)
	if err != nil || next != r2.EndOffset || len(got) != len(big) || !bytes.Equal(message.RecordBody(got), bytes.Repeat([]byte{7}, readChunk+5000)) {
		t.Fatalf("big record: %d bytes, next %d, %v", len(got), next, err)
	}
	if _, _, err := l.NewReader().At(r2.PhysicalOffset, r2.EndOffset-1); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("record past the caller's end: %v, want ErrNoRecord", err)
	}
}
