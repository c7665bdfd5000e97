package msgtype

import (
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

func TestOfMessageAndCheck(t *testing.T) {
	cases := []struct {
		props map[string]string
		want  Type
	}{
		{map[string]string{}, Normal},
		{map[string]string{message.PropTranMsg: "true", message.PropDelay: "3"}, Transaction},
		{map[string]string{message.PropDelay: "3", PropShardingKey: "k"}, Delay},
		{map[string]string{message.PropTimerDelayMS: "10"}, Delay},
		{map[string]string{PropShardingKey: "k"}, FIFO},
	}
	for _, c := range cases {
		if got := OfMessage(c.props); got != c.want {
			t.Fatalf("%v: %s, want %s", c.props, got, c.want)
		}
	}
	if err := Check(FIFO, FIFO); err != nil {
		t.Fatal(err)
	}
	if err := Check(Mixed, Delay); err != nil {
		t.Fatal(err)
	}
	if err := Check(Normal, FIFO); err == nil || err.Error() != "TopicMessageType validate failed, the expected type is NORMAL, but actual type is FIFO" {
		t.Fatalf("normal topic, FIFO message: %v", err)
	}
	if err := Check(Mixed, Unspecified); err == nil {
		t.Fatal("UNSPECIFIED message accepted")
	}
	if tp, err := ParseAttribute(map[string]string{"message.type": "fifo"}); err != nil || tp != FIFO {
		t.Fatalf("parse: %s %v", tp, err)
	}
	if tp, err := ParseAttribute(nil); err != nil || tp != Normal {
		t.Fatalf("default: %s %v", tp, err)
	}
	if _, err := ParseAttribute(map[string]string{"message.type": "QUEUE"}); err == nil {
		t.Fatal("unknown type accepted")
	}
}
