package broker

import (
	"encoding/json"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
)

// TestDeleteSubGroup: DELETE_SUBSCRIPTIONGROUP forgets the group's config, and with
// removeOffset its committed offsets, as AdminBrokerProcessor.deleteSubscriptionGroup;
// other groups keep theirs; deleting again succeeds.
func TestDeleteSubGroup(t *testing.T) {
	h := newHarness(t)
	h.createTopic("T", 2, 6)
	for _, g := range []string{"gone", "kept"} {
		wantCode(t, "create "+g, h.call(code.UpdateAndCreateSubGroup, nil, []byte(`{"groupName":"`+g+`","consumeEnable":true}`)), code.Success, "")
		for q := int32(0); q < 2; q++ {
			u := header.UpdateConsumerOffsetRequest{ConsumerGroup: g, Topic: "T", QueueID: q, CommitOffset: 5}
			wantCode(t, "commit "+g, h.call(code.UpdateConsumerOffset, u.Encode(), nil), code.Success, "")
		}
	}
	del := header.DeleteSubscriptionGroupRequest{GroupName: "gone", RemoveOffset: true}
	wantCode(t, "delete", h.call(code.DeleteSubscriptionGroup, del.Encode(), nil), code.Success, "")
	var all struct {
		SubscriptionGroupTable map[string]json.RawMessage `json:"subscriptionGroupTable"`
	}
	if err := json.Unmarshal(h.call(code.GetAllSubscriptionGroupConfig, nil, nil).Body, &all); err != nil {
		t.Fatal(err)
	}
	if _, ok := all.SubscriptionGroupTable["gone"]; ok {
		t.Error("deleted group still configured")
	}
	if _, ok := all.SubscriptionGroupTable["kept"]; !ok {
		t.Error("the other group lost its config")
	}
	// An empty queue answers 0 for a group without a committed offset, as in RocketMQ.
	for q := int32(0); q < 2; q++ {
		if c, off := h.queryOffset("gone", "T", q); c == code.Success && off != 0 {
			t.Errorf("queue %d: deleted group's offset still %d", q, off)
		}
		if c, off := h.queryOffset("kept", "T", q); c != code.Success || off != 5 {
			t.Errorf("queue %d: other group's offset: code %d offset %d", q, c, off)
		}
	}
	// The deletion is durable.
	h.reopen()
	if c, off := h.queryOffset("gone", "T", 0); c == code.Success && off != 0 {
		t.Errorf("after reopen the deleted group's offset is %d", off)
	}
	wantCode(t, "delete again", h.call(code.DeleteSubscriptionGroup, del.Encode(), nil), code.Success, "")
	wantCode(t, "no name", h.call(code.DeleteSubscriptionGroup, map[string]string{}, nil), code.SystemError, "groupName")
}
