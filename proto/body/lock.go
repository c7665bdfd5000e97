package body

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// MaxLockBatch bounds the queues of one LOCK_BATCH_MQ or UNLOCK_BATCH_MQ body. A consumer
// locks the queues it was assigned on one broker, a few dozen; the bound keeps a hostile
// body from growing the lease table without limit.
const MaxLockBatch = 8192

// ErrBadLockBody marks a LOCK_BATCH_MQ / UNLOCK_BATCH_MQ body that cannot be used. It
// wraps ErrMalformed.
var ErrBadLockBody = fmt.Errorf("%w lock batch body", ErrMalformed)

// MessageQueue names one queue of a topic on one broker (MessageQueue.java). Its JSON
// field names are the ones both the Java and the Go clients use.
type MessageQueue struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
}

// String gives the Java toString form, used in logs and remarks.
func (q MessageQueue) String() string {
	return fmt.Sprintf("MessageQueue [topic=%s, brokerName=%s, queueId=%d]", q.Topic, q.BrokerName, q.QueueID)
}

// Less orders queues by topic, broker name, then queue id (MessageQueue.compareTo).
func (q MessageQueue) Less(o MessageQueue) bool {
	if q.Topic != o.Topic {
		return q.Topic < o.Topic
	}
	if q.BrokerName != o.BrokerName {
		return q.BrokerName < o.BrokerName
	}
	return q.QueueID < o.QueueID
}

// SortQueues sorts qs in MessageQueue order, so encoded sets are deterministic.
func SortQueues(qs []MessageQueue) {
	sort.Slice(qs, func(i, j int) bool { return qs[i].Less(qs[j]) })
}

// LockBatchRequestBody is the body of LOCK_BATCH_MQ (41): the client asks to lease every
// queue of MQSet for its consumer group.
type LockBatchRequestBody struct {
	ConsumerGroup string         `json:"consumerGroup"`
	ClientID      string         `json:"clientId"`
	MQSet         []MessageQueue `json:"mqSet"`
}

// UnlockBatchRequestBody is the body of UNLOCK_BATCH_MQ (42): the same fields as the lock
// request; the client releases the queues it holds.
type UnlockBatchRequestBody LockBatchRequestBody

// LockBatchResponseBody answers LOCK_BATCH_MQ with the queues the client now holds.
type LockBatchResponseBody struct {
	LockOKMQSet []MessageQueue `json:"lockOKMQSet"`
}

// Encode returns the JSON of r; an empty set is written as [].
func (r *LockBatchRequestBody) Encode() []byte {
	p := *r
	if p.MQSet == nil {
		p.MQSet = []MessageQueue{}
	}
	return encodeJSONValue(p)
}

// Encode returns the JSON of r; an empty set is written as [].
func (r *UnlockBatchRequestBody) Encode() []byte {
	return (*LockBatchRequestBody)(r).Encode()
}

// Encode returns the JSON of r, queues sorted, an empty set written as [].
func (r *LockBatchResponseBody) Encode() []byte {
	p := LockBatchResponseBody{LockOKMQSet: append([]MessageQueue{}, r.LockOKMQSet...)}
	SortQueues(p.LockOKMQSet)
	return encodeJSONValue(p)
}

// DecodeLockBatchRequest parses a LOCK_BATCH_MQ body. The group and the client id must be
// present, and the set is bounded by MaxLockBatch. Duplicate queues are kept once.
func DecodeLockBatchRequest(b []byte) (*LockBatchRequestBody, error) {
	if err := checkBodySize(b, ErrBadLockBody); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadLockBody)
	}
	var r LockBatchRequestBody
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadLockBody, err)
	}
	if r.ConsumerGroup == "" {
		return nil, fmt.Errorf("%w: consumerGroup missing", ErrBadLockBody)
	}
	if r.ClientID == "" {
		return nil, fmt.Errorf("%w: clientId missing", ErrBadLockBody)
	}
	if len(r.MQSet) > MaxLockBatch {
		return nil, fmt.Errorf("%w: %d queues, at most %d", ErrBadLockBody, len(r.MQSet), MaxLockBatch)
	}
	r.MQSet = dedupQueues(r.MQSet)
	return &r, nil
}

// DecodeUnlockBatchRequest parses an UNLOCK_BATCH_MQ body with the rules of
// DecodeLockBatchRequest.
func DecodeUnlockBatchRequest(b []byte) (*UnlockBatchRequestBody, error) {
	r, err := DecodeLockBatchRequest(b)
	if err != nil {
		return nil, err
	}
	return (*UnlockBatchRequestBody)(r), nil
}

// DecodeLockBatchResponse parses a LOCK_BATCH_MQ response body; an empty body is an
// empty set, as the Go client reads it.
func DecodeLockBatchResponse(b []byte) (*LockBatchResponseBody, error) {
	var r LockBatchResponseBody
	if err := checkBodySize(b, ErrBadLockBody); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return &r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadLockBody, err)
	}
	return &r, nil
}

// dedupQueues drops repeated queues, keeping first occurrences in order: the Java
// request is a Set, so a queue listed twice is one queue.
func dedupQueues(qs []MessageQueue) []MessageQueue {
	if len(qs) < 2 {
		return qs
	}
	seen := make(map[MessageQueue]struct{}, len(qs))
	out := qs[:0]
	for _, q := range qs {
		if _, ok := seen[q]; ok {
			continue
		}
		seen[q] = struct{}{}
		out = append(out, q)
	}
	return out
}
