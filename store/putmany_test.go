package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
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

// TestPutManyEncoded: an item the caller marks Encoded is taken without its body CRC
// being computed again (a record with a wrong BODYCRC is appended, and read back with
// that CRC), while the same record not so marked is refused; an Encoded record whose
// lengths overrun TOTALSIZE is refused all the same.
func TestPutManyEncoded(t *testing.T) {
	s := openT(t, testOptions(t, AsyncFlush))
	good := encode(t, msg{topic: "T", body: body(1, 100)})
	wrongCRC := append([]byte(nil), good...)
	crc := message.RecordBodyCRC(wrongCRC) ^ 1
	binary.BigEndian.PutUint32(wrongCRC[8:], crc) // BODYCRC, the third field
	cut := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(cut[0:], uint32(len(cut)-3)) // TOTALSIZE short of the properties
	items := []PutItem{
		{Recs: wrongCRC},
		{Recs: wrongCRC, Encoded: true},
		{Recs: cut[:len(cut)-3], Encoded: true},
	}
	res := make([]PutResult, len(items))
	errs := make([]error, len(items))
	s.PutMany(items, res, errs)
	if !errors.Is(errs[0], ErrInvalidRecord) || errs[1] != nil || !errors.Is(errs[2], ErrInvalidRecord) {
		t.Fatalf("errors %v", errs)
	}
	got, _, err := s.cl.At(res[1].PhysicalOffset)
	if err != nil {
		t.Fatal(err)
	}
	if message.RecordBodyCRC(got) != crc || !bytes.Equal(message.RecordBody(got), message.RecordBody(good)) {
		t.Fatalf("record read back: crc %#x body %q", message.RecordBodyCRC(got), message.RecordBody(got))
	}
}
