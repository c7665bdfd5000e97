package body

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// ErrBadConnectionBody marks a consumer-list or connection-list body that does not
// parse. It wraps ErrMalformed.
var ErrBadConnectionBody = fmt.Errorf("%w connection body", ErrMalformed)

// GetConsumerListByGroupResponseBody answers GET_CONSUMER_LIST_BY_GROUP (38): the exact
// client ids of the group's live members. The Go client allocates queues over this list,
// so the ids must be the heartbeat clientID strings verbatim.
type GetConsumerListByGroupResponseBody struct {
	ConsumerIDList []string `json:"consumerIdList"`
}

// Encode returns the JSON of r; an empty list is written as [].
func (r *GetConsumerListByGroupResponseBody) Encode() []byte {
	return encodeJSONValue(GetConsumerListByGroupResponseBody{ConsumerIDList: emptyIfNil(r.ConsumerIDList)})
}

// DecodeConsumerList parses a GET_CONSUMER_LIST_BY_GROUP body; an empty body is an empty
// list, as the clients treat it.
func DecodeConsumerList(b []byte) (*GetConsumerListByGroupResponseBody, error) {
	var r GetConsumerListByGroupResponseBody
	if err := checkBodySize(b, ErrBadConnectionBody); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return &r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConnectionBody, err)
	}
	return &r, nil
}

// Connection is one live client connection of a group (Connection.java). Language is the
// LanguageCode name of the client ("GO", "JAVA", ...) and Version its MQVersion ordinal.
type Connection struct {
	ClientID   string `json:"clientId"`
	ClientAddr string `json:"clientAddr"`
	Language   string `json:"language"`
	Version    int32  `json:"version"`
}

// SortConnections orders connections by client id, then address, so encoded sets are
// deterministic.
func SortConnections(cs []Connection) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].ClientID != cs[j].ClientID {
			return cs[i].ClientID < cs[j].ClientID
		}
		return cs[i].ClientAddr < cs[j].ClientAddr
	})
}

// ConsumerConnection answers GET_CONSUMER_CONNECTION_LIST (203): the group's connections,
// its subscriptions keyed by topic, and the group-wide consume settings.
type ConsumerConnection struct {
	ConnectionSet     []Connection                `json:"connectionSet"`
	SubscriptionTable map[string]SubscriptionData `json:"subscriptionTable"`
	ConsumeType       string                      `json:"consumeType"`
	MessageModel      string                      `json:"messageModel"`
	ConsumeFromWhere  string                      `json:"consumeFromWhere"`
}

// Encode returns the JSON of c, connections sorted, empty collections written as [] / {}.
func (c *ConsumerConnection) Encode() []byte {
	p := *c
	p.ConnectionSet = append([]Connection{}, c.ConnectionSet...)
	SortConnections(p.ConnectionSet)
	if p.SubscriptionTable == nil {
		p.SubscriptionTable = map[string]SubscriptionData{}
	}
	return encodeJSONValue(p)
}

// DecodeConsumerConnection parses a GET_CONSUMER_CONNECTION_LIST body.
func DecodeConsumerConnection(b []byte) (*ConsumerConnection, error) {
	var c ConsumerConnection
	if err := checkBodySize(b, ErrBadConnectionBody); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConnectionBody, err)
	}
	return &c, nil
}

// ProducerConnection answers GET_PRODUCER_CONNECTION_LIST (204): the live connections of
// one producer group.
type ProducerConnection struct {
	ConnectionSet []Connection `json:"connectionSet"`
}

// Encode returns the JSON of p, connections sorted, an empty set written as [].
func (p *ProducerConnection) Encode() []byte {
	q := ProducerConnection{ConnectionSet: append([]Connection{}, p.ConnectionSet...)}
	SortConnections(q.ConnectionSet)
	return encodeJSONValue(q)
}

// DecodeProducerConnection parses a GET_PRODUCER_CONNECTION_LIST body.
func DecodeProducerConnection(b []byte) (*ProducerConnection, error) {
	var p ProducerConnection
	if err := checkBodySize(b, ErrBadConnectionBody); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConnectionBody, err)
	}
	return &p, nil
}
