package body

import (
	"reflect"
	"testing"
)

var timerGolden = []byte(`{"brokerName":"broker-a","more":true,"now":1700000000000,"timers":[{"commitLogOffset":4096,` +
	`"topic":"Orders","queueId":2,"msgId":"0A00000100002A9F0000000000000001","offsetMsgId":"7F00000100002A9F0000000000001000",` +
	`"tags":"TagA","keys":"k1 k2","storeTimestamp":1699999990000,"deliverTimestamp":1700000060000,"delayLevel":0,"bodySize":5}]}`)

func TestTimerMessageListGolden(t *testing.T) {
	l, err := DecodeTimerMessageList(timerGolden)
	if err != nil {
		t.Fatal(err)
	}
	want := &TimerMessageList{BrokerName: "broker-a", More: true, Now: 1700000000000, Timers: []TimerMessage{{
		CommitLogOffset: 4096, Topic: "Orders", QueueID: 2, MsgID: "0A00000100002A9F0000000000000001",
		OffsetMsgID: "7F00000100002A9F0000000000001000", Tags: "TagA", Keys: "k1 k2",
		StoreTimestamp: 1699999990000, DeliverTimestamp: 1700000060000, BodySize: 5,
	}}}
	if !reflect.DeepEqual(l, want) {
		t.Fatalf("got %+v\nwant %+v", l, want)
	}
	if got := l.Encode(); string(got) != string(timerGolden) {
		t.Fatalf("encode:\n got %s\nwant %s", got, timerGolden)
	}
	if got := (&TimerMessageList{}).Encode(); string(got) != `{"brokerName":"","more":false,"now":0,"timers":[]}` {
		t.Fatalf("empty list encodes as %s", got)
	}
}

func FuzzDecodeTimerMessageList(f *testing.F) {
	f.Add(timerGolden)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"timers":null}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeTimerMessageList(b)
		if err != nil {
			return
		}
		if _, err := DecodeTimerMessageList(l.Encode()); err != nil {
			t.Fatalf("re-decode of an encoded list: %v", err)
		}
	})
}
