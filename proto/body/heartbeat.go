package body

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Consume types of a consumer group (ConsumeType.java).
const (
	ConsumeActively  = "CONSUME_ACTIVELY"  // pull consumer
	ConsumePassively = "CONSUME_PASSIVELY" // push consumer
)

// Message models of a consumer group (MessageModel.java).
const (
	Clustering   = "CLUSTERING"   // queues divided among the group, offsets on the broker
	Broadcasting = "BROADCASTING" // every client reads every queue, offsets local
)

// Where a consumer group without a committed offset starts (ConsumeFromWhere.java).
const (
	ConsumeFromLastOffset  = "CONSUME_FROM_LAST_OFFSET"
	ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET"
	ConsumeFromTimestamp   = "CONSUME_FROM_TIMESTAMP"
)

// ExpressionTag is the only subscription expression type rocketgo filters by; "SQL92"
// subscriptions are registered but not evaluated.
const ExpressionTag = "TAG"

// SubAll is the subscription expression that matches every message.
const SubAll = "*"

// Limits applied by DecodeHeartbeat. A heartbeat is a handful of groups and topics; the
// bounds only stop a hostile body from making the broker hold an unbounded registry.
const (
	MaxHeartbeatGroups = 4096  // producer plus consumer groups in one heartbeat
	MaxSubscriptions   = 4096  // topics of one consumer group
	MaxTagsPerSub      = 65536 // tags (and codes) of one subscription
)

// ErrBadHeartbeat marks a HEART_BEAT body that is not a valid HeartbeatData. It wraps
// ErrMalformed.
var ErrBadHeartbeat = fmt.Errorf("%w heartbeat", ErrMalformed)

// HeartbeatData is the body of HEART_BEAT (34): the client's id and every producer and
// consumer group it runs (docs/protocol.md §9.7).
type HeartbeatData struct {
	ClientID        string         `json:"clientID"`
	ProducerDataSet []ProducerData `json:"producerDataSet"`
	ConsumerDataSet []ConsumerData `json:"consumerDataSet"`
}

// ProducerData names one producer group of a heartbeating client.
type ProducerData struct {
	GroupName string `json:"groupName"`
}

// ConsumerData describes one consumer group of a heartbeating client.
type ConsumerData struct {
	GroupName           string             `json:"groupName"`
	ConsumeType         string             `json:"consumeType"`
	MessageModel        string             `json:"messageModel"`
	ConsumeFromWhere    string             `json:"consumeFromWhere"`
	SubscriptionDataSet []SubscriptionData `json:"subscriptionDataSet"`
	UnitMode            bool               `json:"unitMode"`
}

// SubscriptionData is one topic subscription of a consumer group. SubVersion is
// nanoseconds from the Go client and milliseconds from Java clients; only its order
// matters.
type SubscriptionData struct {
	ClassFilterMode bool     `json:"classFilterMode"`
	Topic           string   `json:"topic"`
	SubString       string   `json:"subString"`
	TagsSet         []string `json:"tagsSet"`
	CodeSet         CodeSet  `json:"codeSet"`
	SubVersion      int64    `json:"subVersion"`
	ExpressionType  string   `json:"expressionType"`
}

// CodeSet holds the tag hash codes of a subscription as decimal strings. The Go client
// sends strings ("3552231"), Java clients numbers; both decode, and it encodes as strings,
// which Java's fastjson reads back into its Set<Integer>.
type CodeSet []string

// UnmarshalJSON accepts an array of strings or integers, or null.
func (c *CodeSet) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*c = nil
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("codeSet: %w", err)
	}
	out := make(CodeSet, 0, len(raw))
	for _, r := range raw {
		var s string
		if len(r) > 0 && r[0] == '"' {
			if err := json.Unmarshal(r, &s); err != nil {
				return fmt.Errorf("codeSet: %w", err)
			}
		} else {
			var n json.Number
			if err := json.Unmarshal(r, &n); err != nil {
				return fmt.Errorf("codeSet: element %s is neither a string nor a number", r)
			}
			s = n.String()
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return fmt.Errorf("codeSet: element %q is not an integer", s)
		}
		out = append(out, s)
	}
	*c = out
	return nil
}

// MarshalJSON writes the codes as strings and an empty set as [] (never null).
func (c CodeSet) MarshalJSON() ([]byte, error) {
	return json.Marshal(emptyIfNil([]string(c)))
}

// MarshalJSON writes empty sets as [] as the clients do.
func (s SubscriptionData) MarshalJSON() ([]byte, error) {
	type plain SubscriptionData
	p := plain(s)
	p.TagsSet = emptyIfNil(p.TagsSet)
	return json.Marshal(p)
}

// MarshalJSON writes an empty subscription set as [].
func (c ConsumerData) MarshalJSON() ([]byte, error) {
	type plain ConsumerData
	p := plain(c)
	if p.SubscriptionDataSet == nil {
		p.SubscriptionDataSet = []SubscriptionData{}
	}
	return json.Marshal(p)
}

