package commitlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

// TestStagedAppendsConcurrent has many appenders append under SYNC_FLUSH at once,
// across segment rolls (each a write of what is staged), and checks what each was told
// against the file: every result's
// physical offset holds exactly that appender's records, stamped with the result's
// queue offsets, the queue offsets of each queue run 0..n-1 with no gap or repeat, and
// the log is those records back to back (blanks aside), every one acknowledged durable.
func TestStagedAppendsConcurrent(t *testing.T) {
	const writers, per = 24, 40
	l := fixedLog(t, t.TempDir(), true)
	defer l.Close()
	recs := make([][][]byte, writers)
	for w := range recs {
		for i := 0; i < per; i++ {
			n := 1 + i%3 // batches of up to three records
			var unit []byte
			for j := 0; j < n; j++ {
				unit = append(unit, record(t, "T", int32(w%4), []byte(fmt.Sprintf("w%d-%d-%d", w, i, j)))...)
			}
			recs[w] = append(recs[w], unit)
		}
	}
	results := make([][]Result, writers)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, unit := range recs[w] {
				r, err := l.Append(unit, 1+i%3, []byte("T"), int32(w%4), true)
				if err == nil {
					err = l.WaitFlushed(t.Context(), r.EndOffset)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
				results[w] = append(results[w], r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if l.Written() < 3*l.SegmentBytes() {
		t.Fatalf("log ends at %d: too few rolls to test", l.Written())
	}
	seen := map[int32]map[int64]bool{}
	total := 0
	for w := range results {
		for i, r := range results[w] {
			n := 1 + i%3
			total += n
			if r.Count != n || r.EndOffset-r.PhysicalOffset != int64(len(recs[w][i])) {
				t.Fatalf("writer %d append %d: result %+v for %d records of %d bytes", w, i, r, n, len(recs[w][i]))
			}
			pos := r.PhysicalOffset
			for j := 0; j < n; j++ {
				rec, err := l.Record(pos)
				if err != nil {
					t.Fatalf("writer %d append %d record %d: %v", w, i, j, err)
				}
				if got, want := string(message.RecordBody(rec)), fmt.Sprintf("w%d-%d-%d", w, i, j); got != want {
					t.Fatalf("record at %d: body %q, want %q", pos, got, want)
				}
				q := message.RecordQueueOffset(rec)
				if q != r.QueueOffset+int64(j) || message.RecordStoreTimestamp(rec) != r.StoreTimestamp {
					t.Fatalf("record at %d: queue offset %d, store time %d; result %+v", pos, q, message.RecordStoreTimestamp(rec), r)
				}
				qs := seen[int32(w%4)]
				if qs == nil {
					qs = map[int64]bool{}
					seen[int32(w%4)] = qs
				}
				if qs[q] {
					t.Fatalf("queue %d offset %d given twice", w%4, q)
				}
				qs[q] = true
				pos += int64(len(rec))
			}
		}
	}
	for q, qs := range seen {
		for o := int64(0); o < int64(len(qs)); o++ {
			if !qs[o] {
				t.Fatalf("queue %d: offset %d missing among %d", q, o, len(qs))
			}
		}
	}
	walked := 0
	for pos := int64(0); pos < l.Written(); {
		rec, next, err := l.At(pos)
		if err != nil {
			t.Fatalf("walk at %d: %v", pos, err)
		}
		if rec != nil {
			walked++
		}
		pos = next
	}
	if walked != total || l.Flushed() != l.Written() {
		t.Fatalf("log holds %d records through %d, flushed %d; %d acknowledged", walked, l.Written(), l.Flushed(), total)
	}
}

// TestStagedTornAtEveryPoint stages several units as concurrent appends do, then
// leaves the file as a kill would at many points of its two pwrites — part of the
// records (headers zeroed), or all of them and part of the headers — and checks that
// recovery keeps exactly the records whose header was written in full, before the
// batch and in it, and nothing after.
func TestStagedTornAtEveryPoint(t *testing.T) {
	units := [][]byte{
		record(t, "T", 0, []byte("a")),
		append(record(t, "T", 0, []byte("b1")), record(t, "T", 0, bytes.Repeat([]byte("b2"), 50))...),
		record(t, "T", 1, []byte("c")),
	}
	counts := []int{1, 2, 1}
	stage := func(t *testing.T, dir string) (l *Log, start int64, buf []byte, heads []uint64) {
		l = fixedLog(t, dir, true)
		r, err := l.Append(record(t, "T", 0, []byte("kept")), 1, []byte("T"), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.WaitFlushed(t.Context(), r.EndOffset); err != nil {
			t.Fatal(err)
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, u := range units {
			if _, _, _, err := l.appendLocked(Unit{Recs: u, Count: counts[i], Topic: []byte("T"), QueueID: 0, Advance: true}, 1); err != nil {
				t.Fatal(err)
			}
		}
		buf, heads = bytes.Clone(l.mu.wbuf), append([]uint64{}, l.mu.heads...)
		l.mu.wbuf, l.mu.heads = l.mu.wbuf[:0], l.mu.heads[:0] // never written: the kill
		l.staged.Store(l.written.Load())
		return l, r.EndOffset, buf, heads
	}
	_, _, buf, heads := stage(t, t.TempDir())
	var offs []int
	for i, off := 0, 0; i < len(heads); i++ {
		offs = append(offs, off)
		off += int(heads[i] >> 32)
	}
	// Cut points: the batch's record boundaries, and bytes around each header.
	var cuts []int
	for _, off := range offs {
		cuts = append(cuts, off, off+1, off+7, off+8, off+9)
	}
	cuts = append(cuts, len(buf))
	for _, second := range []bool{false, true} {
		for _, k := range cuts {
			if second && k > offs[len(offs)-1]+headerLen {
				continue
			}
			t.Run(fmt.Sprintf("second=%v/cut=%d", second, k), func(t *testing.T) {
				dir := t.TempDir()
				l, start, buf, heads := stage(t, dir)
				seg := l.files.Find(start)
				rel := start - seg.Start()
				want := start
				// The preparer may have claimed the range for its zeros before the
				// batch was staged; the writes below stand for the flusher's and wait
				// for it as the flusher's do.
				l.mu.Lock()
				l.awaitZerosLocked(seg, start, start+int64(len(buf)))
				l.mu.Unlock()
				if !second {
					if err := seg.WriteAt(buf[:k], rel); err != nil {
						t.Fatal(err)
					}
				} else {
					if err := seg.WriteAt(buf, rel); err != nil {
						t.Fatal(err)
					}
					hb := bytes.Clone(buf)
					for i, off := range offs {
						binary.BigEndian.PutUint64(hb[off:], heads[i])
						if off+headerLen <= k {
							want = start + int64(off) + int64(heads[i]>>32)
						}
					}
					if err := seg.WriteAt(hb[:k], rel); err != nil {
						t.Fatal(err)
					}
				}
				l.Abandon()
				l2 := fixedLog(t, dir, true)
				defer l2.Close()
				if got := l2.Written(); got != want {
					t.Fatalf("recovered end %d, want %d", got, want)
				}
				if _, err := l2.Record(0); err != nil {
					t.Fatalf("the record before the batch: %v", err)
				}
			})
		}
	}
}

// TestStagedReadableOnceAppended checks the promise readers rely on under SYNC_FLUSH:
// an appended record is staged, not yet in the file, yet the end asked for right after
// the append covers it and a read by its offset finds it, because asking writes what is
// staged first.
func TestStagedReadableOnceAppended(t *testing.T) {
	l := fixedLog(t, t.TempDir(), true)
	defer l.Close()
	for i := 0; i < 3; i++ {
		body := fmt.Sprintf("staged-%d", i)
		r, err := l.Append(record(t, "T", 0, []byte(body)), 1, []byte("T"), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		var rec []byte
		switch i {
		case 0:
			rec, err = l.Record(r.PhysicalOffset)
		case 1:
			if w := l.Written(); w != r.EndOffset {
				t.Fatalf("Written %d right after the append, want %d", w, r.EndOffset)
			}
			rec, _, err = l.At(r.PhysicalOffset)
		case 2:
			rec, err = l.ReadRaw(r.PhysicalOffset, 1<<20)
		}
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if got := string(message.RecordBody(rec)); got != body || message.RecordPhysicalOffset(rec) != r.PhysicalOffset {
			t.Fatalf("read %d: body %q at %d, want %q at %d", i, got, message.RecordPhysicalOffset(rec), body, r.PhysicalOffset)
		}
		if err := l.WaitFlushed(t.Context(), r.EndOffset); err != nil {
			t.Fatal(err)
		}
	}
}
