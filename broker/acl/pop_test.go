package acl

import (
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
)

// TestPopCodesNeedSub: the four POP codes need SUB on the topic and on the group, as
// their Apache headers declare (@RocketMQAction(action = SUB)).
func TestPopCodesNeedSub(t *testing.T) {
	r, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	ba := func(group, topic string) []byte {
		return (&body.BatchAckMessageRequestBody{BrokerName: "b", Acks: []body.BatchAck{{ConsumerGroup: group, Topic: topic, Retry: "0"}}}).Encode()
	}
	cases := []struct {
		name string
		code int32
		ext  map[string]string
		body []byte
		want string
	}{
		{"pop, SUB topic and default group", code.PopMessage, map[string]string{"topic": "topicC", "consumerGroup": "g9"}, nil, ""},
		{"pop, DENY group", code.PopMessage, map[string]string{"topic": "topicC", "consumerGroup": "groupA"}, nil, "no SUB permission on group=groupA"},
		{"ack, DENY topic", code.AckMessage, map[string]string{"topic": "topicA", "consumerGroup": "g9"}, nil, "topic=topicA"},
		{"change, DENY group", code.ChangeMessageInvisibleTime, map[string]string{"topic": "topicC", "consumerGroup": "groupA"}, nil, "group=groupA"},
		{"batch ack allowed", code.BatchAckMessage, map[string]string{}, ba("g9", "topicC"), ""},
		{"batch ack, DENY topic", code.BatchAckMessage, map[string]string{}, ba("g9", "topicA"), "topic=topicA"},
		{"batch ack, bad body", code.BatchAckMessage, map[string]string{}, []byte("{"), "batch ack body does not decode"},
	}
	for _, c := range cases {
		ref := r.Check(c.code, signed("RocketMQ", "12345678", c.ext, c.body), c.body, client)
		switch {
		case c.want == "" && ref != nil:
			t.Errorf("%s: refused: %s", c.name, ref.Remark)
		case c.want != "" && (ref == nil || !strings.Contains(ref.Remark, c.want)):
			t.Errorf("%s: got %v, want a refusal containing %q", c.name, ref, c.want)
		}
	}
}
