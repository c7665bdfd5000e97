package store

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

func TestPutAndGet(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		type stored struct {
			m    msg
			qo   int64
			phys int64
		}
		var all []stored
		next := map[int32]int64{}
		for i := 0; i < 300; i++ {
			m := msg{topic: "T", queue: int32(i % 3), body: body(i, 100+i%200), tags: fmt.Sprintf("tag%d", i%4)}
			r := put(t, s, m)
			if r.QueueOffset != next[m.queue] {
				t.Fatalf("put %d: queue offset %d, want %d", i, r.QueueOffset, next[m.queue])
			}
			if r.Count != 1 || r.EndOffset <= r.PhysicalOffset {
				t.Fatalf("put %d: result %+v", i, r)
			}
			next[m.queue]++
			all = append(all, stored{m, r.QueueOffset, r.PhysicalOffset})
			if mode == SyncFlush {
				if err := s.WaitFlushed(waitCtx(t), r.EndOffset); err != nil {
					t.Fatalf("wait flushed: %v", err)
				}
			}
		}
		syncDispatch(t, s)
		for q := int32(0); q < 3; q++ {
			if got := s.MaxOffset("T", q); got != next[q] {
				t.Fatalf("queue %d: max %d, want %d", q, got, next[q])
			}
			var want []stored
			for _, st := range all {
				if st.m.queue == q {
					want = append(want, st)
				}
			}
			var got [][]byte
			for off := int64(0); off < next[q]; {
				r := s.GetMessages("T", q, off, 7, 0, nil)
				if r.Status != Found {
					t.Fatalf("queue %d offset %d: status %s", q, off, r.Status)
				}
				if r.NextBegin != off+int64(len(r.Records)) || r.MinOffset != 0 || r.MaxOffset != next[q] {
					t.Fatalf("queue %d offset %d: next %d min %d max %d with %d records", q, off, r.NextBegin, r.MinOffset, r.MaxOffset, len(r.Records))
				}
				got = append(got, r.Records...)
				off = r.NextBegin
			}
			if len(got) != len(want) {
				t.Fatalf("queue %d: %d records, want %d", q, len(got), len(want))
			}
			for i, rec := range got {
				checkRecord(t, rec, want[i].m, want[i].qo, want[i].phys)
				again, err := s.ReadRecord(want[i].phys)
				if err != nil || !bytes.Equal(again, rec) {
					t.Fatalf("read record %d: %v", want[i].phys, err)
				}
			}
		}
		st := s.Stats()
		if st.PutMessages != 300 || st.TopicPuts["T"] != 300 || st.Queues != 3 || st.Segments < 2 {
			t.Fatalf("stats %+v", st)
		}
		if got := s.Queues("T"); fmt.Sprint(got) != "[0 1 2]" {
			t.Fatalf("queues %v", got)
		}
	})
}

func TestPutBatch(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		put(t, s, msg{topic: "B", queue: 1, body: []byte("first")})
		var batch []byte
		var ms []msg
		for i := 0; i < 10; i++ {
			m := msg{topic: "B", queue: 1, body: body(i, 50)}
			ms = append(ms, m)
			batch = append(batch, encode(t, m)...)
		}
		r, err := s.PutBatch(batch)
		if err != nil {
			t.Fatalf("put batch: %v", err)
		}
		if r.Count != 10 || r.QueueOffset != 1 || r.EndOffset-r.PhysicalOffset != int64(len(batch)) {
			t.Fatalf("batch result %+v (batch %d bytes)", r, len(batch))
		}
		syncDispatch(t, s)
		g := s.GetMessages("B", 1, 1, 32, 0, nil)
		if g.Status != Found || len(g.Records) != 10 || g.NextBegin != 11 {
			t.Fatalf("get: %s %d records next %d", g.Status, len(g.Records), g.NextBegin)
		}
		phys := r.PhysicalOffset
		for i, rec := range g.Records {
			checkRecord(t, rec, ms[i], int64(1+i), phys)
			if message.RecordStoreTimestamp(rec) != r.StoreTimestamp {
				t.Fatalf("record %d: store time %d, want %d", i, message.RecordStoreTimestamp(rec), r.StoreTimestamp)
			}
			phys += int64(len(rec))
		}

		mixed := append(encode(t, msg{topic: "B", queue: 1, body: []byte("x")}), encode(t, msg{topic: "B", queue: 2, body: []byte("y")})...)
		if _, err := s.PutBatch(mixed); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("mixed queues: got %v, want ErrInvalidRecord", err)
		}
		half := encode(t, msg{topic: "B", queue: 1, body: []byte("x"), tx: message.TxPreparedType})
		if _, err := s.PutBatch(half); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("prepared batch: got %v, want ErrInvalidRecord", err)
		}
		if _, err := s.PutBatch(batch[:len(batch)-3]); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("torn batch: got %v, want ErrInvalidRecord", err)
		}
		if got := s.MaxOffset("B", 1); got != 11 {
			t.Fatalf("max after refused batches: %d, want 11", got)
		}
	})
}

