package header

import (
	"errors"
	"reflect"
	"testing"
)

func TestTxnAdminHeaders(t *testing.T) {
	l := &ListPendingTransactionsRequest{ProducerGroup: "pg", MaxCount: 50}
	var l2 ListPendingTransactionsRequest
	if err := l2.Decode(l.Encode()); err != nil || l2 != *l {
		t.Fatalf("list: %+v (%v), want %+v", l2, err, *l)
	}
	if got := (&ListPendingTransactionsRequest{}).Encode(); len(got) != 0 {
		t.Fatalf("empty list request encodes to %v, want no keys", got)
	}
	r := &ResolvePendingTransactionRequest{CommitLogOffset: 1 << 40, CommitOrRollback: TxRollback}
	want := map[string]string{"commitLogOffset": "1099511627776", "commitOrRollback": "12"}
	if got := r.Encode(); !reflect.DeepEqual(got, want) {
		t.Fatalf("resolve encodes to %v, want %v", got, want)
	}
	var r2 ResolvePendingTransactionRequest
	if err := r2.Decode(map[string]string{"commitOrRollback": "8"}); !errors.Is(err, ErrMissingKey) {
		t.Fatalf("resolve without commitLogOffset: %v", err)
	}
	if err := r2.Decode(map[string]string{"commitLogOffset": "x", "commitOrRollback": "8"}); !errors.Is(err, ErrBadValue) {
		t.Fatalf("resolve with a bad offset: %v", err)
	}
}

// FuzzTxnAdminHeaders: decoding never panics, and what decodes re-encodes to what
// decodes to the same value.
func FuzzTxnAdminHeaders(f *testing.F) {
	f.Add(mapToBytes((&ListPendingTransactionsRequest{ProducerGroup: "pg", MaxCount: 3}).Encode()))
	f.Add(mapToBytes((&ResolvePendingTransactionRequest{CommitLogOffset: 99, CommitOrRollback: 8, ProducerGroup: "g"}).Encode()))
	f.Fuzz(func(t *testing.T, data []byte) {
		ext := mapFromBytes(data)
		var l1, l2 ListPendingTransactionsRequest
		if err := l1.Decode(ext); err == nil {
			if err := l2.Decode(l1.Encode()); err != nil || l1 != l2 {
				t.Fatalf("list round trip: %+v → %+v (%v)", l1, l2, err)
			}
		}
		var r1, r2 ResolvePendingTransactionRequest
		if err := r1.Decode(ext); err == nil {
			if err := r2.Decode(r1.Encode()); err != nil || r1 != r2 {
				t.Fatalf("resolve round trip: %+v → %+v (%v)", r1, r2, err)
			}
		}
	})
}
