package client

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

// TestSendAsyncGeneratedIDs: asynchronous sends of messages without a UNIQ_KEY, whose
// properties are encoded into the recycled send's buffer, each reach the broker with
// their own tags and a generated key, and each result keeps that key as its MsgID
// after the buffer served thousands of later sends.
func TestSendAsyncGeneratedIDs(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 4, b)
	p := startProducer(t, ns.addr, WithInlineCallbacks())
	const n = 2000
	var (
		mu      sync.Mutex
		results = make([]*SendResult, n)
		bad     []string
	)
	sendAllAsync(t, p, n, func(i int) *Message {
		m := NewMessage("T", []byte("body-"+strconv.Itoa(i))).WithTags("tag-" + strconv.Itoa(i))
		if i%2 == 1 {
			m.WithProperty("user", strconv.Itoa(i)).WithKeys("k" + strconv.Itoa(i))
		}
		return m
	}, func(i int, r *SendResult, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			bad = append(bad, fmt.Sprintf("send %d: %v", i, err))
			return
		}
		results[i] = r
	})
	if len(bad) > 0 {
		t.Fatalf("%d failed sends, first %q", len(bad), bad[0])
	}
	sent := map[string]map[string]string{} // body → properties the broker got
	for _, s := range b.sends() {
		sent[string(s.Body)] = message.DecodeProperties(s.Ext["properties"])
	}
	ids := map[string]bool{}
	for i, r := range results {
		props := sent["body-"+strconv.Itoa(i)]
		switch {
		case props == nil:
			t.Fatalf("broker never got message %d", i)
		case len(r.MsgID) != 32 || ids[r.MsgID]:
			t.Fatalf("message %d: MsgID %q (given before: %v)", i, r.MsgID, ids[r.MsgID])
		case props[message.PropUniqKey] != r.MsgID || props[PropertyTags] != "tag-"+strconv.Itoa(i):
			t.Fatalf("message %d: result MsgID %q, broker got properties %q", i, r.MsgID, props)
		case i%2 == 1 && (props["user"] != strconv.Itoa(i) || props[PropertyKeys] != "k"+strconv.Itoa(i)):
			t.Fatalf("message %d: broker got properties %q", i, props)
		}
		ids[r.MsgID] = true
	}
}
