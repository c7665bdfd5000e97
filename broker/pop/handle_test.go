package pop

import (
	"errors"
	"reflect"
	"testing"
)

func TestHandleRoundTrip(t *testing.T) {
	h := Handle{CkOffset: 5, PopTime: 1700000000000, InvisibleTime: 60000, ReviveQid: 0, Retry: "0", BrokerName: "broker-a", QueueID: 1, Offset: 6}
	s := h.String()
	if s != "5 1700000000000 60000 0 0 broker-a 1 6" {
		t.Fatalf("extraInfo %q", s)
	}
	got, err := ParseHandle(s)
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("parse %q: %+v %v", s, got, err)
	}
	// Apache's seven-field form: the offset comes from the request.
	got, err = ParseHandle("5 1700000000000 60000 999 0 broker-a 1")
	if err != nil || got.Offset != -1 || !got.FIFO() {
		t.Fatalf("seven fields: %+v %v", got, err)
	}
	for _, bad := range []string{"", "1 2 3", "a 1 1 0 0 b 1 1", "1 1 1 0 7 b 1 1", "1 1 1 0 0  1 1", "-1 1 1 0 0 b 1 1",
		"1 1 1 0 0 b 1 1 1", "1 1 1 0 0 b 99999999999 1"} {
		if _, err := ParseHandle(bad); !errors.Is(err, ErrBadHandle) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

// FuzzParseHandle: no panic; what parses prints back to text that parses to the same
// handle.
func FuzzParseHandle(f *testing.F) {
	f.Add("5 1700000000000 60000 0 0 broker-a 1 6")
	f.Add("5 1700000000000 60000 999 1 broker-a 1")
	f.Add("0 0 0 0 2 x 0 0")
	f.Add(" 1  2 ")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHandle(s)
		if err != nil {
			if !errors.Is(err, ErrBadHandle) {
				t.Fatalf("%q: error %v is not ErrBadHandle", s, err)
			}
			return
		}
		if h.Offset < 0 {
			h.Offset = 0
		}
		back, err := ParseHandle(h.String())
		if err != nil || !reflect.DeepEqual(back, h) {
			t.Fatalf("%q: %+v → %q → %+v (%v)", s, h, h.String(), back, err)
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []*record{
		{kind: kindCK, group: "g", topic: "T", queueID: 3, popTime: 17, invisibleTime: 60000, fifo: true, next: 9,
			items: []item{{offset: 7, attempts: 1}, {offset: 8, attempts: 4}}},
		{kind: kindAck, group: "g", topic: "T", queueID: 3, offset: 7, oldPop: 17},
		{kind: kindDLQ, group: "g", topic: "T", queueID: 3, offset: 8, oldPop: 17},
		{kind: kindChange, group: "g", topic: "T", queueID: 3, offset: 8, oldPop: 17, newPop: 20, newInv: 5},
		{kind: kindReset, group: "", topic: "T"},
	} {
		got, err := decodeRecord(r.encode(nil))
		if err != nil {
			t.Fatal(err)
		}
		if r.kind != kindCK {
			r.items = nil
		}
		if got.items != nil && len(got.items) == 0 {
			got.items = nil
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("%+v → %+v", r, got)
		}
	}
}

// FuzzDecodeRecord: no panic, no allocation beyond the input's size; what decodes
// round-trips.
func FuzzDecodeRecord(f *testing.F) {
	f.Add((&record{kind: kindCK, group: "g", topic: "T", items: []item{{1, 1}}}).encode(nil))
	f.Add((&record{kind: kindChange, group: "g", topic: "T"}).encode(nil))
	f.Add([]byte{'P', 1, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v", err)
			}
			return
		}
		back, err := decodeRecord(r.encode(nil))
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("%x → %+v → %+v (%v)", b, r, back, err)
		}
	})
}

// FuzzDecodeSnapshot: a damaged snapshot is an error, never a panic.
func FuzzDecodeSnapshot(f *testing.F) {
	st := newState()
	q := newQueueState(5)
	q.inflight[3] = &entry{popTime: 1, visibleAt: 2, attempts: 1, fifo: true}
	st.queues[qkey{"g", "T", 1}] = q
	f.Add(frame(encodeState(st, 99)))
	f.Add([]byte("RGPS\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, at, err := decodeSnapshot(b)
		if err != nil {
			return
		}
		st2, at2, err := decodeSnapshot(frame(encodeState(st, at)))
		if err != nil || at2 != at || len(st2.queues) != len(st.queues) {
			t.Fatalf("snapshot does not round-trip: %v", err)
		}
	})
}
