// Package msgtype is RocketMQ 5's topic message type: the `message.type` topic
// attribute (TopicAttributes.TOPIC_MESSAGE_TYPE_ATTRIBUTE: UNSPECIFIED, NORMAL, FIFO,
// DELAY, TRANSACTION, MIXED; default NORMAL) and the check that a message fits its
// topic (TopicMessageType.parseFromMessageProperty, DefaultTopicMessageTypeValidator).
//
// Where Apache checks: only its proxy, on the gRPC send path, when
// enableTopicMessageTypeCheck is on (the default). Apache's broker never checks on
// the remoting send path (SendMessageProcessor uses the type for metrics only), so
// rocketgo's remoting send does not either; the gRPC endpoint calls Check (docs/pop.md §6).
package msgtype

import (
	"fmt"
	"strings"

	"github.com/rocketgo/rocketgo/proto/message"
)

// Attribute is the topic attribute key.
const Attribute = "message.type"

// Type is a topic message type.
type Type string

// The types, with Apache's names.
const (
	Unspecified Type = "UNSPECIFIED"
	Normal      Type = "NORMAL"
	FIFO        Type = "FIFO"
	Delay       Type = "DELAY"
	Transaction Type = "TRANSACTION"
	Mixed       Type = "MIXED"
)

// PropShardingKey is the property that makes a message FIFO (__SHARDINGKEY, the
// message group of a 5.x client).
const PropShardingKey = "__SHARDINGKEY"

// ParseAttribute reads a topic's message.type attribute: absent is NORMAL (the
// attribute's default); an unknown value is an error naming it.
func ParseAttribute(attrs map[string]string) (Type, error) {
	v, ok := attrs[Attribute]
	if !ok || v == "" {
		return Normal, nil
	}
	switch t := Type(strings.ToUpper(v)); t {
	case Unspecified, Normal, FIFO, Delay, Transaction, Mixed:
		return t, nil
	}
	return "", fmt.Errorf("topic attribute %s=%q: want one of UNSPECIFIED, NORMAL, FIFO, DELAY, TRANSACTION, MIXED", Attribute, v)
}

// OfMessage is the type a message's properties make it, in Apache's order: TRAN_MSG
// "true" is TRANSACTION; a delay level or timer property DELAY; a sharding key FIFO;
// otherwise NORMAL.
func OfMessage(props map[string]string) Type {
	switch {
	case props[message.PropTranMsg] == "true":
		return Transaction
	case props[message.PropDelay] != "", props[message.PropTimerDeliverMS] != "",
		props[message.PropTimerDelaySec] != "", props[message.PropTimerDelayMS] != "":
		return Delay
	case props[PropShardingKey] != "":
		return FIFO
	}
	return Normal
}

// Check refuses a message whose type does not match its topic's, as
// DefaultTopicMessageTypeValidator does (MESSAGE_PROPERTY_CONFLICT_WITH_TYPE): a MIXED
// topic takes every type, an UNSPECIFIED message type is never accepted.
func Check(topic Type, msg Type) error {
	if msg == Unspecified || (msg != topic && topic != Mixed) {
		return fmt.Errorf("TopicMessageType validate failed, the expected type is %s, but actual type is %s", topic, msg)
	}
	return nil
}
