package body

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// MaxBatchAcks bounds the entries of one BATCH_ACK_MESSAGE body, and MaxBatchAckBits the
// offsets one entry's bit set may name: a client acks what one pop returned (at most 32
// messages per queue), so the bounds only keep a hostile body from costing much.
const (
	MaxBatchAcks    = 1024
	MaxBatchAckBits = 1 << 16
)

// ErrBadBatchAckBody marks a BATCH_ACK_MESSAGE body that cannot be used. It wraps
// ErrMalformed.
var ErrBadBatchAckBody = fmt.Errorf("%w batch ack body", ErrMalformed)

// BatchAckMessageRequestBody is the body of BATCH_ACK_MESSAGE (200151)
// (BatchAckMessageRequestBody.java): the acks of one client to one broker.
type BatchAckMessageRequestBody struct {
	BrokerName string     `json:"brokerName"`
	Acks       []BatchAck `json:"acks"`
}

// BatchAck acknowledges several messages of one pop of one queue (BatchAck.java). Java
// writes the short names; the long ones are its alternate names and are read too.
// Offsets are StartOffset + i for every set bit i of Bits.
type BatchAck struct {
	ConsumerGroup string // "c" / "consumerGroup"
	Topic         string // "t" / "topic": the topic the consumer popped
	Retry         string // "r" / "retry": "0" normal topic, "1" or "2" the POP retry topic
	StartOffset   int64  // "so" / "startOffset"
	QueueID       int32  // "q" / "queueId"
	ReviveQueueID int32  // "rq" / "reviveQueueId": 999 for a FIFO pop
	PopTime       int64  // "pt" / "popTime"
	InvisibleTime int64  // "it" / "invisibleTime"
	// Bits is java.util.BitSet.toByteArray: bit i is bit i%8 of byte i/8. On the wire
	// it is a base64 string (fastjson's byte[]).
	Bits []byte // "b" / "bitSet"
}

// batchAckJSON carries both spellings of every field.
type batchAckJSON struct {
	C  *string `json:"c,omitempty"`
	T  *string `json:"t,omitempty"`
	R  *string `json:"r,omitempty"`
	SO *int64  `json:"so,omitempty"`
	Q  *int32  `json:"q,omitempty"`
	RQ *int32  `json:"rq,omitempty"`
	PT *int64  `json:"pt,omitempty"`
	IT *int64  `json:"it,omitempty"`
	B  *string `json:"b,omitempty"`

	ConsumerGroup *string `json:"consumerGroup,omitempty"`
	Topic         *string `json:"topic,omitempty"`
	Retry         *string `json:"retry,omitempty"`
	StartOffset   *int64  `json:"startOffset,omitempty"`
	QueueID       *int32  `json:"queueId,omitempty"`
	ReviveQueueID *int32  `json:"reviveQueueId,omitempty"`
	PopTime       *int64  `json:"popTime,omitempty"`
	InvisibleTime *int64  `json:"invisibleTime,omitempty"`
	BitSet        *string `json:"bitSet,omitempty"`
}

func pick[T any](short, long *T) T {
	if short != nil {
		return *short
	}
	if long != nil {
		return *long
	}
	var zero T
	return zero
}

// Offsets returns the acknowledged queue offsets in ascending order.
func (a *BatchAck) Offsets() []int64 {
	var out []int64
	for i, b := range a.Bits {
		for j := 0; j < 8; j++ {
			if b&(1<<j) != 0 {
				out = append(out, a.StartOffset+int64(i*8+j))
			}
		}
	}
	return out
}

// SetOffsets sets StartOffset and Bits to name offsets, which must not be below start.
func (a *BatchAck) SetOffsets(start int64, offsets []int64) {
	a.StartOffset, a.Bits = start, nil
	for _, o := range offsets {
		i := int(o - start)
		for len(a.Bits) <= i/8 {
			a.Bits = append(a.Bits, 0)
		}
		a.Bits[i/8] |= 1 << (i % 8)
	}
}

// Encode returns the JSON Java's client writes (short names, bit set in base64).
func (r *BatchAckMessageRequestBody) Encode() []byte {
	type out struct {
		BrokerName string         `json:"brokerName"`
		Acks       []batchAckJSON `json:"acks"`
	}
	o := out{BrokerName: r.BrokerName, Acks: make([]batchAckJSON, len(r.Acks))}
	for i := range r.Acks {
		a := &r.Acks[i]
		b := base64.StdEncoding.EncodeToString(a.Bits)
		o.Acks[i] = batchAckJSON{C: &a.ConsumerGroup, T: &a.Topic, R: &a.Retry, SO: &a.StartOffset, Q: &a.QueueID,
			RQ: &a.ReviveQueueID, PT: &a.PopTime, IT: &a.InvisibleTime, B: &b}
	}
	return encodeJSONValue(o)
}

// DecodeBatchAckMessageRequest parses a BATCH_ACK_MESSAGE body. It refuses a body that
// is not JSON of that shape, has more than MaxBatchAcks entries, or a bit set longer
// than MaxBatchAckBits bits, with ErrBadBatchAckBody.
func DecodeBatchAckMessageRequest(b []byte) (*BatchAckMessageRequestBody, error) {
	var in struct {
		BrokerName string          `json:"brokerName"`
		Acks       json.RawMessage `json:"acks"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBatchAckBody, err)
	}
	var raw []json.RawMessage
	if len(in.Acks) > 0 && string(in.Acks) != "null" {
		if err := json.Unmarshal(in.Acks, &raw); err != nil {
			return nil, fmt.Errorf("%w: acks: %v", ErrBadBatchAckBody, err)
		}
	}
	if len(raw) > MaxBatchAcks {
		return nil, fmt.Errorf("%w: %d acks, at most %d", ErrBadBatchAckBody, len(raw), MaxBatchAcks)
	}
	r := &BatchAckMessageRequestBody{BrokerName: in.BrokerName, Acks: make([]BatchAck, 0, len(raw))}
	for i, m := range raw {
		var j batchAckJSON
		if err := json.Unmarshal(m, &j); err != nil {
			return nil, fmt.Errorf("%w: ack %d: %v", ErrBadBatchAckBody, i, err)
		}
		bits, err := base64.StdEncoding.DecodeString(pick(j.B, j.BitSet))
		if err != nil {
			return nil, fmt.Errorf("%w: ack %d: bit set is not base64: %v", ErrBadBatchAckBody, i, err)
		}
		if len(bits)*8 > MaxBatchAckBits {
			return nil, fmt.Errorf("%w: ack %d: bit set of %d bits, at most %d", ErrBadBatchAckBody, i, len(bits)*8, MaxBatchAckBits)
		}
		r.Acks = append(r.Acks, BatchAck{
			ConsumerGroup: pick(j.C, j.ConsumerGroup), Topic: pick(j.T, j.Topic), Retry: pick(j.R, j.Retry),
			StartOffset: pick(j.SO, j.StartOffset), QueueID: pick(j.Q, j.QueueID), ReviveQueueID: pick(j.RQ, j.ReviveQueueID),
			PopTime: pick(j.PT, j.PopTime), InvisibleTime: pick(j.IT, j.InvisibleTime), Bits: bits,
		})
	}
	return r, nil
}
