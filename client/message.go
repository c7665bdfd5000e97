package client

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unsafe"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/message"
)

// Property keys a user may want to set or read (MessageConst.java); the message
// package has the full list.
const (
	PropertyTags        = message.PropTags
	PropertyKeys        = message.PropKeys
	PropertyUniqKey     = message.PropUniqKey
	PropertyDelayLevel  = message.PropDelay
	PropertyShardingKey = "SHARDING_KEY"
	PropertyRetryTopic  = message.PropRetryTopic
)

// MaxInflatedBody bounds the size a compressed message body may inflate to when
// consumed: a hostile or corrupt body cannot make the client allocate more.
const MaxInflatedBody = 64 << 20

// MessageQueue names one queue: a topic's queue on one broker.
type MessageQueue = body.MessageQueue

// Message is what a producer sends. Tags, keys, the delay level and any other
// property live in Properties; the With* methods set them and return the message, so a
// message can be built in one expression:
//
//	msg := client.NewMessage("orders", payload).WithTags("paid").WithKeys(orderID)
//
// A consumed message's properties stay encoded as the broker stored them until something
// changes them (docs/architecture.md §9): read them with Property, Tags, Keys and the
// like, or all at once with MessageExt.Properties; Properties (the field) is then nil.
// The With* methods first move them into the field, which from then on holds them all.
type Message struct {
	Topic      string
	Body       []byte
	Flag       int32 // the user's int32, stored and delivered as is
	Properties map[string]string
	stored     storedProps // a consumed message's properties, until moved into Properties
}

// NewMessage returns a message of topic carrying body.
func NewMessage(topic string, body []byte) *Message {
	return &Message{Topic: topic, Body: body}
}

// WithProperty sets a property and returns m. An empty value removes the key: neither
// RocketMQ parser keeps empty values.
func (m *Message) WithProperty(key, value string) *Message {
	m.materialize()
	if value == "" {
		delete(m.Properties, key)
		return m
	}
	if m.Properties == nil {
		m.Properties = make(map[string]string, 4)
	}
	m.Properties[key] = value
	return m
}

// Property returns a property, "" when absent.
func (m *Message) Property(key string) string {
	if m.Properties == nil && m.stored.set() {
		return m.stored.get(key)
	}
	return m.Properties[key]
}

// WithTags sets the tag consumers filter on and returns m.
func (m *Message) WithTags(tags string) *Message { return m.WithProperty(PropertyTags, tags) }

// Tags returns the tag, "" when none.
func (m *Message) Tags() string { return m.Property(PropertyTags) }

// WithKeys sets the business keys (indexed by the broker for QueryMessageByKey) and
// returns m. Keys must not contain spaces: the KEYS property is space separated.
func (m *Message) WithKeys(keys ...string) *Message {
	return m.WithProperty(PropertyKeys, strings.Join(keys, message.KeySeparator))
}

// Keys returns the business keys, nil when none.
func (m *Message) Keys() []string {
	if k := m.Property(PropertyKeys); k != "" {
		return strings.Fields(k)
	}
	return nil
}

// WithDelayLevel asks the broker to deliver the message after delay level l (1 = 1 s,
// 2 = 5 s, ... 18 = 2 h; docs/protocol.md §8). Level 0 removes the delay.
func (m *Message) WithDelayLevel(l int) *Message {
	if l <= 0 {
		return m.WithProperty(PropertyDelayLevel, "")
	}
	return m.WithProperty(PropertyDelayLevel, strconv.Itoa(l))
}

// DelayLevel returns the delay level, 0 when none.
func (m *Message) DelayLevel() int {
	l, _ := strconv.Atoi(m.Property(PropertyDelayLevel))
	return l
}

// WithShardingKey sets the key the SelectByShardingKey selector hashes to pick the
// queue, so messages with one key stay in order on one queue. Returns m.
func (m *Message) WithShardingKey(key string) *Message {
	return m.WithProperty(PropertyShardingKey, key)
}

// ShardingKey returns the sharding key, "" when none.
func (m *Message) ShardingKey() string { return m.Property(PropertyShardingKey) }

// String describes the message without its body.
func (m *Message) String() string {
	return fmt.Sprintf("Message{topic=%s, flag=%d, properties=%v, body=%d bytes}", m.Topic, m.Flag, m.propertyMap(), len(m.Body))
}

