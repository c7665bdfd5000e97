package body

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// goLockRequest is what the Go client's jsoniter writes for LOCK_BATCH_MQ.
const goLockRequest = `{"consumerGroup":"g","clientId":"10.0.0.5@123","mqSet":[{"topic":"t","brokerName":"b","queueId":0},{"topic":"t","brokerName":"b","queueId":3}]}`

func TestDecodeLockBatchRequest(t *testing.T) {
	r, err := DecodeLockBatchRequest([]byte(goLockRequest))
	if err != nil {
		t.Fatal(err)
	}
	want := &LockBatchRequestBody{ConsumerGroup: "g", ClientID: "10.0.0.5@123", MQSet: []MessageQueue{
		{Topic: "t", BrokerName: "b", QueueID: 0}, {Topic: "t", BrokerName: "b", QueueID: 3}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("decode: got %+v, want %+v", r, want)
	}
	if got := string(r.Encode()); got != goLockRequest {
		t.Fatalf("encode:\n got %s\nwant %s", got, goLockRequest)
	}
}

func TestDecodeLockBatchRequestDedup(t *testing.T) {
	r, err := DecodeLockBatchRequest([]byte(`{"consumerGroup":"g","clientId":"c","mqSet":[{"topic":"t","brokerName":"b","queueId":1},{"topic":"t","brokerName":"b","queueId":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.MQSet) != 1 || r.MQSet[0].QueueID != 1 {
		t.Fatalf("dedup: got %+v", r.MQSet)
	}
}

func TestDecodeLockBatchRequestErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"", "empty body"},
		{"{", "unexpected end"},
		{`{"clientId":"c"}`, "consumerGroup missing"},
		{`{"consumerGroup":"g"}`, "clientId missing"},
		{`{"consumerGroup":"g","clientId":"c","mqSet":[{"queueId":"x"}]}`, "cannot unmarshal"},
	} {
		_, err := DecodeLockBatchRequest([]byte(tc.body))
		if !errors.Is(err, ErrBadLockBody) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("decode %q: got %v, want ErrBadLockBody naming %q", tc.body, err, tc.want)
		}
	}
}

func TestLockBatchResponse(t *testing.T) {
	r := &LockBatchResponseBody{LockOKMQSet: []MessageQueue{{Topic: "t", BrokerName: "b", QueueID: 2}, {Topic: "a", BrokerName: "b", QueueID: 9}}}
	want := `{"lockOKMQSet":[{"topic":"a","brokerName":"b","queueId":9},{"topic":"t","brokerName":"b","queueId":2}]}`
	if got := string(r.Encode()); got != want {
		t.Fatalf("encode:\n got %s\nwant %s", got, want)
	}
	if got := string((&LockBatchResponseBody{}).Encode()); got != `{"lockOKMQSet":[]}` {
		t.Fatalf("empty encode: got %s", got)
	}
	back, err := DecodeLockBatchResponse([]byte(want))
	if err != nil || len(back.LockOKMQSet) != 2 || back.LockOKMQSet[0].Topic != "a" {
		t.Fatalf("decode: got %+v, %v", back, err)
	}
	if e, err := DecodeLockBatchResponse(nil); err != nil || len(e.LockOKMQSet) != 0 {
		t.Fatalf("empty decode: got %+v, %v", e, err)
	}
}

func TestMessageQueueOrder(t *testing.T) {
	qs := []MessageQueue{{"b", "x", 1}, {"a", "y", 0}, {"a", "x", 2}, {"a", "x", 1}}
	SortQueues(qs)
	want := []MessageQueue{{"a", "x", 1}, {"a", "x", 2}, {"a", "y", 0}, {"b", "x", 1}}
	if !reflect.DeepEqual(qs, want) {
		t.Fatalf("sort: got %v, want %v", qs, want)
	}
	if s := want[0].String(); s != "MessageQueue [topic=a, brokerName=x, queueId=1]" {
		t.Fatalf("String: got %q", s)
	}
}

func FuzzDecodeLockBatch(f *testing.F) {
	f.Add([]byte(goLockRequest))
	f.Add([]byte(`{"consumerGroup":"g","clientId":"c","mqSet":[]}`))
	f.Add([]byte(`{"consumerGroup":"g","clientId":"c","mqSet":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeLockBatchRequest(b)
		if err != nil {
			return
		}
		enc := r.Encode()
		r2, err := DecodeLockBatchRequest(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if enc2 := r2.Encode(); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip:\n%s\n%s", enc, enc2)
		}
		resp := (&LockBatchResponseBody{LockOKMQSet: r.MQSet}).Encode()
		back, err := DecodeLockBatchResponse(resp)
		if err != nil || len(back.LockOKMQSet) != len(r.MQSet) {
			t.Fatalf("response round trip of %s: %+v, %v", resp, back, err)
		}
	})
}
