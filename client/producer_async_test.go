package client

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// TestSendAsyncRecycledState: thousands of asynchronous sends with hundreds in flight,
// their state recycled as they finish, each reach the broker with their own body and
// unique key and call back with their own result: the message id they were sent with,
// and a queue offset and offset message id no other send got.
func TestSendAsyncRecycledState(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	ns.setRoute("T", 4, b)
	for _, inline := range []bool{true, false} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) {
			var opts []ProducerOption
			if inline {
				opts = append(opts, WithInlineCallbacks())
			}
			p := startProducer(t, ns.addr, opts...)
			const n = 2000
			var (
				mu      sync.Mutex
				offsets = map[string]bool{}
				bad     []string
			)
			sendAllAsync(t, p, n, func(i int) *Message {
				id := fmt.Sprintf("ID-%v-%d", inline, i)
				return NewMessage("T", []byte("body-"+id)).WithProperty(message.PropUniqKey, id)
			}, func(i int, r *SendResult, err error) {
				id := fmt.Sprintf("ID-%v-%d", inline, i)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					bad = append(bad, fmt.Sprintf("%s: %v", id, err))
				case r.MsgID != id:
					bad = append(bad, fmt.Sprintf("%s: result for %s", id, r.MsgID))
				default:
					k := fmt.Sprintf("%d/%d", r.MessageQueue.QueueID, r.QueueOffset)
					if offsets[k] || offsets[r.OffsetMsgID] {
						bad = append(bad, fmt.Sprintf("%s: result %s or %s given twice", id, k, r.OffsetMsgID))
					}
					offsets[k], offsets[r.OffsetMsgID] = true, true
				}
			})
			if len(bad) > 0 {
				t.Fatalf("%d bad results, first %q", len(bad), bad[0])
			}
			got := map[string]bool{}
			for _, s := range b.sends() {
				id := message.DecodeProperties(s.Ext["properties"])[message.PropUniqKey]
				if string(s.Body) != "body-"+id || got[id] {
					t.Fatalf("broker got body %q under key %q (seen before: %v)", s.Body, id, got[id])
				}
				got[id] = true
			}
			for i := 0; i < n; i++ {
				if id := fmt.Sprintf("ID-%v-%d", inline, i); !got[id] {
					t.Fatalf("broker never got %s", id)
				}
			}
		})
	}
}

// sendAllAsync sends msg(i) for i in [0, n) with SendAsync, at most 256 in flight, and
// waits up to 30 s for every callback; cb gets each outcome with its i.
func sendAllAsync(t *testing.T, p *Producer, n int, msg func(i int) *Message, cb func(i int, r *SendResult, err error)) {
	t.Helper()
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		err := p.SendAsync(context.Background(), func(r *SendResult, err error) {
			defer wg.Done()
			defer func() { <-sem }()
			cb(i, r, err)
		}, msg(i))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("callbacks missing after 30 s")
	}
}
