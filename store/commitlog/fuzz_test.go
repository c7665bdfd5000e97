package commitlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// FuzzLogRecover is the CommitLog half of the store's FuzzRecordRecover without the
// projections, so it runs thousands of recoveries a second: arbitrary bytes after a
// valid prefix (possibly running into a second segment) must never panic Recover, which
// keeps the prefix intact or refuses with the corruption marker, and always recovers
// the prefix with TruncateOnCorruption.
func FuzzLogRecover(f *testing.F) {
	scratch, err := os.MkdirTemp("/dev/shm", "rocketgo-fuzz")
	if err != nil {
		scratch = f.TempDir()
	} else {
		f.Cleanup(func() { os.RemoveAll(scratch) })
	}
	const segBytes = 8 << 10
	var prefix []byte
	var ends []int64
	for i := 0; i < 12; i++ {
		rec, err := message.EncodeRecord(nil, &message.Ext{Topic: "F", QueueID: int32(i % 3), Body: bytes.Repeat([]byte{byte(i)}, 50+i*13)})
		if err != nil {
			f.Fatal(err)
		}
		message.PatchRecord(rec, int64(i/3), int64(len(prefix)), 1700000000000)
		prefix = append(prefix, rec...)
		ends = append(ends, int64(len(prefix)))
	}
	next, _ := message.EncodeRecord(nil, &message.Ext{Topic: "F", Body: []byte("next")})
	message.PatchRecord(next, 4, int64(len(prefix)), 1)
	f.Add(next, uint16(0))
	f.Add(next, uint16(100))
	blank := make([]byte, segBytes-len(prefix))
	message.EncodeBlank(blank)
	f.Add(append(blank, next...), uint16(0))
	f.Add([]byte{0, 0, 0, 9, 0xDA, 0xA3, 0x20, 0xA7, 1}, uint16(3))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint16(7))

	f.Fuzz(func(t *testing.T, tail []byte, skip uint16) {
		dir, err := os.MkdirTemp(scratch, "run")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		// The bytes start skip bytes after the prefix and may run into a second segment.
		img := make([]byte, 2*segBytes)
		copy(img, prefix)
		at := len(prefix) + int(skip)%512
		copy(img[min(at, len(img)):], tail)
		for i := int64(0); i < 2; i++ {
			if err := os.WriteFile(filepath.Join(dir, segment.Name(i*segBytes)), img[i*segBytes:(i+1)*segBytes], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		o := Options{Dir: dir, SegmentBytes: segBytes, FlushInterval: time.Hour, SyncFlushTimeout: time.Second, Logger: zerolog.Nop()}
		l := New(o)
		res, err := l.Recover(RecoverOptions{Flushed: int64(len(prefix)), From: 0})
		if err != nil {
			l.Abandon()
			if !errors.Is(err, segment.ErrCorrupt) {
				t.Fatalf("recover: %v (want success or the corruption marker)", err)
			}
			l = New(o)
			if res, err = l.Recover(RecoverOptions{Flushed: int64(len(prefix)), From: 0, TruncateOnCorruption: true}); err != nil {
				t.Fatalf("recover with truncateOnCorruption: %v", err)
			}
		}
		defer l.Abandon()
		if res.End < int64(len(prefix)) || l.Written() != res.End {
			t.Fatalf("end %d (written %d), prefix ends at %d", res.End, l.Written(), len(prefix))
		}
		// The prefix is intact and every kept byte past it is whole, valid records,
		// read alike through the mapping and with pread.
		n := 0
		rd := l.NewReader()
		for pos := int64(0); pos < res.End; {
			rec, nxt, err := l.At(pos)
			if err != nil {
				t.Fatalf("at %d: %v", pos, err)
			}
			if rrec, rnxt, rerr := rd.At(pos, res.End); rerr != nil || rnxt != nxt || !bytes.Equal(rrec, rec) {
				t.Fatalf("reader at %d: next %d %v, At gave next %d (same bytes %v)", pos, rnxt, rerr, nxt, bytes.Equal(rrec, rec))
			}
			if rec != nil {
				if _, err := message.VerifyRecord(rec); err != nil || message.RecordPhysicalOffset(rec) != pos {
					t.Fatalf("record at %d: %v", pos, err)
				}
				if n < len(ends) && nxt != ends[n] {
					t.Fatalf("prefix record %d ends at %d, want %d", n, nxt, ends[n])
				}
				n++
			}
			pos = nxt
		}
		if n < len(ends) {
			t.Fatalf("kept %d records, prefix has %d", n, len(ends))
		}
		// Appends continue at the end.
		r, err := l.Append(next, 1, []byte("F"), 0, true)
		if err != nil || r.PhysicalOffset < res.End {
			t.Fatalf("append after recovery: %+v %v", r, err)
		}
	})
}
