package broker

import (
	"fmt"
	"testing"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// One arrival releases the parked pulls of several consumer groups on one queue: the
// first answer is written by the releasing goroutine, the others are queued on their
// connection's event loop. Every group gets every message, in order, with its offsets.
func TestLongPollManyGroupsOneArrival(t *testing.T) {
	h := newHarness(t)
	h.createTopic("LPG", 1, 6)
	const groups, rounds = 4, 5
	for i := range rounds {
		var chans []<-chan *codec.Command
		for g := range groups {
			ch, _ := h.asyncPull(h.cl, suspendReq(fmt.Sprintf("cg%d", g), "LPG", 0, int64(i), 15000))
			chans = append(chans, ch)
		}
		h.waitParked(groups)
		body := fmt.Sprintf("m%02d", i)
		h.send("LPG", 0, body, nil)
		for g, ch := range chans {
			what := fmt.Sprintf("group %d, %s", g, body)
			wantOneFound(t, what, waitAnswer(t, ch, what), body, 0, int64(i))
		}
	}
}
