package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// TestGetMessagesStatusTable covers every row of docs/protocol.md §2.4's table.
func TestGetMessagesStatusTable(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		for i := 0; i < 20; i++ {
			put(t, s, msg{topic: "R", queue: 0, body: body(i, 900)})
		}
		for i := 0; i < 100; i++ {
			put(t, s, msg{topic: "S", queue: 0, body: body(i, 900), tags: "even"})
		}
		syncDispatch(t, s)
		if _, err := s.queueFor([]byte("Empty"), 3); err != nil {
			t.Fatal(err)
		}
		// Delete the CommitLog head without telling the ConsumeQueue: its first units
		// now point at removed data (the window MESSAGE_WAS_REMOVING exists for).
		removedMin := int64(-1)
		s.cl.DeleteHead(time.Now(), func(seg, next *segment.File) bool {
			if removedMin < 0 {
				removedMin = next.Start()
				return true
			}
			return false
		})
		firstLive := int64(-1)
		for off := int64(0); off < 100; off++ {
			if u, _ := s.queue("S", 0).Unit(off); u.Offset >= removedMin {
				firstLive = off
				break
			}
		}
		if firstLive <= 0 {
			t.Fatalf("head deletion removed no unit's record (first live %d)", firstLive)
		}
		tags := message.TagsHash("even")
		cases := []struct {
			name                string
			topic               string
			queue               int32
			offset              int64
			max                 int
			match               func(int64) bool
			status              GetStatus
			next, minOff, maxOf int64
			records             int
		}{
			{"missing queue", "Nope", 0, 5, 32, nil, NoMatchedLogicQueue, 0, 0, 0, 0},
			{"missing queue id", "S", 9, 0, 32, nil, NoMatchedLogicQueue, 0, 0, 0, 0},
			{"empty queue", "Empty", 3, 0, 32, nil, NoMessageInQueue, 0, 0, 0, 0},
			{"offset overflow one", "S", 0, 100, 32, nil, OffsetOverflowOne, 100, 0, 100, 0},
			{"offset overflow badly", "S", 0, 150, 32, nil, OffsetOverflowBadly, 100, 0, 100, 0},
			{"found", "S", 0, 60, 5, nil, Found, 65, 0, 100, 5},
			{"found to the end", "S", 0, 97, 32, nil, Found, 100, 0, 100, 3},
			{"tag matched", "S", 0, 60, 5, func(c int64) bool { return c == tags }, Found, 65, 0, 100, 5},
			{"no matched message", "S", 0, 60, 5, func(int64) bool { return false }, NoMatchedMessage, 100, 0, 100, 0},
			{"message was removing", "R", 0, 0, 32, nil, MessageWasRemoving, 20, 0, 20, 0},
			{"removed then found", "S", 0, 0, 1, nil, Found, firstLive + 1, 0, 100, 1},
		}
		for _, c := range cases {
			r := s.GetMessages(c.topic, c.queue, c.offset, c.max, 0, c.match)
			if r.Status != c.status || r.NextBegin != c.next || r.MinOffset != c.minOff || r.MaxOffset != c.maxOf || len(r.Records) != c.records {
				t.Errorf("%s: got %s next %d min %d max %d records %d; want %s next %d min %d max %d records %d",
					c.name, r.Status, r.NextBegin, r.MinOffset, r.MaxOffset, len(r.Records),
					c.status, c.next, c.minOff, c.maxOf, c.records)
			}
		}
		// Once retention moves the queue's min past the removed units, an offset below
		// it is OFFSET_TOO_SMALL and the answer points at the min.
		s.queue("S", 0).DeleteBefore(removedMin, time.Now())
		r := s.GetMessages("S", 0, 0, 32, 0, nil)
		if r.Status != OffsetTooSmall || r.NextBegin != firstLive || r.MinOffset != firstLive {
			t.Fatalf("offset too small: got %s next %d min %d, want OFFSET_TOO_SMALL next %d min %d",
				r.Status, r.NextBegin, r.MinOffset, firstLive, firstLive)
		}
		if got := fmt.Sprint(OffsetOverflowOne, NoMatchedLogicQueue, GetStatus(42)); got != "OFFSET_OVERFLOW_ONE NO_MATCHED_LOGIC_QUEUE GetStatus(42)" {
			t.Fatalf("status names: %s", got)
		}
	})
}

