package header

import (
	"reflect"
	"testing"
)

// popCases are the POP headers with a sample each.
func popCases() []struct {
	name   string
	new    func() Header
	sample Header
} {
	return []struct {
		name   string
		new    func() Header
		sample Header
	}{
		{"PopMessageRequest", func() Header { return new(PopMessageRequest) }, &PopMessageRequest{
			ConsumerGroup: "g", Topic: "T", QueueID: -1, MaxMsgNums: 32, InvisibleTime: 60000, PollTime: 20000,
			BornTime: 1700000000000, InitMode: 1, ExpType: "TAG", Exp: "a || b", Order: true, AttemptID: "x-1"}},
		{"PopMessageResponse", func() Header { return new(PopMessageResponse) }, &PopMessageResponse{
			PopTime: 1700000000000, InvisibleTime: 60000, ReviveQid: 999, RestNum: 7,
			StartOffsetInfo: "0 1 5", MsgOffsetInfo: "0 1 5,6", OrderCountInfo: "0 qo1%5 0;0 qo1%6 2"}},
		{"AckMessageRequest", func() Header { return new(AckMessageRequest) }, &AckMessageRequest{
			ConsumerGroup: "g", Topic: "T", QueueID: 1, ExtraInfo: "5 1700000000000 60000 0 0 broker-a 1 6", Offset: 6}},
		{"ChangeInvisibleTimeRequest", func() Header { return new(ChangeInvisibleTimeRequest) }, &ChangeInvisibleTimeRequest{
			ConsumerGroup: "g", Topic: "T", QueueID: 1, ExtraInfo: "5 1700000000000 60000 0 0 broker-a 1 6", Offset: 6, InvisibleTime: 1000}},
		{"ChangeInvisibleTimeResponse", func() Header { return new(ChangeInvisibleTimeResponse) }, &ChangeInvisibleTimeResponse{
			PopTime: 1700000000001, InvisibleTime: 1000, ReviveQid: 0}},
	}
}

func TestPopHeadersRoundTrip(t *testing.T) {
	for _, tc := range popCases() {
		enc := tc.sample.Encode()
		got := tc.new()
		if err := got.Decode(enc); err != nil {
			t.Fatalf("%s: decode %q: %v", tc.name, enc, err)
		}
		if !reflect.DeepEqual(got, tc.sample) {
			t.Fatalf("%s: round trip %+v → %+v", tc.name, tc.sample, got)
		}
	}
	// A POP_MESSAGE request without its required invisibleTime names the key.
	var p PopMessageRequest
	err := p.Decode(map[string]string{"consumerGroup": "g", "topic": "T", "queueId": "0", "maxMsgNums": "1",
		"pollTime": "0", "bornTime": "0", "initMode": "0"})
	if err == nil || err.Error() != `header: missing required key "invisibleTime"` {
		t.Fatalf("missing invisibleTime: %v", err)
	}
}

// FuzzPopHeaderDecode decodes an arbitrary map through every POP header: no panic, an
// error is a *KeyError, and what decodes round-trips stably.
func FuzzPopHeaderDecode(f *testing.F) {
	for _, tc := range popCases() {
		f.Add(mapToBytes(tc.sample.Encode()))
	}
	f.Add([]byte("queueId=-2147483649\norder=maybe\n"))
	cases := popCases()
	f.Fuzz(func(t *testing.T, data []byte) {
		ext := mapFromBytes(data)
		for _, tc := range cases {
			h1 := tc.new()
			if err := h1.Decode(ext); err != nil {
				checkDecodeError(t, tc.name, err)
				continue
			}
			enc1 := h1.Encode()
			h2 := tc.new()
			if err := h2.Decode(enc1); err != nil || !reflect.DeepEqual(h1, h2) {
				t.Fatalf("%s: round trip %+v → %+v (%v)", tc.name, h1, h2, err)
			}
			if enc2 := h2.Encode(); !reflect.DeepEqual(enc1, enc2) {
				t.Fatalf("%s: encoding not stable: %q → %q", tc.name, enc1, enc2)
			}
		}
	})
}
