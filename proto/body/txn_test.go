package body

import (
	"errors"
	"reflect"
	"testing"
)

var pendingGolden = []byte(`{"brokerName":"broker-a","now":1700000001200,"total":2,"transactions":[{"ageMillis":1200,` +
	`"checkTimes":1,"commitLogOffset":4096,"lastCheckTimestamp":1700000001000,"msgId":"0A00000100002A9F0000000000000001",` +
	`"offsetMsgId":"7F00000100002A9F0000000000001000","producerGroup":"orders","queueId":3,"topic":"Orders",` +
	`"storeTimestamp":1700000000000,"tranStateTableOffset":7}]}`)

func TestPendingTransactionListGolden(t *testing.T) {
	l, err := DecodePendingTransactionList(pendingGolden)
	if err != nil {
		t.Fatal(err)
	}
	want := &PendingTransactionList{BrokerName: "broker-a", Now: 1700000001200, Total: 2, Transactions: []PendingTransaction{{
		AgeMillis: 1200, CheckTimes: 1, CommitLogOffset: 4096, LastCheckTimestamp: 1700000001000,
		MsgID: "0A00000100002A9F0000000000000001", OffsetMsgID: "7F00000100002A9F0000000000001000",
		ProducerGroup: "orders", QueueID: 3, Topic: "Orders", StoreTimestamp: 1700000000000, TranStateTableOffset: 7,
	}}}
	if !reflect.DeepEqual(l, want) {
		t.Fatalf("got %+v\nwant %+v", l, want)
	}
	if got := l.Encode(); string(got) != string(pendingGolden) {
		t.Fatalf("encode:\n got %s\nwant %s", got, pendingGolden)
	}
	if got := (&PendingTransactionList{}).Encode(); string(got) != `{"brokerName":"","now":0,"total":0,"transactions":[]}` {
		t.Fatalf("empty list: %s", got)
	}
	for _, bad := range []string{"", "[]", "null", `{"total":"x"}`} {
		if _, err := DecodePendingTransactionList([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

// FuzzPendingTransactionList: decoding never panics, and what decodes re-encodes to
// bytes that decode to the same value.
func FuzzPendingTransactionList(f *testing.F) {
	f.Add(pendingGolden)
	f.Add([]byte(`{"transactions":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodePendingTransactionList(b)
		if err != nil {
			return
		}
		back, err := DecodePendingTransactionList(l.Encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(l, back) {
			t.Fatalf("round trip: %+v → %+v", l, back)
		}
	})
}
