package store

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// fuzzScratch returns a directory for the fuzz target's stores: on /dev/shm when there is
// one, where fsync costs nothing, so that the fuzzer runs hundreds of recoveries a
// second instead of a few dozen.
func fuzzScratch(f *testing.F) string {
	if dir, err := os.MkdirTemp("/dev/shm", "rocketgo-fuzz"); err == nil {
		f.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return f.TempDir()
}

// FuzzRecordRecover writes arbitrary bytes after the last valid record of a crashed
// store and reopens it. Open must never panic; it either recovers, keeping every record
// of the valid prefix intact (and whatever valid records the bytes themselves form), or
// refuses with ErrCorruption — and with TruncateOnCorruption it always recovers the
// prefix.
func FuzzRecordRecover(f *testing.F) {
	base := DefaultOptions()
	scratch := fuzzScratch(f)
	base.Dir = filepath.Join(scratch, "base")
	base.CommitLogSegmentBytes = 64 << 10
	base.ConsumeQueueUnits = 64
	base.CheckpointInterval = time.Hour
	base.DiskWarnRatio, base.DiskMaxRatio = 1, 1
	base.Logger = zerolog.Nop()
	s, err := Open(base)
	if err != nil {
		f.Fatal(err)
	}
	var prefix []written
	for i := 0; i < 20; i++ {
		m := msg{topic: "F", queue: int32(i % 2), body: body(i, 100+i*7), tags: "t", uniq: "u"}
		r := put(f, s, m)
		prefix = append(prefix, written{m: m, qo: r.QueueOffset, phys: r.PhysicalOffset, end: r.EndOffset})
	}
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		f.Fatal(err)
	}
	s.crash()
	end := prefix[len(prefix)-1].end

	// Seeds: a valid next record, a valid record at the wrong offset, a blank, a torn
	// record, zeros and noise.
	next := encode(f, msg{topic: "F", queue: 1, body: []byte("next")})
	message.PatchRecord(next, 10, end, time.Now().UnixMilli())
	f.Add(next)
	wrong := append([]byte(nil), next...)
	message.PatchRecord(wrong, 10, end+1, 0)
	f.Add(wrong)
	blank := make([]byte, 16)
	message.EncodeBlank(blank)
	f.Add(blank)
	f.Add(next[:len(next)/2])
	f.Add(make([]byte, 64))
	f.Add([]byte("\x00\x00\x01\x00\xda\xa3\x20\xa7garbage after a plausible header"))
	f.Add(append(append([]byte{0xde, 0xad}, next...), next...))

	f.Fuzz(func(t *testing.T, tail []byte) {
		room := int(base.CommitLogSegmentBytes - end)
		if len(tail) > room {
			tail = tail[:room]
		}
		o := base
		dir, err := os.MkdirTemp(scratch, "run")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		o.Dir = filepath.Join(dir, "s")
		copyDir(t, base.Dir, o.Dir)
		path := filepath.Join(o.Dir, commitLogDir, segment.Name(0))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[end:], tail)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(o)
		if err != nil {
			if !errors.Is(err, ErrCorruption) {
				t.Fatalf("open: %v (want success or ErrCorruption)", err)
			}
			o.TruncateOnCorruption = true
			if s, err = Open(o); err != nil {
				t.Fatalf("open with truncateOnCorruption: %v", err)
			}
		}
		defer s.Close()
		if s.MaxPhysicalOffset() < end {
			t.Fatalf("log ends at %d, before the valid prefix's end %d", s.MaxPhysicalOffset(), end)
		}
		for i, w := range prefix {
			g := s.GetMessages("F", w.m.queue, w.qo, 1, 0, nil)
			if g.Status != Found {
				t.Fatalf("prefix record %d: %s", i, g.Status)
			}
			checkRecord(t, g.Records[0], w.m, w.qo, w.phys)
		}
		// Whatever was kept past the prefix is whole records the dispatcher accepted.
		for pos := end; pos < s.MaxPhysicalOffset(); {
			rec, next, err := s.cl.At(pos)
			if err != nil {
				t.Fatalf("kept bytes at %d are not a record: %v", pos, err)
			}
			if rec != nil {
				if _, err := message.VerifyRecord(rec); err != nil {
					t.Fatalf("kept record at %d: %v", pos, err)
				}
				if binary.BigEndian.Uint64(rec[28:]) != uint64(pos) {
					t.Fatalf("kept record at %d names offset %d", pos, binary.BigEndian.Uint64(rec[28:]))
				}
			}
			pos = next
		}
	})
}
