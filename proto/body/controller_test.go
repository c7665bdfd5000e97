package body

import (
	"reflect"
	"strings"
	"testing"
)

func TestControllerBodiesRoundTrip(t *testing.T) {
	in := EpochEntryCache{BrokerID: 2, BrokerName: "b", ClusterName: "C", MaxOffset: 900,
		EpochList: []EpochEntry{{Epoch: 1, StartOffset: 0, EndOffset: 100}, {Epoch: 3, StartOffset: 100, EndOffset: 900}}}
	var out EpochEntryCache
	if err := DecodeJSON(EncodeJSON(in), &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("%+v %v", out, err)
	}
	if got := string(EncodeJSON(SyncStateSet{SyncStateSet: []int64{1, 2}, SyncStateSetEpoch: 3})); got != `{"syncStateSet":[1,2],"syncStateSetEpoch":3}` {
		t.Fatalf("SyncStateSet JSON %s", got)
	}
	if err := DecodeJSON([]byte(strings.Repeat(" ", MaxBodyBytes+1)), &out); err == nil {
		t.Fatal("oversized body accepted")
	}
}

// FuzzControllerBodies: decoding never panics, and what decodes re-encodes and decodes
// to the same value.
func FuzzControllerBodies(f *testing.F) {
	f.Add([]byte(`{"syncStateSet":[1,2],"syncStateSetEpoch":3}`))
	f.Add([]byte(`{"replicasInfoTable":{"b":{"masterAddress":"a:1","inSyncReplicas":[{"brokerId":1}]}}}`))
	f.Add([]byte(`{"epochList":[{"epoch":1,"startOffset":0,"endOffset":5}],"maxOffset":5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mk := range []func() any{
			func() any { return new(SyncStateSet) }, func() any { return new(BrokerReplicasInfo) },
			func() any { return new(EpochEntryCache) }, func() any { return new(BrokerMemberGroup) },
		} {
			v := mk()
			if DecodeJSON(b, v) != nil {
				continue
			}
			w := mk()
			if err := DecodeJSON(EncodeJSON(v), w); err != nil || !reflect.DeepEqual(v, w) {
				t.Fatalf("%T: round trip %+v → %+v (%v)", v, v, w, err)
			}
		}
	})
}
