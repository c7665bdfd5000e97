package body

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrBadStatsBody marks a stats body (TopicStatsTable, ConsumeStats, KVTable) that does
// not parse. It wraps ErrMalformed.
var ErrBadStatsBody = fmt.Errorf("%w stats body", ErrMalformed)

// maxScanDepth bounds the nesting the lenient scanner follows. Stats bodies nest three
// levels; the bound only stops a hostile body from growing the bracket stack.
const maxScanDepth = 64

// TopicOffset is one queue's row of GET_TOPIC_STATS_INFO (TopicOffset.java). Fields are
// declared in fastjson's (alphabetical) order so the bytes match a Java broker's.
type TopicOffset struct {
	LastUpdateTimestamp int64 `json:"lastUpdateTimestamp"` // store time of the newest message, 0 if none
	MaxOffset           int64 `json:"maxOffset"`           // next logical offset
	MinOffset           int64 `json:"minOffset"`           // oldest logical offset still stored
}

// TopicStatsTable answers GET_TOPIC_STATS_INFO (202).
//
// Java writes the MessageQueue-keyed map with fastjson, whose default is an object as the
// key — not standard JSON, but what every Java tool reads (and what the Go client accepts
// for the same shape in RESET_CONSUMER_CLIENT_OFFSET):
//
//	{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":0,"maxOffset":5,"minOffset":0}}}
//
// Encode writes exactly that form; DecodeTopicStatsTable also accepts gson's
// array-of-pairs form and keys that are JSON strings holding the queue object.
type TopicStatsTable struct {
	OffsetTable map[MessageQueue]TopicOffset
}

// OffsetWrapper is one queue's row of GET_CONSUME_STATS (OffsetWrapper.java).
type OffsetWrapper struct {
	BrokerOffset   int64 `json:"brokerOffset"`   // the queue's max offset
	ConsumerOffset int64 `json:"consumerOffset"` // the group's committed offset, 0 if none
	LastTimestamp  int64 `json:"lastTimestamp"`  // store time of the last consumed message, 0 if unknown
}

// ConsumeStats answers GET_CONSUME_STATS (208); its offsetTable has the MessageQueue keys
// described at TopicStatsTable.
//
//	{"consumeTps":0.0,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":9,"consumerOffset":4,"lastTimestamp":1690000000000}}}
type ConsumeStats struct {
	OffsetTable map[MessageQueue]OffsetWrapper
	ConsumeTps  float64
}

// TotalDiff is the group's lag: the sum over queues of broker minus consumer offset.
func (c *ConsumeStats) TotalDiff() int64 {
	var d int64
	for _, w := range c.OffsetTable {
		d += w.BrokerOffset - w.ConsumerOffset
	}
	return d
}

// KVTable is a string map body, {"table":{...}}: GET_BROKER_RUNTIME_INFO (28) answers with
// one, and the namesrv's order-topic config travels in one.
type KVTable struct {
	Table map[string]string `json:"table"`
}

// Encode returns the JSON of t, keys sorted; an empty table is written as {}.
func (t *KVTable) Encode() []byte {
	p := *t
	if p.Table == nil {
		p.Table = map[string]string{}
	}
	return encodeJSONValue(p)
}

// DecodeKVTable parses a KVTable body.
func DecodeKVTable(b []byte) (*KVTable, error) {
	var t KVTable
	if err := checkBodySize(b, ErrBadStatsBody); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadStatsBody, err)
	}
	return &t, nil
}

