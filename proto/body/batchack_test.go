package body

import (
	"errors"
	"reflect"
	"testing"
)

func TestBatchAckBody(t *testing.T) {
	// As Java's client writes it: short names, BitSet.toByteArray in base64. Bits 0, 2
	// and 9 set: bytes 0x05 0x02.
	java := `{"acks":[{"b":"BQI=","c":"g","it":60000,"pt":1700000000000,"q":1,"r":"0","rq":0,"so":100,"t":"T"}],"brokerName":"broker-a"}`
	r, err := DecodeBatchAckMessageRequest([]byte(java))
	if err != nil {
		t.Fatal(err)
	}
	a := r.Acks[0]
	if r.BrokerName != "broker-a" || a.ConsumerGroup != "g" || a.Topic != "T" || a.QueueID != 1 || a.PopTime != 1700000000000 ||
		a.InvisibleTime != 60000 || !reflect.DeepEqual(a.Offsets(), []int64{100, 102, 109}) {
		t.Fatalf("decoded %+v offsets %v", r, a.Offsets())
	}
	// The alternate long names.
	long := `{"brokerName":"b","acks":[{"consumerGroup":"g","topic":"T","retry":"0","startOffset":7,"queueId":2,"reviveQueueId":999,"popTime":5,"invisibleTime":6,"bitSet":"AQ=="}]}`
	r2, err := DecodeBatchAckMessageRequest([]byte(long))
	if err != nil || r2.Acks[0].ReviveQueueID != 999 || !reflect.DeepEqual(r2.Acks[0].Offsets(), []int64{7}) {
		t.Fatalf("long names: %+v %v", r2, err)
	}
	var b BatchAck
	b.SetOffsets(100, []int64{100, 102, 109})
	if !reflect.DeepEqual(b.Bits, []byte{0x05, 0x02}) {
		t.Fatalf("bits %x", b.Bits)
	}
	back, err := DecodeBatchAckMessageRequest(r.Encode())
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip %+v → %+v (%v)", r, back, err)
	}
	for _, bad := range []string{"{", `{"acks":{}}`, `{"acks":[{"b":"!!"}]}`, `{"acks":[1]}`} {
		if _, err := DecodeBatchAckMessageRequest([]byte(bad)); !errors.Is(err, ErrBadBatchAckBody) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}

// FuzzDecodeBatchAck: no panic; what decodes encodes to a body that decodes the same.
func FuzzDecodeBatchAck(f *testing.F) {
	f.Add([]byte(`{"acks":[{"b":"BQI=","c":"g","it":60000,"pt":1,"q":1,"r":"0","rq":0,"so":100,"t":"T"}],"brokerName":"b"}`))
	f.Add([]byte(`{"acks":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeBatchAckMessageRequest(b)
		if err != nil {
			return
		}
		back, err := DecodeBatchAckMessageRequest(r.Encode())
		if err != nil || len(back.Acks) != len(r.Acks) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range r.Acks {
			if !reflect.DeepEqual(back.Acks[i].Offsets(), r.Acks[i].Offsets()) {
				t.Fatalf("ack %d offsets changed", i)
			}
		}
	})
}