// MessageExt is a stored message as consumers receive it: the message plus where and
// when it was stored.
type MessageExt struct {
	Message
	// MsgID is the client unique id (UNIQ_KEY) when the producer set one, otherwise
	// OffsetMsgID — the id the official clients show.
	MsgID string
	// OffsetMsgID is the broker id of the record: store host and commitlog offset.
	OffsetMsgID string
	// Queue is the queue the message was consumed from; consumers fill BrokerName.
	Queue                     MessageQueue
	QueueOffset               int64 // logical offset in the queue
	CommitLogOffset           int64 // physical offset in the broker's CommitLog
	SysFlag                   int32
	BornTimestamp             int64 // ms since the epoch, producer clock
	BornHost                  netip.AddrPort
	StoreTimestamp            int64 // ms since the epoch, broker clock
	StoreHost                 netip.AddrPort
	ReconsumeTimes            int32
	PreparedTransactionOffset int64
	BodyCRC                   uint32
	StoreSize                 int32 // record size in the CommitLog
}

// String describes the message without its body.
func (m *MessageExt) String() string {
	return fmt.Sprintf("MessageExt{topic=%s, queue=%d, offset=%d, msgId=%s, properties=%v, body=%d bytes}",
		m.Topic, m.Queue.QueueID, m.QueueOffset, m.MsgID, m.propertyMap(), len(m.Body))
}

// DecodeMessages decodes a run of v1 CommitLog records (a PULL_MESSAGE body, a
// QUERY_MESSAGE or VIEW_MESSAGE_BY_ID body, a CHECK_TRANSACTION_STATE body) into
// messages, inflating compressed bodies (sysflag bit 0) up to MaxInflatedBody. A record
// that fails to decode ends the run: the messages before it are returned with an error
// wrapping ErrBadResponse. A body that fails to inflate is kept as stored, as the
// official client does. Bad input never panics.
//
// The messages are views over b, which must not be modified afterwards: each body (when
// not compressed) and every property key and value share b's memory, and the messages
// of one run are allocated together. No property map is built (see Message): a pull
// answer of 500 records thus costs a handful of allocations in all.
func DecodeMessages(b []byte) ([]*MessageExt, error) {
	n := countRecords(b)
	slab := make([]MessageExt, n)
	out := make([]*MessageExt, 0, n)
	ids := make([]byte, 0, n*message.OffsetMsgIDLenV4)
	topic := ""
	for off := 0; off < len(b); {
		v, size, err := message.ParseView(b[off:])
		if err != nil {
			return out, fmt.Errorf("%w: record at offset %d: %w", ErrBadResponse, off, err)
		}
		var m *MessageExt
		if len(out) < len(slab) {
			m = &slab[len(out)]
		} else {
			m = new(MessageExt)
		}
		// Records of one run nearly always share their topic: one string for all.
		if tb := v.TopicBytes(); string(tb) != topic {
			topic = string(tb)
		}
		idStart := len(ids)
		ids = v.AppendOffsetMsgID(ids)
		fillMessage(m, &v, topic, bytesString(ids[idStart:]))
		out = append(out, m)
		off += size
	}
	return out, nil
}

// countRecords counts the records of a run by their TOTALSIZE fields, stopping at the
// first that cannot be a record; the decode that follows reports it.
func countRecords(b []byte) int {
	n := 0
	for off := 0; len(b)-off >= message.FixedOverheadV4; n++ {
		size := message.RecordTotalSize(b[off:])
		if size < message.FixedOverheadV4 || size > len(b)-off {
			break
		}
		off += size
	}
	return n
}

// fillMessage sets m from a parsed record: the body (inflated when compressed), the
// properties kept encoded (storedProps), the ids as given.
func fillMessage(m *MessageExt, v *message.View, topic, offsetID string) {
	*m = MessageExt{
		Message: Message{
			Topic:  topic,
			Body:   v.Body(),
			Flag:   v.Flag(),
			stored: storedProps{raw: bytesString(v.RawProperties())},
		},
		OffsetMsgID:               offsetID,
		Queue:                     MessageQueue{Topic: topic, QueueID: v.QueueID()},
		QueueOffset:               v.QueueOffset(),
		CommitLogOffset:           v.PhysicalOffset(),
		SysFlag:                   v.SysFlag(),
		BornTimestamp:             v.BornTimestamp(),
		BornHost:                  v.BornHost(),
		StoreTimestamp:            v.StoreTimestamp(),
		StoreHost:                 v.StoreHost(),
		ReconsumeTimes:            v.ReconsumeTimes(),
		PreparedTransactionOffset: v.PreparedTransactionOffset(),
		BodyCRC:                   v.BodyCRC(),
		StoreSize:                 int32(v.Size()),
	}
	if m.SysFlag&message.FlagCompressed != 0 {
		if inflated, err := message.Decompress(m.Body, MaxInflatedBody); err == nil {
			m.Body = inflated
		}
	}
	m.MsgID = m.stored.get(message.PropUniqKey)
	if m.MsgID == "" {
		m.MsgID = offsetID
	}
}

// bytesString returns b as a string without copying; b must never change afterwards.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// errEmptyBody is the cause of ErrInvalidMessage for a message without body.
var errEmptyBody = errors.New("empty body")