// Encode returns the fastjson form of t, queues in MessageQueue order.
func (t *TopicStatsTable) Encode() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"offsetTable":`)
	writeMQTable(&buf, t.OffsetTable)
	buf.WriteByte('}')
	return buf.Bytes()
}

// Encode returns the fastjson form of c, queues in MessageQueue order. A non-finite tps
// (which JSON cannot carry) is written as 0.
func (c *ConsumeStats) Encode() []byte {
	var buf bytes.Buffer
	tps := c.ConsumeTps
	if math.IsNaN(tps) || math.IsInf(tps, 0) {
		tps = 0
	}
	buf.WriteString(`{"consumeTps":`)
	buf.WriteString(strconv.FormatFloat(tps, 'g', -1, 64))
	buf.WriteString(`,"offsetTable":`)
	writeMQTable(&buf, c.OffsetTable)
	buf.WriteByte('}')
	return buf.Bytes()
}

// writeMQTable writes m with object keys in the field order fastjson uses (alphabetical).
func writeMQTable[V any](buf *bytes.Buffer, m map[MessageQueue]V) {
	keys := SortedQueues(m)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"brokerName":`)
		buf.Write(encodeJSONValue(k.BrokerName))
		buf.WriteString(`,"queueId":`)
		buf.WriteString(strconv.FormatInt(int64(k.QueueID), 10))
		buf.WriteString(`,"topic":`)
		buf.Write(encodeJSONValue(k.Topic))
		buf.WriteString(`}:`)
		buf.Write(encodeJSONValue(m[k]))
	}
	buf.WriteByte('}')
}