func TestPutRefusals(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		o.MaxMessageBytes = 1000
		s := openT(t, o)
		cases := []struct {
			name string
			rec  []byte
			want error
		}{
			{"body over the limit", encode(t, msg{topic: "T", body: make([]byte, 1001)}), ErrMessageTooLarge},
			{"garbage", []byte("not a record at all, not at all"), ErrInvalidRecord},
			{"trailing bytes", append(encode(t, msg{topic: "T", body: []byte("x")}), 1, 2, 3), ErrInvalidRecord},
			{"bad crc", func() []byte {
				r := encode(t, msg{topic: "T", body: []byte("hello")})
				r[len(r)-10] ^= 0xff
				return r
			}(), ErrInvalidRecord},
			{"topic with a slash", encode(t, msg{topic: "a/b", body: []byte("x")}), ErrInvalidRecord},
			{"topic dot-dot", encode(t, msg{topic: "..", body: []byte("x")}), ErrInvalidRecord},
		}
		for _, c := range cases {
			if _, err := s.Put(c.rec); !errors.Is(err, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := s.Put(encode(t, msg{topic: "T", body: make([]byte, 1000)})); err != nil {
			t.Fatalf("body at the limit: %v", err)
		}
		big := testOptions(t, mode)
		big.MaxMessageBytes = 1 << 20
		s2 := openT(t, big)
		if _, err := s2.Put(encode(t, msg{topic: "T", body: make([]byte, 70<<10)})); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("record larger than a segment: got %v, want ErrMessageTooLarge", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if _, err := s.Put(encode(t, msg{topic: "T", body: []byte("x")})); !errors.Is(err, ErrClosed) {
			t.Fatalf("put after close: got %v, want ErrClosed", err)
		}
	})
}

func TestTransactionRecordsGetNoUnit(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		put(t, s, msg{topic: "X", body: []byte("a")})
		half := put(t, s, msg{topic: "X", body: []byte("half"), tx: message.TxPreparedType})
		rb := put(t, s, msg{topic: "X", body: []byte("rolled back"), tx: message.TxRollbackType})
		c := put(t, s, msg{topic: "X", body: []byte("commit"), tx: message.TxCommitType})
		if half.QueueOffset != 0 || rb.QueueOffset != 0 || c.QueueOffset != 1 {
			t.Fatalf("queue offsets: half %d rollback %d commit %d, want 0 0 1", half.QueueOffset, rb.QueueOffset, c.QueueOffset)
		}
		syncDispatch(t, s)
		g := s.GetMessages("X", 0, 0, 10, 0, nil)
		if len(g.Records) != 2 || g.MaxOffset != 2 {
			t.Fatalf("got %d records, max %d; want 2, 2", len(g.Records), g.MaxOffset)
		}
		if rec, err := s.ReadRecord(half.PhysicalOffset); err != nil || string(message.RecordBody(rec)) != "half" {
			t.Fatalf("read half message: %v", err)
		}
	})
}

func TestReadRecordRefusesNonRecordOffsets(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		r := put(t, s, msg{topic: "T", body: []byte("hello")})
		for _, off := range []int64{-1, r.PhysicalOffset + 1, r.PhysicalOffset + 4, r.EndOffset, 1 << 40} {
			if _, err := s.ReadRecord(off); !errors.Is(err, ErrNotFound) {
				t.Errorf("offset %d: got %v, want ErrNotFound", off, err)
			}
		}
	})
}

func TestConcurrentPutsKeepQueuesDense(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		const writers, each = 8, 200
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					r, err := s.Put(encode(t, msg{topic: "C", queue: int32(i % 2), body: body(w*each+i, 64)}))
					if err != nil {
						t.Errorf("put: %v", err)
						return
					}
					if mode == SyncFlush {
						if err := s.WaitFlushed(waitCtx(t), r.EndOffset); err != nil {
							t.Errorf("flush: %v", err)
							return
						}
					}
				}
			}(w)
		}
		wg.Wait()
		syncDispatch(t, s)
		total := 0
		for q := int32(0); q < 2; q++ {
			var offs []int64
			for off := int64(0); ; {
				g := s.GetMessages("C", q, off, 32, 0, nil)
				if g.Status != Found {
					break
				}
				for _, rec := range g.Records {
					offs = append(offs, message.RecordQueueOffset(rec))
				}
				off = g.NextBegin
			}
			if !sort.SliceIsSorted(offs, func(i, j int) bool { return offs[i] < offs[j] }) {
				t.Fatalf("queue %d offsets not ascending", q)
			}
			for i, o := range offs {
				if o != int64(i) {
					t.Fatalf("queue %d: unit %d has queue offset %d", q, i, o)
				}
			}
			total += len(offs)
		}
		if total != writers*each {
			t.Fatalf("read %d records, want %d", total, writers*each)
		}
	})
}

// TestDispatcherSkipsUnservableRecord puts a record with a topic no queue directory can
// have straight into the log (as only a damaged or foreign log could hold): the
// dispatcher logs and skips it, and the records after it are dispatched.
func TestDispatcherSkipsUnservableRecord(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		bad := encode(t, msg{topic: "../escape", body: []byte("x")})
		if _, err := s.cl.Append(bad, 1, []byte("../escape"), 0, true); err != nil {
			t.Fatal(err)
		}
		r := put(t, s, msg{topic: "Good", body: []byte("y")})
		syncDispatch(t, s)
		if g := s.GetMessages("Good", 0, 0, 1, 0, nil); g.Status != Found || message.RecordPhysicalOffset(g.Records[0]) != r.PhysicalOffset {
			t.Fatalf("record after the skipped one: %s", g.Status)
		}
		if qs := s.Queues("../escape"); len(qs) != 0 {
			t.Fatalf("queue created for an unsafe topic: %v", qs)
		}
	})
}
