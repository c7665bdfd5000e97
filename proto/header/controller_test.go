package header

import (
	"reflect"
	"testing"
)

// controllerHeaders are the controller request headers, each with a sample.
func controllerHeaders() []struct {
	new    func() Header
	sample Header
} {
	return []struct {
		new    func() Header
		sample Header
	}{
		{func() Header { return new(ControllerRegisterRequest) }, &ControllerRegisterRequest{ClusterName: "C", BrokerName: "b", BrokerAddr: "1.2.3.4:10911", BrokerID: 2, Epoch: 3, MaxOffset: 1 << 40, HeartbeatTimeoutMillis: 1500}},
		{func() Header { return new(ReplicaInfo) }, &ReplicaInfo{MasterAddr: "1.2.3.4:10911", MasterBrokerID: 1, MasterEpoch: 4, SyncStateSetEpoch: 7, BrokerID: 2}},
		{func() Header { return new(BrokerNameRequest) }, &BrokerNameRequest{ClusterName: "C", BrokerName: "b", BrokerAddr: "a:1", BrokerID: 3}},
		{func() Header { return new(AlterSyncStateSetRequest) }, &AlterSyncStateSetRequest{BrokerName: "b", MasterBrokerID: 1, MasterEpoch: 2}},
		{func() Header { return new(ControllerMetadata) }, &ControllerMetadata{Group: "g", ControllerLeaderID: "n0", ControllerLeaderAddress: "a:1", IsLeader: true, Peers: "n0-a:1;n1-b:2"}},
	}
}

func TestControllerHeadersRoundTrip(t *testing.T) {
	for _, c := range controllerHeaders() {
		h := c.new()
		if err := h.Decode(c.sample.Encode()); err != nil {
			t.Fatalf("%T: %v", c.sample, err)
		}
		if !reflect.DeepEqual(h, c.sample) {
			t.Fatalf("%T: %+v, want %+v", c.sample, h, c.sample)
		}
	}
	var r ControllerRegisterRequest
	if err := r.Decode(map[string]string{"brokerName": "b", "brokerAddr": "x:1"}); err != nil || r.BrokerAddr != "x:1" {
		t.Fatalf("heartbeat form: %+v %v", r, err)
	}
	if err := r.Decode(map[string]string{"brokerName": "b"}); err == nil {
		t.Fatal("no broker address accepted")
	}
}

// FuzzControllerHeaders: no panic, errors are KeyErrors, and what decodes round-trips.
func FuzzControllerHeaders(f *testing.F) {
	for _, c := range controllerHeaders() {
		f.Add(mapToBytes(c.sample.Encode()))
	}
	f.Add([]byte("brokerName=b\nepoch=99999999999\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ext := mapFromBytes(data)
		for _, c := range controllerHeaders() {
			h1 := c.new()
			if err := h1.Decode(ext); err != nil {
				checkDecodeError(t, reflect.TypeOf(h1).String(), err)
				continue
			}
			h2 := c.new()
			if err := h2.Decode(h1.Encode()); err != nil || !reflect.DeepEqual(h1, h2) {
				t.Fatalf("%T: round trip %+v → %+v (%v)", h1, h1, h2, err)
			}
		}
	})
}