func TestGetMessagesBudgets(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		var size int
		for i := 0; i < 2000; i++ {
			tag := "other"
			if i == 1500 {
				tag = "rare"
			}
			r := put(t, s, msg{topic: "B", body: body(i, 10), tags: tag})
			size = int(r.EndOffset - r.PhysicalOffset)
		}
		syncDispatch(t, s)
		// Byte budget: the record that would pass it stays for the next pull, but the
		// first record is always taken.
		r := s.GetMessages("B", 0, 0, 32, 3*size+size/2, nil)
		if r.Status != Found || len(r.Records) != 3 || r.NextBegin != 3 || r.Bytes != 3*size {
			t.Fatalf("byte budget: %s %d records next %d bytes %d", r.Status, len(r.Records), r.NextBegin, r.Bytes)
		}
		r = s.GetMessages("B", 0, 0, 32, 1, nil)
		if len(r.Records) != 1 || r.NextBegin != 1 {
			t.Fatalf("tiny budget: %d records next %d", len(r.Records), r.NextBegin)
		}
		// A selective filter scans at most max(16000 bytes, maxCount units) of queue.
		rare := message.TagsHash("rare")
		match := func(c int64) bool { return c == rare }
		r = s.GetMessages("B", 0, 0, 32, 0, match)
		if r.Status != NoMatchedMessage || r.NextBegin != 800 {
			t.Fatalf("scan limit: %s next %d, want NO_MATCHED_MESSAGE next 800", r.Status, r.NextBegin)
		}
		r = s.GetMessages("B", 0, 1501, 32, 0, match)
		if r.Status != NoMatchedMessage || r.NextBegin != 2000 {
			t.Fatalf("scan to the end: %s next %d, want NO_MATCHED_MESSAGE next 2000", r.Status, r.NextBegin)
		}
		r = s.GetMessages("B", 0, 1000, 1000, 0, match)
		if r.Status != Found || len(r.Records) != 1 || r.NextBegin != 2000 {
			t.Fatalf("wide scan: %s %d records next %d", r.Status, len(r.Records), r.NextBegin)
		}
		if got := message.RecordQueueOffset(r.Records[0]); got != 1500 {
			t.Fatalf("matched record has queue offset %d, want 1500", got)
		}
	})
}