// DecodeTopicStatsTable parses a GET_TOPIC_STATS_INFO body in any of the forms described
// at TopicStatsTable.
func DecodeTopicStatsTable(b []byte) (*TopicStatsTable, error) {
	if err := checkBodySize(b, ErrBadStatsBody); err != nil {
		return nil, err
	}
	t := &TopicStatsTable{OffsetTable: map[MessageQueue]TopicOffset{}}
	err := forEachLenientMember(b, func(key, val []byte) error {
		name, err := lenientMemberName(key)
		if err != nil || name != "offsetTable" {
			return err
		}
		return decodeMQTable(val, func(q MessageQueue, raw []byte) error {
			var o TopicOffset
			if err := json.Unmarshal(raw, &o); err != nil {
				return fmt.Errorf("%s: %v", q, err)
			}
			t.OffsetTable[q] = o
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadStatsBody, err)
	}
	return t, nil
}

// DecodeConsumeStats parses a GET_CONSUME_STATS body in any of the forms described at
// TopicStatsTable.
func DecodeConsumeStats(b []byte) (*ConsumeStats, error) {
	if err := checkBodySize(b, ErrBadStatsBody); err != nil {
		return nil, err
	}
	c := &ConsumeStats{OffsetTable: map[MessageQueue]OffsetWrapper{}}
	err := forEachLenientMember(b, func(key, val []byte) error {
		name, err := lenientMemberName(key)
		if err != nil {
			return err
		}
		switch name {
		case "consumeTps":
			if err := json.Unmarshal(val, &c.ConsumeTps); err != nil {
				return fmt.Errorf("consumeTps: %v", err)
			}
		case "offsetTable":
			return decodeMQTable(val, func(q MessageQueue, raw []byte) error {
				var w OffsetWrapper
				if err := json.Unmarshal(raw, &w); err != nil {
					return fmt.Errorf("%s: %v", q, err)
				}
				c.OffsetTable[q] = w
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadStatsBody, err)
	}
	return c, nil
}

// lenientMemberName decodes an ordinary (string) member name.
func lenientMemberName(key []byte) (string, error) {
	var s string
	if len(key) == 0 || key[0] != '"' {
		return "", fmt.Errorf("member name %.40q is not a string", key)
	}
	if err := json.Unmarshal(key, &s); err != nil {
		return "", err
	}
	return s, nil
}

// decodeMQTable walks a MessageQueue-keyed map in fastjson form (object keys), with
// string keys holding the queue's JSON, or in gson form ([[queue, value], ...]).
func decodeMQTable(val []byte, fn func(q MessageQueue, raw []byte) error) error {
	val = bytes.TrimSpace(val)
	switch {
	case bytes.Equal(val, []byte("null")):
		return nil
	case len(val) > 0 && val[0] == '[':
		var pairs [][]json.RawMessage
		if err := json.Unmarshal(val, &pairs); err != nil {
			return fmt.Errorf("offsetTable: %v", err)
		}
		for i, p := range pairs {
			if len(p) != 2 {
				return fmt.Errorf("offsetTable[%d]: want a [queue, value] pair", i)
			}
			var q MessageQueue
			if err := json.Unmarshal(p[0], &q); err != nil {
				return fmt.Errorf("offsetTable[%d] queue: %v", i, err)
			}
			if err := fn(q, p[1]); err != nil {
				return err
			}
		}
		return nil
	}
	return forEachLenientMember(val, func(key, raw []byte) error {
		var q MessageQueue
		k := key
		if key[0] == '"' {
			var s string
			if err := json.Unmarshal(key, &s); err != nil {
				return fmt.Errorf("offsetTable key: %v", err)
			}
			k = []byte(s)
		}
		if err := json.Unmarshal(k, &q); err != nil {
			return fmt.Errorf("offsetTable key %.60q: %v", key, err)
		}
		return fn(q, raw)
	})
}

// forEachLenientMember calls fn with the raw key and raw value of each member of the object in
// b. Keys may be strings or, as fastjson writes map keys that are beans, objects. Values
// are handed over unparsed. Nothing but whitespace may follow the object.
func forEachLenientMember(b []byte, fn func(key, val []byte) error) error {
	i := skipJSONSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("want an object")
	}
	i = skipJSONSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return onlySpaceAfter(b, i+1)
	}
	for {
		n, err := scanLenientValue(b[i:])
		if err != nil {
			return fmt.Errorf("member name at %d: %v", i, err)
		}
		if b[i] != '"' && b[i] != '{' {
			return fmt.Errorf("member name at %d is neither a string nor an object", i)
		}
		key := b[i : i+n]
		i = skipJSONSpace(b, i+n)
		if i >= len(b) || b[i] != ':' {
			return fmt.Errorf("want ':' at %d", i)
		}
		i = skipJSONSpace(b, i+1)
		n, err = scanLenientValue(b[i:])
		if err != nil {
			return fmt.Errorf("value at %d: %v", i, err)
		}
		if err := fn(key, b[i:i+n]); err != nil {
			return err
		}
		i = skipJSONSpace(b, i+n)
		if i >= len(b) {
			return errors.New("object not closed")
		}
		switch b[i] {
		case ',':
			i = skipJSONSpace(b, i+1)
		case '}':
			return onlySpaceAfter(b, i+1)
		default:
			return fmt.Errorf("want ',' or '}' at %d", i)
		}
	}
}

// scanLenientValue returns the length of the JSON-like value at the start of b: a string, an
// object or array (brackets matched, keys not checked), or a bare literal or number. It
// keeps its bracket stack in a bounded slice, so hostile nesting cannot recurse.
func scanLenientValue(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("unexpected end")
	}
	switch b[0] {
	case '"':
		return scanJSONString(b)
	case '{', '[':
		stack := make([]byte, 0, 8)
		for i := 0; i < len(b); i++ {
			switch c := b[i]; c {
			case '"':
				n, err := scanJSONString(b[i:])
				if err != nil {
					return 0, err
				}
				i += n - 1
			case '{', '[':
				if len(stack) >= maxScanDepth {
					return 0, errors.New("nesting too deep")
				}
				stack = append(stack, c)
			case '}', ']':
				open := byte('{')
				if c == ']' {
					open = '['
				}
				if len(stack) == 0 || stack[len(stack)-1] != open {
					return 0, fmt.Errorf("unbalanced %q at %d", c, i)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errors.New("unexpected end")
	}
	i := 0
	for i < len(b) && !bytes.ContainsRune([]byte(",:}] \t\r\n{[\""), rune(b[i])) {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("unexpected %q", b[0])
	}
	return i, nil
}

// scanJSONString returns the length of the JSON string at the start of b, quotes included.
func scanJSONString(b []byte) (int, error) {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errors.New("string not closed")
}

// skipJSONSpace returns the index of the first non-whitespace byte at or after i.
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// onlySpaceAfter checks that nothing but whitespace follows index i.
func onlySpaceAfter(b []byte, i int) error {
	if i = skipJSONSpace(b, i); i != len(b) {
		return fmt.Errorf("trailing data at %d", i)
	}
	return nil
}

// SortedQueues returns the keys of an MQ-keyed table in MessageQueue order.
func SortedQueues[V any](m map[MessageQueue]V) []MessageQueue {
	keys := make([]MessageQueue, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	SortQueues(keys)
	return keys
}
