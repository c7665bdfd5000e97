package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// A consumer that keeps one pull parked on each of two queues, while sends arrive one
// at a time from its own connection and from another, gets every message once, in
// order, with its offsets: the parked pulls' answers are written by whichever goroutine
// releases them (server.Conn.ReplyNow), ahead of the send's own answer when that is the
// same connection.
func TestLongPollAnswersWrittenAtOnceKeepOrder(t *testing.T) {
	h := newHarness(t)
	h.createTopic("LPN", 2, 6)
	other := transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second})
	defer other.Close()
	const n = 40
	next := [2]int64{}
	for i := range n {
		q := int32(i % 2)
		ch, _ := h.asyncPull(h.cl, suspendReq("cg", "LPN", q, next[q], 15000))
		h.waitParked(1)
		body := fmt.Sprintf("m%02d", i)
		if i%4 >= 2 { // every other pair of sends comes from another connection
			h.cl, other = other, h.cl
		}
		h.send("LPN", q, body, nil)
		if i%4 >= 2 {
			h.cl, other = other, h.cl
		}
		wantOneFound(t, body, waitAnswer(t, ch, body), body, q, next[q])
		next[q]++
	}
}

// wantOneFound checks that a pull's answer is FOUND with exactly the record body at
// queue offset off of queue q, and says to pull next from off+1.
func wantOneFound(t *testing.T, what string, resp *codec.Command, body string, q int32, off int64) {
	t.Helper()
	wantCode(t, what, resp, code.Success, "FOUND")
	msgs := records(t, resp.Body)
	if len(msgs) != 1 || string(msgs[0].Body) != body || msgs[0].QueueOffset != off || msgs[0].QueueID != q {
		t.Fatalf("%s (queue %d at %d): %d records", what, q, off, len(msgs))
	}
	if got := pullHeader(t, resp).NextBeginOffset; got != off+1 {
		t.Fatalf("%s: next %d, want %d", what, got, off+1)
	}
}

func waitAnswer[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer for %s", what)
		var zero T
		return zero
	}
}
