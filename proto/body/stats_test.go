package body

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestConsumeStatsJavaForm(t *testing.T) {
	golden := readGolden(t, "consume_stats_java.json")
	c, err := DecodeConsumeStats(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := &ConsumeStats{ConsumeTps: 1.5, OffsetTable: map[MessageQueue]OffsetWrapper{
		{Topic: "T", BrokerName: "broker-a", QueueID: 0}: {BrokerOffset: 9, ConsumerOffset: 4, LastTimestamp: 1690000000000},
		{Topic: "T", BrokerName: "broker-a", QueueID: 1}: {BrokerOffset: 7, ConsumerOffset: 7, LastTimestamp: 1690000000500},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decode: got %+v, want %+v", c, want)
	}
	if d := c.TotalDiff(); d != 5 {
		t.Fatalf("TotalDiff: got %d, want 5", d)
	}
	if got := c.Encode(); !bytes.Equal(got, golden) {
		t.Fatalf("encode:\n got %s\nwant %s", got, golden)
	}
}

func TestTopicStatsJavaForm(t *testing.T) {
	golden := readGolden(t, "topic_stats_java.json")
	s, err := DecodeTopicStatsTable(golden)
	if err != nil {
		t.Fatal(err)
	}
	q0 := MessageQueue{Topic: "T", BrokerName: "broker-a", QueueID: 0}
	if len(s.OffsetTable) != 2 || s.OffsetTable[q0] != (TopicOffset{LastUpdateTimestamp: 1690000000000, MaxOffset: 9}) {
		t.Fatalf("decode: got %+v", s.OffsetTable)
	}
	if got := s.Encode(); !bytes.Equal(got, golden) {
		t.Fatalf("encode:\n got %s\nwant %s", got, golden)
	}
}

func TestStatsOtherKeyForms(t *testing.T) {
	want := map[MessageQueue]OffsetWrapper{{Topic: "T", BrokerName: "b", QueueID: 3}: {BrokerOffset: 5, ConsumerOffset: 2}}
	for _, body := range []string{
		// gson: array of pairs
		`{"offsetTable":[[{"topic":"T","brokerName":"b","queueId":3},{"brokerOffset":5,"consumerOffset":2}]],"consumeTps":0}`,
		// standard JSON: the key is a string holding the queue's JSON
		`{"offsetTable":{"{\"topic\":\"T\",\"brokerName\":\"b\",\"queueId\":3}":{"brokerOffset":5,"consumerOffset":2}}}`,
		// whitespace everywhere, unknown members
		" {\n \"extra\" : [1,{\"a\":\"}\"}] , \"offsetTable\" : { { \"topic\" : \"T\" , \"brokerName\":\"b\",\"queueId\":3 } : {\"brokerOffset\":5,\"consumerOffset\":2} } } \n",
	} {
		c, err := DecodeConsumeStats([]byte(body))
		if err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if !reflect.DeepEqual(c.OffsetTable, want) {
			t.Fatalf("decode %s: got %+v, want %+v", body, c.OffsetTable, want)
		}
	}
}

func TestStatsEmpty(t *testing.T) {
	if got := string((&ConsumeStats{}).Encode()); got != `{"consumeTps":0,"offsetTable":{}}` {
		t.Fatalf("empty consume stats: got %s", got)
	}
	if got := string((&TopicStatsTable{}).Encode()); got != `{"offsetTable":{}}` {
		t.Fatalf("empty topic stats: got %s", got)
	}
	for _, body := range []string{`{}`, `{"offsetTable":{}}`, `{"offsetTable":null}`} {
		c, err := DecodeConsumeStats([]byte(body))
		if err != nil || len(c.OffsetTable) != 0 {
			t.Fatalf("decode %s: got %+v, %v", body, c, err)
		}
	}
}

func TestStatsDecodeErrors(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{`, `{"offsetTable":{`, `{"offsetTable":{{"topic":"T"}}}`,
		`{"offsetTable":{{"topic":"T"}:{"brokerOffset":"x"}}}`,
		`{"offsetTable":{{"topic":"T"]:1}}`, `{"offsetTable":{}} x`, `{"offsetTable" 1}`,
		`{"offsetTable":{5:{}}}`, `{{"a":1}:1}`, `{"consumeTps":"fast"}`,
		`{"offsetTable":[[{"topic":"T"}]]}`,
		`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		`{"x":"unterminated}`,
	} {
		if _, err := DecodeConsumeStats([]byte(body)); !errors.Is(err, ErrBadStatsBody) {
			t.Fatalf("decode %q: got %v, want ErrBadStatsBody", body, err)
		}
	}
}

func TestKVTable(t *testing.T) {
	kv := &KVTable{Table: map[string]string{"b": "2", "a": "1"}}
	b := kv.Encode()
	if want := `{"table":{"a":"1","b":"2"}}`; string(b) != want {
		t.Fatalf("encode: got %s, want %s", b, want)
	}
	back, err := DecodeKVTable(b)
	if err != nil || !reflect.DeepEqual(back, kv) {
		t.Fatalf("decode: got %+v, %v", back, err)
	}
	if got := string((&KVTable{}).Encode()); got != `{"table":{}}` {
		t.Fatalf("empty encode: got %s", got)
	}
	if _, err := DecodeKVTable([]byte(`{"table":{"a":1}}`)); !errors.Is(err, ErrBadStatsBody) {
		t.Fatalf("numeric value: got %v", err)
	}
}

func FuzzDecodeConsumeStats(f *testing.F) {
	f.Add(readGolden(f, "consume_stats_java.json"))
	f.Add([]byte(`{"offsetTable":[[{"topic":"T","brokerName":"b","queueId":3},{"brokerOffset":5}]],"consumeTps":0}`))
	f.Add([]byte(`{"offsetTable":{"{\"topic\":\"T\",\"queueId\":3}":{"consumerOffset":2}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeConsumeStats(b)
		if err != nil {
			return
		}
		enc := c.Encode()
		c2, err := DecodeConsumeStats(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip of %s:\n%+v\n%+v", enc, c, c2)
		}
	})
}

func FuzzDecodeTopicStats(f *testing.F) {
	f.Add(readGolden(f, "topic_stats_java.json"))
	f.Add([]byte(`{"offsetTable":{}}`))
	f.Add([]byte(`{"offsetTable":[[{"topic":"T","brokerName":"b","queueId":3},{"maxOffset":5}]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeTopicStatsTable(b)
		if err != nil {
			return
		}
		enc := s.Encode()
		s2, err := DecodeTopicStatsTable(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip of %s:\n%+v\n%+v", enc, s, s2)
		}
	})
}

func BenchmarkConsumeStatsRoundTrip(b *testing.B) {
	c := &ConsumeStats{ConsumeTps: 12.5, OffsetTable: map[MessageQueue]OffsetWrapper{}}
	for q := range int32(16) {
		c.OffsetTable[MessageQueue{Topic: "TopicTest", BrokerName: "broker-a", QueueID: q}] =
			OffsetWrapper{BrokerOffset: 100000 + int64(q), ConsumerOffset: 99000, LastTimestamp: 1690000000000}
	}
	enc := c.Encode()
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := DecodeConsumeStats(c.Encode()); err != nil {
			b.Fatal(err)
		}
	}
}
