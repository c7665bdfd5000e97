package body

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// This file holds the bodies of the broker administration requests 220–223, 315, 317
// and 321, in the JSON shapes Java's fastjson writes (common/protocol/body of
// apache/rocketmq 4.9): fields in alphabetical order, null fields left out, and maps
// keyed by MessageQueue written with the queue object as the key (see TopicStatsTable).

// ErrBadAdminBody marks a ResetOffsetBody, GetConsumerStatusBody, ConsumeStatsList,
// BrokerStatsData or QueryConsumeQueueResponseBody that does not parse. It wraps
// ErrMalformed.
var ErrBadAdminBody = fmt.Errorf("%w admin body", ErrMalformed)

// ResetOffsetBody is the body of RESET_CONSUMER_CLIENT_OFFSET (220, broker → consumer)
// and of the INVOKE_BROKER_TO_RESET_OFFSET (222) answer — ResetOffsetBody.java:
//
//	{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5}}
//
// The official Go client v2.1.2 reads exactly this form (its parseFastJsonFormat).
type ResetOffsetBody struct {
	OffsetTable map[MessageQueue]int64
}

// Encode returns the fastjson form of r, queues in MessageQueue order.
func (r *ResetOffsetBody) Encode() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"offsetTable":`)
	writeMQTable(&buf, r.OffsetTable)
	buf.WriteByte('}')
	return buf.Bytes()
}

// DecodeResetOffsetBody parses a ResetOffsetBody in fastjson or gson form.
func DecodeResetOffsetBody(b []byte) (*ResetOffsetBody, error) {
	r := &ResetOffsetBody{OffsetTable: map[MessageQueue]int64{}}
	err := decodeAdminObject(b, func(name string, val []byte) error {
		if name != "offsetTable" {
			return nil
		}
		return decodeMQOffsets(val, r.OffsetTable)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// GetConsumerStatusBody is the answer of GET_CONSUMER_STATUS_FROM_CLIENT (221, one
// client's messageQueueTable) and of INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, every
// client's table in consumerTable, by client id) — GetConsumerStatusBody.java:
//
//	{"consumerTable":{"10.0.0.5@1":{{"brokerName":"b","queueId":0,"topic":"T"}:5}},"messageQueueTable":{}}
type GetConsumerStatusBody struct {
	MessageQueueTable map[MessageQueue]int64
	ConsumerTable     map[string]map[MessageQueue]int64
}

// Encode returns the fastjson form of g, client ids and queues sorted.
func (g *GetConsumerStatusBody) Encode() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"consumerTable":{`)
	ids := make([]string, 0, len(g.ConsumerTable))
	for id := range g.ConsumerTable {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(encodeJSONValue(id))
		buf.WriteByte(':')
		writeMQTable(&buf, g.ConsumerTable[id])
	}
	buf.WriteString(`},"messageQueueTable":`)
	writeMQTable(&buf, g.MessageQueueTable)
	buf.WriteByte('}')
	return buf.Bytes()
}

