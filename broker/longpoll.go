package broker

import (
	"errors"
	"time"

	"github.com/rocketgo/rocketgo/broker/longpoll"
	"github.com/rocketgo/rocketgo/remoting"
	"github.com/rocketgo/rocketgo/store"
)

// maxSuspend caps how long a pull is parked. The Go client waits 30 s for a pull answer
// and asks for 20 s; a client asking for more than the cap gets PULL_NOT_FOUND at the cap
// and simply pulls again, while an answer after its own timeout would be lost.
const maxSuspend = 25 * time.Second

// park holds a pull that found nothing (PROTOCOL.md §9.9). It reports whether the pull
// was parked; when it was not, busy is the SYSTEM_BUSY answer if a bound refused it, or
// nil if the caller should answer PULL_NOT_FOUND now (the broker is closing, or the
// timeout is zero).
//
// The parked request is answered by re-running the pull (without suspending again) when
// a message past its offset arrives and passes its tag filter, when its own deadline
// passes — exactly then, by its own timer — or when the broker closes.
func (b *Broker) park(conn *remoting.Conn, req *remoting.Command, p *pullPlan, suspendMillis int64) (parked bool, busy *remoting.Command) {
	timeout := time.Duration(min(max(suspendMillis, 0), int64(maxSuspend/time.Millisecond))) * time.Millisecond
	if !b.opts.LongPollingEnable {
		timeout = b.opts.ShortPollingTime
	}
	r := &longpoll.Request{
		Topic:   p.topic,
		QueueID: p.queueID,
		Offset:  p.offset,
		Owner:   conn.ID(),
		Match:   p.match,
		Release: func(why longpoll.Reason) { b.answerParked(conn, req, p, why) },
	}
	switch err := b.polls.Park(r, timeout); {
	case err == nil:
	case errors.Is(err, longpoll.ErrFull), errors.Is(err, longpoll.ErrOwnerFull):
		return false, errorResponse(req, reject(errSystemBusy,
			"[PULL]system busy: %v (limits: %d in all, %d per connection); pull again later", err, b.opts.MaxParkedPulls, b.opts.MaxParkedPullsPerConn))
	default: // closed, or nothing to wait for
		return false, nil
	}
	// A message that arrived after the pull read the queue and before Park registered it
	// has already notified; look once more so it does not wait for the deadline.
	if maxOff := b.pullSrc.MaxOffset(p.topic, p.queueID); maxOff > p.offset {
		b.polls.Wake(p.topic, p.queueID, maxOff)
	}
	return true, nil
}

// answerParked re-runs a released pull and writes its answer on the request's
// connection.
func (b *Broker) answerParked(conn *remoting.Conn, req *remoting.Command, p *pullPlan, why longpoll.Reason) {
	resp, _ := b.runPull(req, p)
	if err := conn.Reply(resp); err != nil {
		b.log.Debug().Err(err).Uint64("conn", conn.ID()).Str("topic", p.topic).Int32("queue_id", p.queueID).
			Stringer("reason", why).Msg("parked pull answer dropped")
	}
}

// onArrival is the store's dispatch hook: every ConsumeQueue append may release parked
// pulls waiting on that queue. It runs on the dispatcher goroutine and costs one atomic
// load while no pull is parked.
func (b *Broker) onArrival(a store.Arrival) {
	b.polls.Notify(a.Topic, a.QueueID, a.MaxOffset, a.TagsCode)
}
