package broker

import (
	"testing"

	"github.com/rocketgo/rocketgo/broker/epoch"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
)

// GET_BROKER_EPOCH_CACHE answers the epoch file with each epoch's end, and names the
// HA address on a master; without controller mode it says it is not supported.
func TestGetBrokerEpochCache(t *testing.T) {
	e := startRegistryBroker(t, nil)
	cli := newTestClient(t)
	resp := e.call(cli, code.GetBrokerEpochCache, nil, nil)
	wantCode(t, "epoch cache outside controller mode", resp, code.SystemError, "not supported")

	ep, err := epoch.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range []epoch.Entry{{Epoch: 1, Start: 0}, {Epoch: 3, Start: 0}} {
		if err := ep.Append(en); err != nil {
			t.Fatal(err)
		}
	}
	e.b.SetControllerHooks(ControllerHooks{Epochs: ep})
	resp = e.call(cli, code.GetBrokerEpochCache, nil, nil)
	if resp.Code != code.Success {
		t.Fatalf("epoch cache: %d %s", resp.Code, resp.Remark)
	}
	var c body.EpochEntryCache
	if err := body.DecodeJSON(resp.Body, &c); err != nil {
		t.Fatal(err)
	}
	// Epoch 1 holds no record: it ends where epoch 3 starts.
	want := []body.EpochEntry{{Epoch: 1, StartOffset: 0, EndOffset: 0}, {Epoch: 3, StartOffset: 0, EndOffset: c.MaxOffset}}
	if len(c.EpochList) != 2 || c.EpochList[0] != want[0] || c.EpochList[1] != want[1] {
		t.Fatalf("epoch list %+v (max %d)", c.EpochList, c.MaxOffset)
	}
	if resp.ExtFields["haServerAddr"] == "" {
		t.Fatalf("a master's answer names no haServerAddr: %v", resp.ExtFields)
	}
}
