package header

import "testing"

func TestListTimerMessagesRequest(t *testing.T) {
	l := &ListTimerMessagesRequest{Topic: "orders", MaxCount: 50}
	var l2 ListTimerMessagesRequest
	if err := l2.Decode(l.Encode()); err != nil || l2 != *l {
		t.Fatalf("round trip: %+v (%v)", l2, err)
	}
	if got := (&ListTimerMessagesRequest{}).Encode(); len(got) != 0 {
		t.Fatalf("empty request encodes %v, want no fields", got)
	}
	if err := l2.Decode(map[string]string{"maxCount": "many"}); err == nil {
		t.Fatal("maxCount=many decoded")
	}
}

// FuzzListTimerMessagesRequest: decoding never panics, and what decodes re-encodes to
// what decodes to the same value.
func FuzzListTimerMessagesRequest(f *testing.F) {
	f.Add(mapToBytes((&ListTimerMessagesRequest{Topic: "t", MaxCount: 3}).Encode()))
	f.Add(mapToBytes(map[string]string{"maxCount": "-1"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l1, l2 ListTimerMessagesRequest
		if err := l1.Decode(mapFromBytes(data)); err == nil {
			if err := l2.Decode(l1.Encode()); err != nil || l1 != l2 {
				t.Fatalf("round trip: %+v → %+v (%v)", l1, l2, err)
			}
		}
	})
}
