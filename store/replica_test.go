package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// fillMaster puts n records of mixed sizes over three topics, enough to roll several
// 64 KiB segments, and returns them in append order.
func fillMaster(t *testing.T, s *Store, first, n int) []msg {
	t.Helper()
	var out []msg
	for i := first; i < first+n; i++ {
		m := msg{topic: fmt.Sprintf("T%d", i%3), queue: int32(i % 4), body: body(i, 100+(i*397)%3000), tags: "tag" + fmt.Sprint(i%5), keys: fmt.Sprintf("k%d", i)}
		put(t, s, m)
		out = append(out, m)
	}
	return out
}

// replicate copies master's log into slave from the slave's end to the master's end,
// run by run, as the replication stream does, with at most batch bytes per run.
func replicate(t *testing.T, master, slave *Store, batch int) (runs, blanks int) {
	t.Helper()
	pos := slave.MaxPhysicalOffset()
	for pos < master.MaxPhysicalOffset() {
		b, err := master.ReadRaw(pos, batch)
		if err != nil {
			t.Fatalf("read raw at %d: %v", pos, err)
		}
		if len(b) == 0 {
			t.Fatalf("read raw at %d: nothing, master ends at %d", pos, master.MaxPhysicalOffset())
		}
		if binary.BigEndian.Uint32(b[4:]) == message.MagicBlank {
			blanks++
		}
		end, err := slave.AppendRaw(pos, b)
		if err != nil {
			t.Fatalf("append raw at %d (%d bytes): %v", pos, len(b), err)
		}
		if end <= pos {
			t.Fatalf("append raw at %d: end %d did not advance", pos, end)
		}
		pos = end
		runs++
	}
	return runs, blanks
}

// logBytes returns the CommitLog's bytes in [from, to) read from the segment files.
func logBytes(t *testing.T, dir string, segBytes, from, to int64) []byte {
	t.Helper()
	out := make([]byte, 0, to-from)
	for pos := from; pos < to; {
		start := pos - pos%segBytes
		b, err := os.ReadFile(filepath.Join(dir, commitLogDir, segment.Name(start)))
		if err != nil {
			t.Fatalf("read segment %d: %v", start, err)
		}
		end := min(to, start+segBytes)
		out = append(out, b[pos-start:end-start]...)
		pos = end
	}
	return out
}

func TestReplicaLogIsByteIdentical(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		mo, so := testOptions(t, mode), testOptions(t, mode)
		master, slave := openT(t, mo), openT(t, so)
		slave.SetReplica()
		if _, err := slave.Put(encode(t, msg{topic: "T0", queue: 0, body: body(0, 10)})); !errors.Is(err, ErrClosed) {
			t.Fatalf("put on a replica: got %v, want ErrClosed", err)
		}
		msgs := fillMaster(t, master, 0, 150)
		runs, blanks := replicate(t, master, slave, 4096)
		if blanks == 0 || runs < 10 {
			t.Fatalf("replicated in %d runs with %d blanks; the test wants several segment rolls", runs, blanks)
		}
		// The slave restarts half-way: recovery accepts the replicated log.
		if err := slave.Close(); err != nil {
			t.Fatalf("close slave: %v", err)
		}
		slave = openT(t, so)
		slave.SetReplica()
		if !slave.RecoveryStats().Clean {
			t.Fatalf("slave reopened unclean: %+v", slave.RecoveryStats())
		}
		msgs = append(msgs, fillMaster(t, master, 150, 120)...)
		replicate(t, master, slave, 1<<20)

		end := master.MaxPhysicalOffset()
		if got := slave.MaxPhysicalOffset(); got != end {
			t.Fatalf("slave ends at %d, master at %d", got, end)
		}
		syncDispatch(t, master)
		syncDispatch(t, slave)
		if err := master.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := slave.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(logBytes(t, mo.Dir, mo.CommitLogSegmentBytes, 0, end), logBytes(t, so.Dir, so.CommitLogSegmentBytes, 0, end)) {
			t.Fatalf("slave's CommitLog differs from the master's in [0, %d)", end)
		}
		// The slave's ConsumeQueues are its own projection, equal to the master's.
		for _, topic := range []string{"T0", "T1", "T2"} {
			for q := int32(0); q < 4; q++ {
				mr := master.GetMessages(topic, q, 0, 1000, 0, nil)
				sr := slave.GetMessages(topic, q, 0, 1000, 0, nil)
				if mr.Status != sr.Status || mr.MaxOffset != sr.MaxOffset || len(mr.Records) != len(sr.Records) {
					t.Fatalf("%s/%d: master %v max %d %d records, slave %v max %d %d records",
						topic, q, mr.Status, mr.MaxOffset, len(mr.Records), sr.Status, sr.MaxOffset, len(sr.Records))
				}
				for i := range mr.Records {
					if !bytes.Equal(mr.Records[i], sr.Records[i]) {
						t.Fatalf("%s/%d record %d differs", topic, q, i)
					}
				}
			}
		}
		// The next queue offsets the slave would hand out are the master's.
		for _, topic := range []string{"T0", "T1", "T2"} {
			for q := int32(0); q < 4; q++ {
				if m, s := master.cl.QueueOffset(topic, q), slave.cl.QueueOffset(topic, q); m != s {
					t.Fatalf("%s/%d next queue offset: master %d, slave %d", topic, q, m, s)
				}
			}
		}
		// The key index is built too.
		testutil.Eventually(t, 5*time.Second, "slave indexed", func() bool { return slave.ix.pos.Load() >= end })
		last := msgs[len(msgs)-1]
		offs, err := slave.QueryByKey(last.topic, last.keys, 0, 1<<62, 10)
		if err != nil || len(offs) != 1 {
			t.Fatalf("slave query by key %s: %v %v", last.keys, offs, err)
		}
	})
}

