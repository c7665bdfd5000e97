package client

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
)

// within reports whether s lies inside b's memory.
func within(s, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(&s[0])), uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

// TestDecodeMessagesAreViews: every field of a decoded message equals the full decode of
// its record, for varied records (IPv6 hosts, empty body, no properties, two topics in one
// run), while bodies and property values are slices of the answer, not copies.
func TestDecodeMessagesAreViews(t *testing.T) {
	e0 := sampleExt(0, []byte("plain"), map[string]string{"UNIQ_KEY": "ABC", "TAGS": "t1", "KEYS": "k1 k2"})
	e1 := sampleExt(1, []byte{}, nil)
	e1.StoreHost = netip.MustParseAddrPort("[2001:db8::2]:10911")
	e1.BornHost = netip.MustParseAddrPort("[2001:db8::1]:5555")
	e2 := sampleExt(2, bytes.Repeat([]byte("x"), 4096), map[string]string{"TAGS": "t2"})
	e2.Topic = "%RETRY%g"
	var run []byte
	for _, e := range []*message.Ext{e0, e1, e2} {
		run = append(run, testRecord(t, e)...)
	}
	msgs, err := DecodeMessages(run)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("decode: %d messages, %v", len(msgs), err)
	}
	off := 0
	for i, m := range msgs {
		full, size, err := message.DecodeRecord(run[off:])
		if err != nil {
			t.Fatal(err)
		}
		off += size
		if m.Topic != full.Topic || m.Queue.Topic != full.Topic || m.Queue.QueueID != full.QueueID ||
			m.Flag != full.Flag || m.QueueOffset != full.QueueOffset || m.CommitLogOffset != full.PhysicalOffset ||
			m.SysFlag != full.SysFlag || m.BornTimestamp != full.BornTimestamp || m.BornHost != full.BornHost ||
			m.StoreTimestamp != full.StoreTimestamp || m.StoreHost != full.StoreHost ||
			m.ReconsumeTimes != full.ReconsumeTimes || m.PreparedTransactionOffset != full.PreparedTransactionOffset ||
			m.BodyCRC != full.BodyCRC || int(m.StoreSize) != size || !bytes.Equal(m.Body, full.Body) ||
			!maps.Equal(m.Properties(), full.Properties) ||
			m.OffsetMsgID != message.OffsetMsgID(full.StoreHost, full.PhysicalOffset) {
			t.Errorf("message %d: %+v, full decode %+v", i, m, full)
		}
		if m.Body == nil {
			t.Errorf("message %d: nil body, want empty", i)
		}
		if len(m.Body) > 0 && !within(m.Body, run) {
			t.Errorf("message %d: body copied, want a slice of the answer", i)
		}
		for k, v := range m.Properties() {
			if !within(unsafe.Slice(unsafe.StringData(v), len(v)), run) || !within(unsafe.Slice(unsafe.StringData(k), len(k)), run) {
				t.Errorf("message %d: property %q copied", i, k)
			}
		}
	}
	if msgs[0].MsgID != "ABC" || msgs[1].MsgID != msgs[1].OffsetMsgID || len(msgs[1].OffsetMsgID) != message.OffsetMsgIDLenV6 {
		t.Errorf("ids: %q, %q / %q", msgs[0].MsgID, msgs[1].MsgID, msgs[1].OffsetMsgID)
	}
	// Appending to a body must not write into the next record.
	before := bytes.Clone(run)
	_ = append(msgs[0].Body, "overwrite"...)
	if !bytes.Equal(run, before) {
		t.Error("append to a body changed the answer")
	}
}

// TestDecodeMessagesAllocations: a run of records costs a few allocations for the run
// plus the property map of each message — no body copy, no string per property, no
// object per message.
func TestDecodeMessagesAllocations(t *testing.T) {
	const n = 32
	var run []byte
	for i := range n {
		run = append(run, testRecord(t, sampleExt(int64(i), make([]byte, 1024),
			map[string]string{"UNIQ_KEY": fmt.Sprintf("U%d", i), "TAGS": "t", "KEYS": "k"}))...)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if msgs, err := DecodeMessages(run); err != nil || len(msgs) != n {
			t.Fatalf("decode: %d, %v", len(msgs), err)
		}
	})
	if max := float64(3 + 2*n); allocs > max {
		t.Errorf("%.0f allocations for %d records, want at most %.0f", allocs, n, max)
	}
}