func TestQueryByKeyAndTime(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		o := testOptions(t, mode)
		now := time.UnixMilli(1_800_000_000_000)
		o.Now = func() time.Time { return now }
		s := openT(t, o)
		var phys []int64
		for i := 0; i < 50; i++ {
			now = now.Add(time.Second)
			r := put(t, s, msg{topic: "K", queue: int32(i % 2), body: body(i, 50),
				keys: fmt.Sprintf("order-%d shared", i%5), uniq: fmt.Sprintf("UNIQ%04d", i)})
			phys = append(phys, r.PhysicalOffset)
		}
		put(t, s, msg{topic: "Other", body: []byte("x"), keys: "shared"})
		syncDispatch(t, s)
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		got, err := s.QueryByKey("K", "UNIQ0007", 0, 1<<62, 10)
		if err != nil || len(got) != 1 || got[0] != phys[7] {
			t.Fatalf("uniq key: got %v %v, want [%d]", got, err, phys[7])
		}
		got, _ = s.QueryByKey("K", "order-3", 0, 1<<62, 100)
		want := []int64{phys[48], phys[43], phys[38], phys[33], phys[28], phys[23], phys[18], phys[13], phys[8], phys[3]}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("keys token, newest first: got %v, want %v", got, want)
		}
		got, _ = s.QueryByKey("K", "shared", 0, 1<<62, 4)
		if fmt.Sprint(got) != fmt.Sprint([]int64{phys[49], phys[48], phys[47], phys[46]}) {
			t.Fatalf("max count: got %v", got)
		}
		begin := time.UnixMilli(1_800_000_000_000).Add(11 * time.Second).UnixMilli()
		end := time.UnixMilli(1_800_000_000_000).Add(20 * time.Second).UnixMilli()
		got, _ = s.QueryByKey("K", "shared", begin, end, 100)
		if len(got) != 10 || got[0] != phys[19] || got[9] != phys[10] {
			t.Fatalf("time range: got %v", got)
		}
		if got, _ := s.QueryByKey("K", "order-9", 0, 1<<62, 10); len(got) != 0 {
			t.Fatalf("unknown key: got %v", got)
		}

		// Queue 0 holds messages 0, 2, 4 ... stored at base+1s, base+3s ...
		base := time.UnixMilli(1_800_000_000_000)
		for _, c := range []struct {
			at   time.Duration
			want int64
		}{{0, 0}, {time.Second, 0}, {2 * time.Second, 1}, {3 * time.Second, 1}, {49 * time.Second, 24}, {60 * time.Second, 25}} {
			if got := s.OffsetByTime("K", 0, base.Add(c.at).UnixMilli()); got != c.want {
				t.Errorf("offset by time %s: got %d, want %d", c.at, got, c.want)
			}
		}
		if ts, err := s.EarliestStoreTime("K", 1); err != nil || ts != base.Add(2*time.Second).UnixMilli() {
			t.Fatalf("earliest store time: %d %v", ts, err)
		}
		if _, err := s.EarliestStoreTime("K", 7); !errors.Is(err, ErrNotFound) {
			t.Fatalf("earliest of a missing queue: got %v, want ErrNotFound", err)
		}

		// DeleteTopic drops the queues and hides the index entries; the topic starts
		// over at offset 0.
		if err := s.DeleteTopic("K"); err != nil {
			t.Fatalf("delete topic: %v", err)
		}
		if qs := s.Queues("K"); len(qs) != 0 {
			t.Fatalf("queues after delete: %v", qs)
		}
		if got, _ := s.QueryByKey("K", "shared", 0, 1<<62, 10); len(got) != 0 {
			t.Fatalf("index entries after delete: %v", got)
		}
		if got, _ := s.QueryByKey("Other", "shared", 0, 1<<62, 10); len(got) != 1 {
			t.Fatalf("other topic's entries after delete: %v", got)
		}
		r := put(t, s, msg{topic: "K", queue: 0, body: []byte("again"), uniq: "UNIQ0007"})
		if r.QueueOffset != 0 {
			t.Fatalf("queue offset after delete: %d, want 0", r.QueueOffset)
		}
		syncDispatch(t, s)
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.QueryByKey("K", "UNIQ0007", 0, 1<<62, 10); len(got) != 1 || got[0] != r.PhysicalOffset {
			t.Fatalf("new entry after delete: %v, want [%d]", got, r.PhysicalOffset)
		}
	})
}

func TestSubscribeSeesReadableUnits(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		got := make(chan Arrival, 100)
		s.Subscribe(func(a Arrival) {
			// The unit must already be readable when subscribers hear of it.
			if r := s.GetMessages(a.Topic, a.QueueID, a.MaxOffset-1, 1, 0, nil); r.Status != Found {
				t.Errorf("arrival %+v: get says %s", a, r.Status)
			}
			got <- a
		})
		put(t, s, msg{topic: "A", queue: 2, body: []byte("x"), tags: "t1"})
		put(t, s, msg{topic: "A", queue: 2, body: []byte("y")})
		put(t, s, msg{topic: "A", queue: 0, body: []byte("half"), tx: message.TxPreparedType})
		put(t, s, msg{topic: "A", queue: 0, body: []byte("z")})
		want := []Arrival{
			{Topic: "A", QueueID: 2, MaxOffset: 1, TagsCode: message.TagsHash("t1")},
			{Topic: "A", QueueID: 2, MaxOffset: 2},
			{Topic: "A", QueueID: 0, MaxOffset: 1},
		}
		for i, w := range want {
			select {
			case a := <-got:
				a.StoreTimestamp = 0
				if a != w {
					t.Fatalf("arrival %d: got %+v, want %+v", i, a, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("arrival %d: none", i)
			}
		}
	})
}
