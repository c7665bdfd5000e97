package body

import (
	"errors"
	"reflect"
	"testing"
)

// TestAdminBodiesRoundTrip: each body decodes back from its own encoding, and the
// MessageQueue-keyed tables are in fastjson's form (ResetOffsetBody.java,
// GetConsumerStatusBody.java, ConsumeStatsList.java).
func TestAdminBodiesRoundTrip(t *testing.T) {
	q0 := MessageQueue{Topic: "T", BrokerName: "b", QueueID: 0}
	q1 := MessageQueue{Topic: "T", BrokerName: "b", QueueID: 1}
	r := &ResetOffsetBody{OffsetTable: map[MessageQueue]int64{q1: 7, q0: 5}}
	const wantReset = `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}}`
	if got := string(r.Encode()); got != wantReset {
		t.Fatalf("reset body %s", got)
	}
	if back, err := DecodeResetOffsetBody([]byte(wantReset)); err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("reset decode: %+v %v", back, err)
	}
	// gson's form, as some Java builds write it.
	if back, err := DecodeResetOffsetBody([]byte(`{"offsetTable":[[{"topic":"T","brokerName":"b","queueId":1},7]]}`)); err != nil || back.OffsetTable[q1] != 7 {
		t.Fatalf("gson reset decode: %+v %v", back, err)
	}
	g := &GetConsumerStatusBody{MessageQueueTable: map[MessageQueue]int64{}, ConsumerTable: map[string]map[MessageQueue]int64{"c1": {q0: 3}}}
	if back, err := DecodeGetConsumerStatusBody(g.Encode()); err != nil || !reflect.DeepEqual(back, g) {
		t.Fatalf("status decode: %+v %v", back, err)
	}
	l := &ConsumeStatsList{BrokerAddr: "1.2.3.4:10911", TotalDiff: 4, List: []GroupConsumeStats{
		{Group: "g1", Stats: []*ConsumeStats{{ConsumeTps: 1.5, OffsetTable: map[MessageQueue]OffsetWrapper{q0: {BrokerOffset: 5, ConsumerOffset: 1, LastTimestamp: 9}}}}},
		{Group: "g2", Stats: nil},
	}}
	const wantList = `{"brokerAddr":"1.2.3.4:10911","consumeStatsList":[{"g1":[{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":5,"consumerOffset":1,"lastTimestamp":9}}}]},{"g2":[]}],"totalDiff":4}`
	if got := string(l.Encode()); got != wantList {
		t.Fatalf("stats list %s", got)
	}
	back, err := DecodeConsumeStatsList([]byte(wantList))
	if err != nil || back.TotalDiff != 4 || len(back.List) != 2 || back.List[0].Stats[0].OffsetTable[q0].BrokerOffset != 5 {
		t.Fatalf("stats list decode: %+v %v", back, err)
	}
	for _, bad := range []string{``, `{`, `{"offsetTable":{{"topic":"T"}:"x"}}`, `{"consumeStatsList":{}}`, `{"consumeStatsList":[1]}`, `{"consumerTable":[]}`} {
		_, e1 := DecodeResetOffsetBody([]byte(bad))
		_, e2 := DecodeConsumeStatsList([]byte(bad))
		_, e3 := DecodeGetConsumerStatusBody([]byte(bad))
		if e1 == nil && e2 == nil && e3 == nil {
			t.Errorf("%q decoded everywhere", bad)
		}
		for _, err := range []error{e1, e2, e3} {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("%q: %v is not ErrMalformed", bad, err)
			}
		}
	}
}

// FuzzAdminBodies: no admin body decoder panics or hangs on any input.
func FuzzAdminBodies(f *testing.F) {
	f.Add([]byte(`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5}}`))
	f.Add([]byte(`{"consumerTable":{"c":{{"topic":"T","brokerName":"b","queueId":0}:7}},"messageQueueTable":{}}`))
	f.Add([]byte(`{"brokerAddr":"a","consumeStatsList":[{"g":[{"consumeTps":0,"offsetTable":{}}]}],"totalDiff":1}`))
	f.Add([]byte(`{"properties":{"a":"b"},"mqTable":{{"topic":"T","brokerName":"b","queueId":0}:{"commitOffset":1}},"jstack":""}`))
	f.Add([]byte(`{"statsMinute":{"sum":1,"tps":0.1,"avgpt":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeResetOffsetBody(b)
		_, _ = DecodeGetConsumerStatusBody(b)
		_, _ = DecodeConsumeStatsList(b)
		_, _ = DecodeConsumerRunningInfo(b)
		_, _ = DecodeBrokerStatsData(b)
		_, _ = DecodeQueryConsumeQueueResponseBody(b)
	})
}
