package client

import (
	"fmt"
	"runtime"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// A found pull answered on the reader goroutine.
//
// With a plain synchronous call, a pull's answer travels reader goroutine → pull
// goroutine (woken to decode and cache it) → consume goroutine (woken to run the
// listener): two goroutine handoffs, each a wake-up of a parked goroutine, before the
// listener sees a message. pullEarly sends the pull asynchronously instead; when the
// answer is FOUND, its callback decodes and caches the messages on the reader
// goroutine itself, hands them straight to idle consume goroutines, and lets the pull
// goroutine go on with the next pull. The listener is one handoff from the socket,
// and the next pull leaves in parallel with it.
//
// Only what cannot block runs on the reader goroutine: the decode, the cache, the
// offset table, and channel sends that succeed at once. Messages no consume goroutine
// can take now, and every other answer (errors, PULL_NOT_FOUND, OFFSET_MOVED with its
// user hook), are handled by the pull goroutine as before.

// pullOutcome is what pullEarly's callback hands the pull goroutine.
type pullOutcome struct {
	resp *codec.Command // an answer left for the pull goroutine; nil when handled
	err  error          // the call failed
	// The outcome of a handled answer.
	handled bool
	next    int64
	wait    bool
	herr    error
	rest    []*MessageExt // not taken by a consume goroutine: the pull goroutine delivers them
}

// pullEarly sends req and returns what pullOnce returns, handling a FOUND answer on
// the reader goroutine (see above). The pull ends with pq's context, or after the pull
// timeout by the queue's own timer (pullState): the transport watches a context that
// lives as long as the queue once per connection, where a deadline context per pull
// would cost a context, a timer and a watch each. The timer starts when the request is
// queued; a dial before that is bounded by the transport's DialTimeout (the default
// 3 s, well below the pull timeout) and by pq's context.
//
// Once a consume goroutine has been handed records, the reader yields its processor
// (runtime.Gosched) before it releases the pull goroutine: the consume goroutine,
// readied on this processor, runs the listener at once, while the reader waits on the
// global run queue, where an idle processor may pick it up meanwhile. Without the
// yield, whatever the reader readies next (the pull goroutine, a producer's callback)
// would push the consume goroutine back in the run queue, and runtime traces show it
// then waits longer than the handoff it saves.
func (c *consumerCore) pullEarly(addr string, req *codec.Command, pq *processQueue, sub *subscription, offset int64) (int64, bool, error) {
	st := &pq.pull
	if st.done == nil {
		st.done = make(chan pullOutcome, 1)
		st.cb = st.complete
		st.timer = time.NewTimer(c.o.pullTimeout)
	} else {
		st.timer.Reset(c.o.pullTimeout)
	}
	defer func() {
		// Drained as well as stopped, so that a tick that came with the answer cannot
		// end the next pull at once where timers keep a stale tick in their channel
		// (GODEBUG=asynctimerchan=1).
		if !st.timer.Stop() {
			select {
			case <-st.timer.C:
			default:
			}
		}
	}()
	st.c, st.pq, st.sub, st.offset = c, pq, sub, offset
	st.ans.reset()
	if err := c.inst.invokeAsyncCall(pq.ctx, addr, req, &st.call, &st.ans, st.cb); err != nil {
		return offset, false, fmt.Errorf("pull %s at %d: %w", pq.mq, offset, err)
	}
	var o pullOutcome
	select {
	case o = <-st.done: // the callback runs exactly once: answer, error, or pq's end
	case <-st.timer.C:
		c.inst.rc.Expire(&st.call) // the callback runs now, or is running elsewhere
		o = <-st.done
	}
	switch {
	case o.err != nil:
		return offset, false, fmt.Errorf("pull %s at %d: request %d to %s: %w", pq.mq, offset, req.Code, addr, o.err)
	case !o.handled:
		next, wait, _, err := c.answer(pq, sub, offset, o.resp, &st.ans, false)
		return next, wait, err
	}
	if len(o.rest) > 0 {
		c.deliver(pq, o.rest)
	}
	return o.next, o.wait, o.herr
}

// complete is the callback of the pull in flight (pullEarly), on the connection's
// reader goroutine (or a timer's, or the one that found the connection dead).
func (st *pullState) complete(resp *codec.Command, err error) {
	if err != nil || resp.Code != code.Success {
		st.done <- pullOutcome{resp: resp, err: err}
		return
	}
	c, pq := st.c, st.pq
	o := pullOutcome{handled: true}
	var fresh []*MessageExt
	o.next, o.wait, fresh, o.herr = c.answer(pq, st.sub, st.offset, resp, &st.ans, true)
	if len(fresh) > 0 {
		o.rest = c.tryDeliver(pq, fresh)
		if len(o.rest) < len(fresh) {
			runtime.Gosched()
		}
	}
	st.done <- o
}