func TestAppendRawRefusesBadRuns(t *testing.T) {
	mo, so := testOptions(t, AsyncFlush), testOptions(t, AsyncFlush)
	master, slave := openT(t, mo), openT(t, so)
	fillMaster(t, master, 0, 40)
	b, err := master.ReadRaw(0, 10000)
	if err != nil || len(b) == 0 {
		t.Fatalf("read raw: %d bytes, %v", len(b), err)
	}
	first := message.RecordTotalSize(b)
	if len(message.RecordBody(b)) < 10 {
		t.Fatalf("the first record's body is too short to damage")
	}
	cases := []struct {
		name string
		pos  int64
		run  func() []byte
		want error
	}{
		{"not at the end", 100, func() []byte { return b }, ErrNotContiguous},
		{"flipped body byte", 0, func() []byte {
			c := bytes.Clone(b)
			c[88+5] ^= 0xFF // the body of the first record (IPv4 hosts)
			return c
		}, message.ErrCorrupt},
		{"torn last record", 0, func() []byte { return b[:len(b)-5] }, message.ErrTruncated},
		{"wrong physical offset", 0, func() []byte {
			c := bytes.Clone(b[:first])
			binary.BigEndian.PutUint64(c[28:], 77)
			return c
		}, message.ErrCorrupt},
		{"blank of the wrong size", 0, func() []byte {
			c := make([]byte, 8)
			binary.BigEndian.PutUint32(c, 4096)
			binary.BigEndian.PutUint32(c[4:], message.MagicBlank)
			return c
		}, message.ErrCorrupt},
		{"blank with trailing bytes", 0, func() []byte {
			c := make([]byte, 16)
			binary.BigEndian.PutUint32(c, uint32(so.CommitLogSegmentBytes))
			binary.BigEndian.PutUint32(c[4:], message.MagicBlank)
			return c
		}, message.ErrCorrupt},
		{"too short", 0, func() []byte { return b[:5] }, message.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := slave.AppendRaw(c.pos, c.run()); !errors.Is(err, c.want) {
				t.Fatalf("append raw: got %v, want %v", err, c.want)
			}
			if got := slave.MaxPhysicalOffset(); got != 0 {
				t.Fatalf("a refused run moved the log's end to %d", got)
			}
		})
	}
	// The valid run still applies after all the refusals.
	if end, err := slave.AppendRaw(0, b); err != nil || end != int64(len(b)) {
		t.Fatalf("valid run: end %d, %v", end, err)
	}
}

func TestReadRawBoundaries(t *testing.T) {
	o := testOptions(t, AsyncFlush)
	s := openT(t, o)
	r1 := put(t, s, msg{topic: "T", queue: 0, body: body(1, 500)})
	put(t, s, msg{topic: "T", queue: 0, body: body(2, 500)})
	end := s.MaxPhysicalOffset()
	if b, err := s.ReadRaw(end, 100); err != nil || b != nil {
		t.Fatalf("read at the end: %d bytes, %v; want nothing", len(b), err)
	}
	if _, err := s.ReadRaw(end+1, 100); err == nil {
		t.Fatalf("read past the end: no error")
	}
	if _, err := s.ReadRaw(r1.PhysicalOffset+10, 100); err == nil {
		t.Fatalf("read inside a record: no error")
	}
	// maxBytes smaller than one record still returns that record, and only it.
	b, err := s.ReadRaw(0, 10)
	if err != nil || len(b) != int(r1.EndOffset) {
		t.Fatalf("read with a small limit: %d bytes, %v; want the first record (%d bytes)", len(b), err, r1.EndOffset)
	}
	b, err = s.ReadRaw(0, 1<<20)
	if err != nil || int64(len(b)) != end {
		t.Fatalf("read everything: %d bytes, %v; want %d", len(b), err, end)
	}
}

