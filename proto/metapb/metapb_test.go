package metapb

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestRoundTrip marshals one fully populated value of every message and checks that
// unmarshalling gives back an equal value, so no field is lost or renumbered by accident.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		msg  proto.Message
		zero func() proto.Message
	}{
		{"TopicConfig", &TopicConfig{
			TopicName: "TopicA", ReadQueueNums: 8, WriteQueueNums: 4, Perm: 6,
			TopicFilterType: TopicFilterType_MULTI_TAG, TopicSysFlag: 2, Order: true,
		}, func() proto.Message { return &TopicConfig{} }},
		{"SubscriptionGroup", &SubscriptionGroup{
			GroupName: "cg", ConsumeEnable: true, ConsumeFromMinEnable: true,
			ConsumeBroadcastEnable: true, RetryQueueNums: 1, RetryMaxTimes: 16,
			BrokerId: 3, WhichBrokerWhenConsumeSlowly: 1, NotifyConsumerIdsChangedEnable: true,
		}, func() proto.Message { return &SubscriptionGroup{} }},
		{"ConsumerOffset", &ConsumerOffset{Offset: 1 << 40, UpdateTimeMs: 1690000000000},
			func() proto.Message { return &ConsumerOffset{} }},
		{"StoreFormat", &StoreFormat{FormatVersion: 1, CommitlogSegmentBytes: 1 << 30, ConsumeQueueUnits: 300000},
			func() proto.Message { return &StoreFormat{} }},
		{"Checkpoint", &Checkpoint{
			FlushedOffset: 123456789,
			Applied:       map[string]int64{"consumequeue": 123456000, "index": 123000000, "timer": 0},
			TimestampMs:   1690000000123,
		}, func() proto.Message { return &Checkpoint{} }},
		{"DataVersion", &DataVersion{TimestampMs: 1690000000000, Counter: 42},
			func() proto.Message { return &DataVersion{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(tc.msg)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if len(b) == 0 {
				t.Fatalf("marshal: empty encoding of a populated %s", tc.name)
			}
			got := tc.zero()
			if err := proto.Unmarshal(b, got); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if !proto.Equal(got, tc.msg) {
				t.Fatalf("round trip: got %v, want %v", got, tc.msg)
			}
		})
	}
}

// TestFieldNumbers pins the wire numbers of a few fields: renumbering a field would make
// every stored record unreadable, and proto.Equal round trips cannot notice it.
func TestFieldNumbers(t *testing.T) {
	// TopicConfig{perm: 6} is field 4, varint: tag byte 4<<3|0 = 0x20.
	b, err := proto.Marshal(&TopicConfig{Perm: 6})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x20, 0x06}; string(b) != string(want) {
		t.Fatalf("TopicConfig{perm:6}: got % x, want % x", b, want)
	}
	// DataVersion{counter: 3} is field 2: 0x10 0x03.
	b, err = proto.Marshal(&DataVersion{Counter: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x10, 0x03}; string(b) != string(want) {
		t.Fatalf("DataVersion{counter:3}: got % x, want % x", b, want)
	}
	// ConsumerOffset{offset: 1} is field 1: 0x08 0x01.
	b, err = proto.Marshal(&ConsumerOffset{Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x08, 0x01}; string(b) != string(want) {
		t.Fatalf("ConsumerOffset{offset:1}: got % x, want % x", b, want)
	}
}

// TestFilterTypeNames checks the enum names, which the broker writes into the route and
// registration JSON where RocketMQ expects "SINGLE_TAG" / "MULTI_TAG".
func TestFilterTypeNames(t *testing.T) {
	if got := TopicFilterType_SINGLE_TAG.String(); got != "SINGLE_TAG" {
		t.Fatalf("SINGLE_TAG: got %q", got)
	}
	if got := TopicFilterType_MULTI_TAG.String(); got != "MULTI_TAG" {
		t.Fatalf("MULTI_TAG: got %q", got)
	}
	if v, ok := TopicFilterType_value["MULTI_TAG"]; !ok || v != 1 {
		t.Fatalf("TopicFilterType_value[MULTI_TAG]: got %d, %v", v, ok)
	}
}

// TestUnmarshalGarbage feeds truncated and random bytes: unmarshal must fail or succeed,
// never panic.
func TestUnmarshalGarbage(t *testing.T) {
	full, err := proto.Marshal(&Checkpoint{FlushedOffset: 99, Applied: map[string]int64{"consumequeue": 98}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(full); i++ {
		_ = proto.Unmarshal(full[:i], &Checkpoint{})
	}
	if err := proto.Unmarshal([]byte{0xff, 0xff, 0xff}, &TopicConfig{}); err == nil {
		t.Fatal("unmarshal of an invalid tag: got nil error")
	}
}