// DecodeGetConsumerStatusBody parses a GetConsumerStatusBody; the Go client's answer to
// 221 (only messageQueueTable) is one.
func DecodeGetConsumerStatusBody(b []byte) (*GetConsumerStatusBody, error) {
	g := &GetConsumerStatusBody{MessageQueueTable: map[MessageQueue]int64{}, ConsumerTable: map[string]map[MessageQueue]int64{}}
	err := decodeAdminObject(b, func(name string, val []byte) error {
		switch name {
		case "messageQueueTable":
			return decodeMQOffsets(val, g.MessageQueueTable)
		case "consumerTable":
			if bytes.Equal(bytes.TrimSpace(val), []byte("null")) {
				return nil
			}
			return forEachLenientMember(val, func(key, raw []byte) error {
				id, err := lenientMemberName(key)
				if err != nil {
					return err
				}
				t := map[MessageQueue]int64{}
				g.ConsumerTable[id] = t
				return decodeMQOffsets(raw, t)
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ConsumeStatsList answers GET_BROKER_CONSUME_STATS (317) — ConsumeStatsList.java: one
// map per subscription group holding that group's ConsumeStats, one per topic, and the
// broker's total lag.
//
//	{"brokerAddr":"10.0.0.1:10911","consumeStatsList":[{"g1":[{"consumeTps":0.0,"offsetTable":{...}}]}],"totalDiff":4}
type ConsumeStatsList struct {
	BrokerAddr string
	List       []GroupConsumeStats
	TotalDiff  int64
}

// GroupConsumeStats is one element of ConsumeStatsList: a group and its per-topic stats.
type GroupConsumeStats struct {
	Group string
	Stats []*ConsumeStats
}

// Encode returns the fastjson form of c, groups in the order given.
func (c *ConsumeStatsList) Encode() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"brokerAddr":`)
	buf.Write(encodeJSONValue(c.BrokerAddr))
	buf.WriteString(`,"consumeStatsList":[`)
	for i, g := range c.List {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('{')
		buf.Write(encodeJSONValue(g.Group))
		buf.WriteString(`:[`)
		for j, s := range g.Stats {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.Write(s.Encode())
		}
		buf.WriteString(`]}`)
	}
	buf.WriteString(`],"totalDiff":`)
	buf.WriteString(strconv.FormatInt(c.TotalDiff, 10))
	buf.WriteByte('}')
	return buf.Bytes()
}

// DecodeConsumeStatsList parses a ConsumeStatsList body.
func DecodeConsumeStatsList(b []byte) (*ConsumeStatsList, error) {
	c := &ConsumeStatsList{}
	err := decodeAdminObject(b, func(name string, val []byte) error {
		switch name {
		case "brokerAddr":
			return json.Unmarshal(val, &c.BrokerAddr)
		case "totalDiff":
			return json.Unmarshal(val, &c.TotalDiff)
		case "consumeStatsList":
			return forEachLenientElement(val, func(elem []byte) error {
				return forEachLenientMember(elem, func(key, raw []byte) error {
					group, err := lenientMemberName(key)
					if err != nil {
						return err
					}
					g := GroupConsumeStats{Group: group}
					err = forEachLenientElement(raw, func(s []byte) error {
						cs, err := DecodeConsumeStats(s)
						if err != nil {
							return err
						}
						g.Stats = append(g.Stats, cs)
						return nil
					})
					c.List = append(c.List, g)
					return err
				})
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// BrokerStatsItem is one window of a statistic — BrokerStatsItem.java: the sum over the
// window, its rate per second and the average per call.
type BrokerStatsItem struct {
	Avgpt float64 `json:"avgpt"`
	Sum   int64   `json:"sum"`
	Tps   float64 `json:"tps"`
}

// BrokerStatsData answers VIEW_BROKER_STATS_DATA (315) — BrokerStatsData.java.
type BrokerStatsData struct {
	StatsDay    BrokerStatsItem `json:"statsDay"`
	StatsHour   BrokerStatsItem `json:"statsHour"`
	StatsMinute BrokerStatsItem `json:"statsMinute"`
}

// Encode returns the JSON of d.
func (d *BrokerStatsData) Encode() []byte { return encodeJSONValue(d) }

// DecodeBrokerStatsData parses a BrokerStatsData body.
func DecodeBrokerStatsData(b []byte) (*BrokerStatsData, error) {
	var d BrokerStatsData
	if err := checkBodySize(b, ErrBadAdminBody); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAdminBody, err)
	}
	return &d, nil
}

// ConsumeQueueData is one ConsumeQueue unit as QUERY_CONSUME_QUEUE reports it —
// ConsumeQueueData.java. rocketgo keeps no ConsumeQueue extension, so the extension
// fields (extendDataJson, bitMap, msg) are never set and eval is false.
type ConsumeQueueData struct {
	BitMap         string `json:"bitMap,omitempty"`
	Eval           bool   `json:"eval"`
	ExtendDataJSON string `json:"extendDataJson,omitempty"`
	Msg            string `json:"msg,omitempty"`
	PhysicOffset   int64  `json:"physicOffset"`
	PhysicSize     int32  `json:"physicSize"`
	TagsCode       int64  `json:"tagsCode"`
}

// QueryConsumeQueueResponseBody answers QUERY_CONSUME_QUEUE (321) —
// QueryConsumeQueueResponseBody.java. FilterData and SubscriptionData are set only when
// the request named a consumer group.
type QueryConsumeQueueResponseBody struct {
	FilterData       string             `json:"filterData,omitempty"`
	MaxQueueIndex    int64              `json:"maxQueueIndex"`
	MinQueueIndex    int64              `json:"minQueueIndex"`
	QueueData        []ConsumeQueueData `json:"queueData"`
	SubscriptionData *SubscriptionData  `json:"subscriptionData,omitempty"`
}

// Encode returns the JSON of q; no units is an empty queueData list.
func (q *QueryConsumeQueueResponseBody) Encode() []byte {
	c := *q
	if c.QueueData == nil {
		c.QueueData = []ConsumeQueueData{}
	}
	return encodeJSONValue(c)
}

// DecodeQueryConsumeQueueResponseBody parses a QueryConsumeQueueResponseBody.
func DecodeQueryConsumeQueueResponseBody(b []byte) (*QueryConsumeQueueResponseBody, error) {
	var q QueryConsumeQueueResponseBody
	if err := checkBodySize(b, ErrBadAdminBody); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAdminBody, err)
	}
	return &q, nil
}

// decodeAdminObject bounds b and walks its top-level members by name, wrapping any
// failure in ErrBadAdminBody.
func decodeAdminObject(b []byte, fn func(name string, val []byte) error) error {
	if err := checkBodySize(b, ErrBadAdminBody); err != nil {
		return err
	}
	err := forEachLenientMember(b, func(key, val []byte) error {
		name, err := lenientMemberName(key)
		if err != nil {
			return err
		}
		if err := fn(name, val); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadAdminBody, err)
	}
	return nil
}

// decodeMQOffsets reads a MessageQueue → offset table into dst.
func decodeMQOffsets(val []byte, dst map[MessageQueue]int64) error {
	return decodeMQTable(val, func(q MessageQueue, raw []byte) error {
		var off int64
		if err := json.Unmarshal(raw, &off); err != nil {
			return fmt.Errorf("%s: %v", q, err)
		}
		dst[q] = off
		return nil
	})
}

// forEachLenientElement calls fn with each raw element of the array in b, whose elements
// may hold fastjson's object keys. null is an empty array.
func forEachLenientElement(b []byte, fn func(elem []byte) error) error {
	i := skipJSONSpace(b, 0)
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	if i >= len(b) || b[i] != '[' {
		return errors.New("want an array")
	}
	i = skipJSONSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return onlySpaceAfter(b, i+1)
	}
	for {
		if i >= len(b) {
			return errors.New("array not closed")
		}
		n, err := scanLenientValue(b[i:])
		if err != nil {
			return fmt.Errorf("element at %d: %v", i, err)
		}
		if err := fn(b[i : i+n]); err != nil {
			return err
		}
		i = skipJSONSpace(b, i+n)
		if i >= len(b) {
			return errors.New("array not closed")
		}
		switch b[i] {
		case ',':
			i = skipJSONSpace(b, i+1)
		case ']':
			return onlySpaceAfter(b, i+1)
		default:
			return fmt.Errorf("want ',' or ']' at %d", i)
		}
	}
}
