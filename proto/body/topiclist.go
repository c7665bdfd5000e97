package body

import (
	"fmt"

	"github.com/rocketgo/rocketgo/internal/jsonstr"
)

// TopicList is the body of GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206) and
// GET_TOPICS_BY_CLUSTER (224): {"topicList":["A","B"]}. BrokerAddr is only set by
// the system-topic query; its key is left out when empty, as fastjson leaves out
// null.
type TopicList struct {
	TopicList  []string `json:"topicList"`
	BrokerAddr string   `json:"brokerAddr"`
}

// Encode returns the list as compact JSON, topics in the order given (Java's is a
// hash set, so readers must not rely on order; the namesrv sorts).
func (l *TopicList) Encode() []byte {
	dst := make([]byte, 0, 32+24*len(l.TopicList))
	dst = append(dst, '{')
	if l.BrokerAddr != "" {
		dst = append(dst, `"brokerAddr":`...)
		dst = jsonstr.Append(dst, l.BrokerAddr)
		dst = append(dst, ',')
	}
	dst = append(dst, `"topicList":`...)
	dst = appendStringList(dst, l.TopicList)
	return append(dst, '}')
}

// DecodeTopicList parses a topic list body; the list is never nil.
func DecodeTopicList(data []byte) (*TopicList, error) {
	l := new(TopicList)
	if err := decodeJSONObject(data, l); err != nil {
		return nil, fmt.Errorf("topic list: %w", err)
	}
	if l.TopicList == nil {
		l.TopicList = []string{}
	}
	return l, nil
}