// TestProcessQueueRemoveBatch: removing a batch — in order, out of order, with messages
// not cached, duplicates, or a different message at a cached offset — leaves exactly the
// other messages cached, in order, with their bytes counted.
func TestProcessQueueRemoveBatch(t *testing.T) {
	offs := []int64{3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		name   string
		remove func(ms []*MessageExt) []*MessageExt
		left   []int64
	}{
		{"front run", func(ms []*MessageExt) []*MessageExt { return ms[:3] }, []int64{6, 7, 8, 9, 10}},
		{"middle sparse", func(ms []*MessageExt) []*MessageExt { return []*MessageExt{ms[1], ms[3], ms[6]} }, []int64{3, 5, 7, 8, 10}},
		{"unsorted", func(ms []*MessageExt) []*MessageExt { return []*MessageExt{ms[7], ms[0], ms[4]} }, []int64{4, 5, 6, 8, 9}},
		{"duplicates", func(ms []*MessageExt) []*MessageExt { return []*MessageExt{ms[2], ms[2], ms[5]} }, []int64{3, 4, 6, 7, 9, 10}},
		{"stranger at a cached offset", func(ms []*MessageExt) []*MessageExt {
			return []*MessageExt{msgsAt(5)[0], ms[2], ms[3]}
		}, []int64{3, 4, 7, 8, 9, 10}},
		{"stranger first", func(ms []*MessageExt) []*MessageExt {
			return []*MessageExt{msgsAt(4)[0], ms[1]}
		}, []int64{3, 5, 6, 7, 8, 9, 10}},
		{"not cached", func(ms []*MessageExt) []*MessageExt { return msgsAt(1, 2, 11) }, offs},
		{"all", func(ms []*MessageExt) []*MessageExt { return ms }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pq := newTestPQ(t)
			ms := msgsAt(offs...)
			pq.put(ms)
			pq.remove(tc.remove(ms), nil)
			pq.mu.Lock()
			var left []int64
			for _, m := range pq.mu.msgs {
				left = append(left, m.QueueOffset)
			}
			pq.mu.Unlock()
			if !slices.Equal(left, tc.left) {
				t.Errorf("left %v, want %v", left, tc.left)
			}
			if n, b := pq.cached(); n != int64(len(tc.left)) || b != int64(10*len(tc.left)) {
				t.Errorf("cached %d msgs %d bytes, want %d and %d", n, b, len(tc.left), 10*len(tc.left))
			}
		})
	}
}

// TestPushOrderlyDeliversInOrder: an orderly push consumer gets a queue's messages in
// offset order, across several pulls and batches, and commits past the last one.
func TestPushOrderlyDeliversInOrder(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 2, "g")
	var want0, want1 []string
	for i := range 60 {
		want0 = append(want0, fmt.Sprintf("a%02d", i))
		want1 = append(want1, fmt.Sprintf("b%02d", i))
	}
	b.add(t, "T", 0, "", want0...)
	b.add(t, "T", 1, "", want1...)
	rec := &recorder{}
	pc := newFakePush(t, ns, "g", WithConsumeOrderly(), WithConsumeBatchSize(4), WithPullBatchSize(7))
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 10*time.Second, "all 120 delivered", func() bool { return len(rec.got()) >= 120 })
	var got0, got1 []string
	for _, s := range rec.got() {
		if s[0] == 'a' {
			got0 = append(got0, s)
		} else {
			got1 = append(got1, s)
		}
	}
	if !slices.Equal(got0, want0) || !slices.Equal(got1, want1) {
		t.Fatalf("queue 0 got %v\nqueue 1 got %v", got0, got1)
	}
	testutil.Eventually(t, 5*time.Second, "offsets committed past the last message", func() bool {
		o0, ok0 := b.committedOffset("T", 0)
		o1, ok1 := b.committedOffset("T", 1)
		return ok0 && ok1 && o0 == 60 && o1 == 60
	})
	shutdownNow(t, pc)
}
