package store

import (
	"errors"
	"testing"
)

// TestPutMany: items appended together get consecutive physical and queue offsets in
// item order across a segment roll, each its own result; an invalid record, a body
// over the limit and a batch of records for two queues fail alone, and the records
// read back are the ones given, in order.
func TestPutMany(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		const n = 90 // 90 × ~1.1 KiB rolls the 64 KiB segment
		var (
			items []PutItem
			want  []msg
			bad   = map[int]error{}
		)
		for i := 0; i < n; i++ {
			m := msg{topic: "T", queue: int32(i % 2), body: body(i, 1000)}
			rec := encode(t, m)
			switch i {
			case 10:
				rec = rec[:len(rec)-3]
				bad[i] = ErrInvalidRecord
			case 20:
				m.body = body(i, 17<<10)
				rec = encode(t, m)
				bad[i] = ErrMessageTooLarge
			case 30:
				other := encode(t, msg{topic: "T", queue: 5, body: body(i, 10)})
				items = append(items, PutItem{Recs: append(rec, other...), Batch: true})
				bad[i] = ErrInvalidRecord
				want = append(want, m)
				continue
			}
			items = append(items, PutItem{Recs: rec})
			want = append(want, m)
		}
		res := make([]PutResult, len(items))
		errs := make([]error, len(items))
		s.PutMany(items, res, errs)
		next := [2]int64{}
		var phys int64 = -1
		for i := range items {
			if wantErr := bad[i]; wantErr != nil {
				if !errors.Is(errs[i], wantErr) {
					t.Fatalf("item %d: err %v, want %v", i, errs[i], wantErr)
				}
				continue
			}
			if errs[i] != nil {
				t.Fatalf("item %d: %v", i, errs[i])
			}
			q := want[i].queue
			if res[i].QueueOffset != next[q] || res[i].Count != 1 || res[i].PhysicalOffset <= phys {
				t.Fatalf("item %d: %+v, want queue offset %d after physical %d", i, res[i], next[q], phys)
			}
			next[q]++
			phys = res[i].PhysicalOffset
			rec, err := s.ReadRecord(res[i].PhysicalOffset)
			if err != nil {
				t.Fatalf("item %d: read: %v", i, err)
			}
			checkRecord(t, rec, want[i], res[i].QueueOffset, res[i].PhysicalOffset)
		}
		if got := len(s.cl.Segments()); got < 2 {
			t.Fatalf("%d segments: the items did not roll one", got)
		}
		syncDispatch(t, s)
		if s.MaxOffset("T", 0) != next[0] || s.MaxOffset("T", 1) != next[1] {
			t.Fatalf("queues hold %d and %d, want %v", s.MaxOffset("T", 0), s.MaxOffset("T", 1), next)
		}
	})
}