// Encode returns the JSON of h; empty sets are written as [].
func (h *HeartbeatData) Encode() []byte {
	type plain HeartbeatData
	p := plain(*h)
	if p.ProducerDataSet == nil {
		p.ProducerDataSet = []ProducerData{}
	}
	if p.ConsumerDataSet == nil {
		p.ConsumerDataSet = []ConsumerData{}
	}
	return encodeJSONValue(p)
}

// DecodeHeartbeat parses a HEART_BEAT body and checks what the registry relies on: a
// client id, a name for every group, a topic for every subscription, and the size bounds
// above. Errors wrap ErrBadHeartbeat and name the problem.
func DecodeHeartbeat(b []byte) (*HeartbeatData, error) {
	if err := checkBodySize(b, ErrBadHeartbeat); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadHeartbeat)
	}
	var h HeartbeatData
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHeartbeat, err)
	}
	if h.ClientID == "" {
		return nil, fmt.Errorf("%w: clientID missing", ErrBadHeartbeat)
	}
	if n := len(h.ProducerDataSet) + len(h.ConsumerDataSet); n > MaxHeartbeatGroups {
		return nil, fmt.Errorf("%w: %d groups, at most %d", ErrBadHeartbeat, n, MaxHeartbeatGroups)
	}
	for i, p := range h.ProducerDataSet {
		if p.GroupName == "" {
			return nil, fmt.Errorf("%w: producerDataSet[%d] has no groupName", ErrBadHeartbeat, i)
		}
	}
	for i, c := range h.ConsumerDataSet {
		if c.GroupName == "" {
			return nil, fmt.Errorf("%w: consumerDataSet[%d] has no groupName", ErrBadHeartbeat, i)
		}
		if len(c.SubscriptionDataSet) > MaxSubscriptions {
			return nil, fmt.Errorf("%w: group %s has %d subscriptions, at most %d",
				ErrBadHeartbeat, c.GroupName, len(c.SubscriptionDataSet), MaxSubscriptions)
		}
		for j, s := range c.SubscriptionDataSet {
			if s.Topic == "" {
				return nil, fmt.Errorf("%w: group %s subscriptionDataSet[%d] has no topic",
					ErrBadHeartbeat, c.GroupName, j)
			}
			if len(s.TagsSet) > MaxTagsPerSub || len(s.CodeSet) > MaxTagsPerSub {
				return nil, fmt.Errorf("%w: group %s topic %s has too many tags",
					ErrBadHeartbeat, c.GroupName, s.Topic)
			}
		}
	}
	return &h, nil
}

// CheckClientRequestBody is the body of CHECK_CLIENT_CONFIG (46): a client asks whether
// the broker can filter by its subscription's expression type.
type CheckClientRequestBody struct {
	ClientID         string            `json:"clientId"`
	Group            string            `json:"group"`
	SubscriptionData *SubscriptionData `json:"subscriptionData"`
}

// DecodeCheckClientRequest parses a CHECK_CLIENT_CONFIG body.
func DecodeCheckClientRequest(b []byte) (*CheckClientRequestBody, error) {
	if err := checkBodySize(b, ErrBadHeartbeat); err != nil {
		return nil, err
	}
	var r CheckClientRequestBody
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: check client body: %v", ErrMalformed, err)
	}
	return &r, nil
}

// Clone returns a deep copy of s, so a registry can keep it while the caller reuses s.
func (s *SubscriptionData) Clone() *SubscriptionData {
	c := *s
	c.TagsSet = append([]string(nil), s.TagsSet...)
	c.CodeSet = append(CodeSet(nil), s.CodeSet...)
	return &c
}

// Equal reports whether s and o describe the same subscription, sets compared in order.
func (s *SubscriptionData) Equal(o *SubscriptionData) bool {
	if s.ClassFilterMode != o.ClassFilterMode || s.Topic != o.Topic || s.SubString != o.SubString ||
		s.SubVersion != o.SubVersion || s.ExpressionType != o.ExpressionType ||
		len(s.TagsSet) != len(o.TagsSet) || len(s.CodeSet) != len(o.CodeSet) {
		return false
	}
	for i := range s.TagsSet {
		if s.TagsSet[i] != o.TagsSet[i] {
			return false
		}
	}
	for i := range s.CodeSet {
		if s.CodeSet[i] != o.CodeSet[i] {
			return false
		}
	}
	return true
}

// checkBodySize refuses a body above MaxBodyBytes before any parsing, wrapping both the
// body kind's sentinel and ErrTooLarge.
func checkBodySize(b []byte, kind error) error {
	if len(b) > MaxBodyBytes {
		return fmt.Errorf("%w: %w: %d bytes, limit %d", kind, ErrTooLarge, len(b), MaxBodyBytes)
	}
	return nil
}

// emptyIfNil turns a nil slice into an empty one so it encodes as [].
func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// encodeJSONValue marshals values whose types cannot fail to encode (no channels, funcs, or
// non-finite floats reach here); a failure is a programming error.
func encodeJSONValue(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("body: marshal " + fmt.Sprintf("%T", v) + ": " + err.Error())
	}
	return b
}
