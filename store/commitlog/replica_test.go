package commitlog

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
)

// openRecovered returns a recovered, started log over dir.
func openRecovered(tb testing.TB, dir string) *Log {
	tb.Helper()
	l := New(Options{
		Dir:              dir,
		SegmentBytes:     16 << 10,
		FlushInterval:    time.Hour,
		SyncFlushTimeout: 5 * time.Second,
		Logger:           zerolog.Nop(),
	})
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		tb.Fatalf("recover: %v", err)
	}
	l.Start()
	return l
}

// readAll reads [from, to) back through ReadRaw, run by run.
func readAll(tb testing.TB, l *Log, from, to int64) []byte {
	tb.Helper()
	var out []byte
	for pos := from; pos < to; {
		b, err := l.ReadRaw(pos, 1<<20)
		if err != nil || len(b) == 0 {
			tb.Fatalf("read raw at %d: %d bytes, %v", pos, len(b), err)
		}
		out = append(out, b...)
		if binary.BigEndian.Uint32(b[4:]) == message.MagicBlank {
			pos += int64(int32(binary.BigEndian.Uint32(b)))
		} else {
			pos += int64(len(b))
		}
	}
	return out
}

func TestAppendRawAcrossSegments(t *testing.T) {
	master := openRecovered(t, t.TempDir())
	defer master.Close()
	appendN(t, master, 60, 700) // about 2.6 segments of 16 KiB
	slaveDir := t.TempDir()
	slave := openRecovered(t, slaveDir)
	for pos := int64(0); pos < master.Written(); {
		b, err := master.ReadRaw(pos, 3000)
		if err != nil {
			t.Fatal(err)
		}
		if pos, err = slave.AppendRaw(pos, b); err != nil {
			t.Fatalf("append raw: %v", err)
		}
	}
	end := master.Written()
	if slave.Written() != end {
		t.Fatalf("slave ends at %d, master at %d", slave.Written(), end)
	}
	for _, seg := range master.Segments() {
		other := slave.files.Find(seg.Start())
		if other == nil {
			t.Fatalf("slave lacks segment %d", seg.Start())
		}
		upto := min(seg.Size(), end-seg.Start())
		if !bytes.Equal(seg.Bytes()[:upto], other.Bytes()[:upto]) {
			t.Fatalf("segment %d differs", seg.Start())
		}
	}
	if m, s := master.QueueOffset("T", 1), slave.QueueOffset("T", 1); m != s || m != 30 {
		t.Fatalf("next queue offset of T/1: master %d, slave %d, want 30", m, s)
	}
	// The replicated log recovers to the same end.
	if err := slave.Close(); err != nil {
		t.Fatal(err)
	}
	again := openRecovered(t, slaveDir)
	defer again.Close()
	if again.Written() != end {
		t.Fatalf("recovered slave ends at %d, want %d", again.Written(), end)
	}
}

// FuzzAppendRaw feeds arbitrary runs to a fresh log: AppendRaw never panics, and what it
// accepts reads back byte for byte through ReadRaw and survives recovery unchanged, so
// a replicated log is never one that a restart would cut.
func FuzzAppendRaw(f *testing.F) {
	seedDir := f.TempDir()
	seed := openRecovered(f, seedDir)
	for i := 0; i < 3; i++ {
		rec, err := message.EncodeRecord(nil, &message.Ext{Topic: "T", QueueID: int32(i), Body: []byte("hello fuzz")})
		if err != nil {
			f.Fatal(err)
		}
		if _, err := seed.Append(rec, 1, []byte("T"), int32(i), true); err != nil {
			f.Fatal(err)
		}
	}
	run, err := seed.ReadRaw(0, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Clone(run))
	f.Add(bytes.Clone(run[:message.RecordTotalSize(run)]))
	blank := make([]byte, 8)
	binary.BigEndian.PutUint32(blank, 16<<10)
	binary.BigEndian.PutUint32(blank[4:], message.MagicBlank)
	f.Add(blank)
	seed.Close()

	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		l := openRecovered(t, dir)
		end, err := l.AppendRaw(0, b)
		if err != nil {
			l.Close()
			if l.Written() != 0 {
				t.Fatalf("a refused run moved the end to %d", l.Written())
			}
			return
		}
		if l.Written() != end {
			t.Fatalf("AppendRaw returned %d, log ends at %d", end, l.Written())
		}
		got := readAll(t, l, 0, end)
		want := b
		if !bytes.Equal(got, want) {
			t.Fatalf("read back %d bytes differing from the %d appended", len(got), len(want))
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		again := openRecovered(t, dir)
		defer again.Close()
		if again.Written() != end {
			t.Fatalf("recovery ends the accepted run at %d, want %d", again.Written(), end)
		}
	})
}

// BenchmarkAppendRaw measures a slave's append path: verifying a replicated run of 64
// records of 1 KiB (sizes, magic, body CRC, offsets) and copying it into the mapping.
func BenchmarkAppendRaw(b *testing.B) {
	const segBytes = 256 << 20
	open := func(dir string) *Log {
		l := New(Options{Dir: dir, SegmentBytes: segBytes, FlushInterval: time.Hour, SyncFlushTimeout: 5 * time.Second, Logger: zerolog.Nop()})
		if _, err := l.Recover(RecoverOptions{}); err != nil {
			b.Fatal(err)
		}
		l.Start()
		return l
	}
	master := open(b.TempDir())
	defer master.Close()
	slaveDir := b.TempDir()
	slave := open(slaveDir)
	defer func() { slave.Close() }()
	rec, err := message.EncodeRecord(nil, &message.Ext{Topic: "Bench", Body: bytes.Repeat([]byte{'x'}, 1024)})
	if err != nil {
		b.Fatal(err)
	}
	var batch []byte
	for i := 0; i < 64; i++ {
		batch = append(batch, rec...)
	}
	// One segment of master log, read back as runs of one batch; the slave starts over
	// on a fresh log whenever it has appended all of them.
	n := (segBytes - (1 << 20)) / len(batch)
	for i := 0; i < n; i++ {
		if _, err := master.Append(batch, 64, []byte("Bench"), 0, true); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		chunk := min(n, b.N-done)
		for i, pos := 0, int64(0); i < chunk; i++ {
			run, err := master.ReadRaw(pos, len(batch))
			if err != nil {
				b.Fatal(err)
			}
			if pos, err = slave.AppendRaw(pos, run); err != nil {
				b.Fatal(err)
			}
		}
		if done += chunk; done < b.N {
			b.StopTimer()
			slave.Close()
			if err := os.RemoveAll(slaveDir); err != nil {
				b.Fatal(err)
			}
			slave = open(slaveDir)
			b.StartTimer()
		}
	}
}