func TestResetEmptyStartsAtMastersOldestSegment(t *testing.T) {
	mo, so := testOptions(t, AsyncFlush), testOptions(t, AsyncFlush)
	master, slave := openT(t, mo), openT(t, so)
	fillMaster(t, master, 0, 200)
	seg := mo.CommitLogSegmentBytes
	start := 2 * seg
	if master.MaxPhysicalOffset() < start+seg/2 {
		t.Fatalf("master ends at %d; the test needs data past %d", master.MaxPhysicalOffset(), start)
	}
	if err := slave.ResetEmpty(start + 4096); err == nil {
		t.Fatalf("reset to an unaligned offset: no error")
	}
	if err := slave.ResetEmpty(start); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if slave.MinPhysicalOffset() != start || slave.MaxPhysicalOffset() != start {
		t.Fatalf("after reset the slave spans [%d, %d), want [%d, %d)", slave.MinPhysicalOffset(), slave.MaxPhysicalOffset(), start, start)
	}
	replicate(t, master, slave, 8192)
	if err := slave.ResetEmpty(start); err == nil {
		t.Fatalf("reset of a non-empty log: no error")
	}
	syncDispatch(t, slave)
	if err := slave.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	slave = openT(t, so)
	end := master.MaxPhysicalOffset()
	if slave.MinPhysicalOffset() != start || slave.MaxPhysicalOffset() != end {
		t.Fatalf("reopened slave spans [%d, %d), want [%d, %d)", slave.MinPhysicalOffset(), slave.MaxPhysicalOffset(), start, end)
	}
	if !bytes.Equal(logBytes(t, mo.Dir, seg, start, end), logBytes(t, so.Dir, seg, start, end)) {
		t.Fatalf("slave's log differs from the master's in [%d, %d)", start, end)
	}
	// The slave's queues start where its log does: at the master's queue offsets.
	syncDispatch(t, master)
	mr := master.GetMessages("T1", 1, 0, 1000, 0, nil)
	sr := slave.GetMessages("T1", 1, slave.MinOffset("T1", 1), 1000, 0, nil)
	if slave.MaxOffset("T1", 1) != mr.MaxOffset || len(sr.Records) == 0 {
		t.Fatalf("slave T1/1 max %d with %d records, master max %d", slave.MaxOffset("T1", 1), len(sr.Records), mr.MaxOffset)
	}
	last := sr.Records[len(sr.Records)-1]
	if !bytes.Equal(last, mr.Records[len(mr.Records)-1]) {
		t.Fatalf("last record of T1/1 differs between master and slave")
	}
}

func TestChecksumAndLogID(t *testing.T) {
	mo, so := testOptions(t, AsyncFlush), testOptions(t, AsyncFlush)
	master, slave := openT(t, mo), openT(t, so)
	fillMaster(t, master, 0, 60)
	replicate(t, master, slave, 1<<20)
	end := master.MaxPhysicalOffset()
	from := end - end%mo.CommitLogSegmentBytes
	if from == end {
		from = end - 4096
	}
	mc, err := master.Checksum(from, end)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := slave.Checksum(from, end)
	if err != nil || sc != mc {
		t.Fatalf("checksums of [%d, %d): master %08x, slave %08x (%v)", from, end, mc, sc, err)
	}
	if _, err := master.Checksum(0, end); end > mo.CommitLogSegmentBytes && err == nil {
		t.Fatalf("checksum across segments: no error")
	}
	if _, err := master.Checksum(from, end+1); err == nil {
		t.Fatalf("checksum past the end: no error")
	}

	if _, ok, err := slave.LogID(false); ok || err != nil {
		t.Fatalf("new store has a log id (%v, %v)", ok, err)
	}
	id, ok, err := master.LogID(true)
	if !ok || err != nil {
		t.Fatalf("create log id: %v %v", ok, err)
	}
	again, _, _ := master.LogID(true)
	if again != id {
		t.Fatalf("log id changed: %x then %x", id, again)
	}
	if err := slave.AdoptLogID(id); err != nil {
		t.Fatalf("adopt: %v", err)
	}
	if err := slave.AdoptLogID(id); err != nil {
		t.Fatalf("adopt the same id again: %v", err)
	}
	other := id
	other[0] ^= 1
	if err := slave.AdoptLogID(other); err == nil {
		t.Fatalf("adopting a second id: no error")
	}
	if err := slave.Close(); err != nil {
		t.Fatal(err)
	}
	slave = openT(t, so)
	if got, ok, err := slave.LogID(false); !ok || err != nil || got != id {
		t.Fatalf("after reopen the slave's log id is %x (%v, %v), want %x", got, ok, err, id)
	}
	// A damaged id file is corruption, not a new id.
	if err := os.WriteFile(filepath.Join(so.Dir, logIDName), []byte("RGIDjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := slave.LogID(true); !errors.Is(err, ErrCorruption) {
		t.Fatalf("damaged log id: got %v, want corruption", err)
	}
}

func TestGrownWakesAfterAppend(t *testing.T) {
	s := openT(t, testOptions(t, AsyncFlush))
	ch := s.Grown(0)
	select {
	case <-ch:
		t.Fatalf("channel closed before anything was appended")
	default:
	}
	r := put(t, s, msg{topic: "T", queue: 0, body: body(1, 10)})
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("not woken within 5s of an append")
	}
	select {
	case <-s.Grown(r.EndOffset - 1):
	default:
		t.Fatalf("a wait below the dispatched offset is not already done")
	}
}
