package broker

import (
	"slices"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
)

func mqs(ids ...int32) []body.MessageQueue {
	out := make([]body.MessageQueue, len(ids))
	for i, id := range ids {
		out[i] = body.MessageQueue{Topic: "T", BrokerName: "broker-a", QueueID: id}
	}
	return out
}

func TestLockBatchOverTCP(t *testing.T) {
	e := startRegistryBroker(t, nil)
	lock := func(clientID string, ids ...int32) []body.MessageQueue {
		t.Helper()
		req := &body.LockBatchRequestBody{ConsumerGroup: "og", ClientID: clientID, MQSet: mqs(ids...)}
		resp := e.call(e.cli, code.LockBatchMQ, nil, req.Encode())
		if resp.Code != code.Success {
			t.Fatalf("lock: code %d %q", resp.Code, resp.Remark)
		}
		r, err := body.DecodeLockBatchResponse(resp.Body)
		if err != nil {
			t.Fatalf("lock response %s: %v", resp.Body, err)
		}
		return r.LockOKMQSet
	}
	if got := lock("A", 0, 1); !slices.Equal(got, mqs(0, 1)) {
		t.Fatalf("A: got %v", got)
	}
	if got := lock("B", 1, 2); !slices.Equal(got, mqs(2)) {
		t.Fatalf("B while A holds 1: got %v, want [2]", got)
	}
	e.clock.Advance(30 * time.Second)
	if got := lock("A", 0, 1); !slices.Equal(got, mqs(0, 1)) { // renew, as the Go client does every 20 s
		t.Fatalf("A renews: got %v", got)
	}
	e.clock.Advance(59 * time.Second)
	if got := lock("B", 1); len(got) != 0 {
		t.Fatalf("B before A's renewed lease lapsed: got %v", got)
	}
	e.clock.Advance(2 * time.Second)
	if got := lock("B", 1); !slices.Equal(got, mqs(1)) {
		t.Fatalf("B after A's lease lapsed: got %v", got)
	}

	// UNLOCK by the holder frees the queue for the other client at once.
	unlock := &body.UnlockBatchRequestBody{ConsumerGroup: "og", ClientID: "B", MQSet: mqs(1)}
	if resp := e.call(e.cli, code.UnlockBatchMQ, nil, unlock.Encode()); resp.Code != code.Success {
		t.Fatalf("unlock: code %d %q", resp.Code, resp.Remark)
	}
	if got := lock("A", 1); !slices.Equal(got, mqs(1)) {
		t.Fatalf("A after B unlocked: got %v", got)
	}

	for _, bad := range []string{"", "{", `{"clientId":"A","mqSet":[]}`} {
		for _, c := range []int32{code.LockBatchMQ, code.UnlockBatchMQ} {
			if resp := e.call(e.cli, c, nil, []byte(bad)); resp.Code != code.SystemError || resp.Remark == "" {
				t.Fatalf("code %d with body %q: code %d remark %q", c, bad, resp.Code, resp.Remark)
			}
		}
	}
}
