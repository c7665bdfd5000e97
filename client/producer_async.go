package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// The state of an asynchronous send lives in one recycled object (asyncSend): the
// prepared message, the answer's header and the command the answer decodes into, and
// the callback the transport calls. A window of thousands of sends in flight otherwise
// allocates all of that per message, and the collector spends more on those short
// lives (fresh spans, their first touch) than the client spends on the send itself.
// The request command of an attempt is recycled separately (sendRequests): it is dead
// once the transport has encoded it into its write buffer, which happens before the
// invoke returns, while the send lives until its answer.

// asyncSend is one SendAsync in progress. It goes back to asyncSends when the send
// finished and no attempt is still being handed to the transport (refs): the user's
// callback has returned and nothing else refers to it (the transport drops its
// callback when it completes the call, and reads the answer holder only for the call
// it took out of its table). An attempt's invoke holds a reference because its call
// can complete (a context that ends at once) before the invoke has encoded the request
// and returned.
type asyncSend struct {
	p        *Producer
	ctx      context.Context
	out      *outgoing
	cb       func(*SendResult, error)
	attempts int
	finished atomic.Bool // set by the first finish
	// refs counts the holders: the send itself until it finishes, and an attempt's
	// invoke while it runs. The last one to let go recycles the send.
	refs  atomic.Int32
	now   time.Time   // when the send began; the first attempt's start
	route *routeEntry // the route SendAsync looked up, for the first attempt

	// The current attempt, read by answer.
	mq     MessageQueue
	addr   string
	start  time.Time
	cancel context.CancelFunc

	outv outgoing   // what out points to
	ans  sendAnswer // the header of the current attempt's answer
	// onAnswer is answer bound to this send, and call the transport's state of the
	// current attempt, both made once per recycled object rather than per attempt.
	onAnswer func(*codec.Command, error)
	call     *transport.AsyncCall
	// propsBuf holds the encoded properties of a single message with a generated
	// UNIQ_KEY (out.propsLent), kept from one send to the next up to maxKeptProps.
	propsBuf []byte
}

// maxKeptProps bounds the properties buffer a recycled send keeps: a message with
// unusually many properties does not make every pooled send hold as much.
const maxKeptProps = 1 << 10

// asyncSends recycles the state of finished asynchronous sends.
var asyncSends = sync.Pool{New: func() any { return new(asyncSend) }}

// release returns a finished send to asyncSends, dropping what it refers to (the
// caller's messages, context and callback).
func (a *asyncSend) release() {
	on, call, buf := a.onAnswer, a.call, a.propsBuf
	if cap(buf) > maxKeptProps {
		buf = nil
	}
	*a = asyncSend{onAnswer: on, call: call, propsBuf: buf[:0]}
	asyncSends.Put(a)
}

// unref lets go of one reference (refs); the last one recycles a.
func (a *asyncSend) unref() {
	if a.refs.Add(-1) == 0 {
		a.release()
	}
}

// SendAsync sends like Send without waiting: cb receives the result or the final error
// exactly once, on another goroutine (or inline, see WithInlineCallbacks). SendAsync
// itself returns an error, and never calls cb, when the send cannot start: invalid
// messages, a producer not running, no route.
func (p *Producer) SendAsync(ctx context.Context, cb func(*SendResult, error), msgs ...*Message) error {
	a := asyncSends.Get().(*asyncSend)
	if a.onAnswer == nil {
		a.onAnswer, a.call = a.answer, new(transport.AsyncCall)
	}
	a.refs.Store(1) // the send's own, until it finishes
	// One clock reading serves the unique id, the trace start and the first attempt.
	a.p, a.ctx, a.cb, a.now = p, ctx, cb, time.Now()
	out := &a.outv
	if err := p.prepareInto(out, msgs, a.now, &a.propsBuf); err != nil {
		a.release()
		return err
	}
	a.out = out
	if !p.track.begin() {
		a.release()
		return ErrNotStarted
	}
	entry, err := p.inst.publishRoute(ctx, out.topic, p.o.createTopicKey)
	if err != nil {
		p.track.end()
		a.release()
		return fmt.Errorf("send to %s: %w", out.topic, err)
	}
	if len(entry.pub) == 0 {
		p.track.end()
		a.release()
		return fmt.Errorf("send to %s: %w: no writable queue", out.topic, ErrNoRoute)
	}
	a.route = entry
	a.next("", nil)
	return nil
}

// invokeSendAsync sends one attempt of an asynchronous send with call's state in call;
// the answer's header goes to ans as the transport reads it (no extFields map).
func (p *Producer) invokeSendAsync(ctx context.Context, addr string, req *codec.Command, call *transport.AsyncCall, ans *sendAnswer, cb func(*codec.Command, error)) error {
	if p.inst.closed.Load() {
		return ErrClosed
	}
	p.inst.sign(req)
	if err := p.inst.rc.InvokeAsyncCall(ctx, addr, req, call, ans, cb); err != nil {
		return fmt.Errorf("request %d to %s: %w", req.Code, addr, err)
	}
	return nil
}

// next starts the next attempt, avoiding lastBroker; lastErr is what the previous
// attempt failed with. Attempts that fail before anything is sent (no address, dial
// error) move on at once. Once an attempt is handed to the transport, a is touched
// again here only to let go of the attempt's reference: its answer may already have
// finished it.
func (a *asyncSend) next(lastBroker string, lastErr error) {
	p := a.p
	for a.attempts < 1+p.o.retries {
		if err := a.ctx.Err(); err != nil {
			if lastErr == nil {
				lastErr = err
			}
			break
		}
		a.attempts++
		entry := a.route
		if a.attempts > 1 || entry == nil {
			entry = p.inst.cachedRoute(a.out.topic)
		}
		if entry == nil {
			a.finish(nil, fmt.Errorf("send to %s: %w", a.out.topic, ErrNoRoute))
			return
		}
		mq, err := p.selectQueue(entry, a.out, lastBroker)
		if err != nil {
			a.finish(nil, err)
			return
		}
		lastBroker = mq.BrokerName
		addr := p.inst.masterAddr(mq.BrokerName)
		if addr == "" {
			lastErr = fmt.Errorf("send to %s: %w: %s", a.out.topic, ErrBrokerNotFound, mq.BrokerName)
			continue
		}
		start := a.now
		if a.attempts > 1 {
			start = time.Now()
			// Zeroing the answer is not free (write barriers while the collector
			// runs): the first attempt's is zero already.
			a.ans.reset()
		}
		actx, cancel := p.attemptContext(a.ctx, start)
		a.mq, a.addr, a.start, a.cancel = mq, addr, start, cancel
		r := sendRequests.Get().(*sendRequest)
		born := start // the attempt's clock reading serves its bornTimestamp too
		if !p.wallClock {
			born = p.now()
		}
		p.fillRequest(r, a.out, mq, born.UnixMilli())
		a.refs.Add(1)
		err = p.invokeSendAsync(actx, addr, &r.cmd, a.call, &a.ans, a.onAnswer)
		r.release() // encoded into the connection's buffer, or refused
		if err == nil {
			a.unref()
			return
		}
		a.refs.Add(-1) // refused: the callback never runs, so the send holds a still
		cancel()
		p.noteLatency(mq.BrokerName, time.Since(start), true)
		lastErr = fmt.Errorf("send to %s via %s: %w", a.out.topic, addr, err)
	}
	a.finish(nil, fmt.Errorf("%w (after %d attempts)", lastErr, a.attempts))
}

// answer is the transport's callback for the current attempt.
func (a *asyncSend) answer(resp *codec.Command, err error) {
	a.cancel()
	var latency time.Duration
	if a.p.faults != nil {
		latency = time.Since(a.start)
	}
	a.done(a.mq, a.addr, latency, resp, err)
}

// done handles the answer of one attempt. It runs on the transport's goroutine, so a
// retry, which may have to dial, moves to a goroutine of its own.
func (a *asyncSend) done(mq MessageQueue, addr string, latency time.Duration, resp *codec.Command, err error) {
	p := a.p
	if err == nil {
		// The result and its ids are one allocation (sendResultBox).
		box := new(sendResultBox)
		res := &box.res
		decode := func() (header.SendMessageResponse, error) { return a.ans.decodeIn(box) }
		if err = p.fillResult(res, resp, mq, a.out, decode); err == nil {
			if a.out.propsLent {
				res.MsgID = box.uniqID(res.MsgID) // a view of propsBuf, reused after finish
			}
			p.noteLatency(mq.BrokerName, latency, false)
			p.tracePub(a.out, res, addr)
			a.finish(res, nil)
			return
		}
		if !retryableCode(resp.Code) {
			a.finish(nil, fmt.Errorf("send to %s via %s: %w", a.out.topic, addr, err))
			return
		}
	}
	p.noteLatency(mq.BrokerName, latency, true)
	err = fmt.Errorf("send to %s via %s: %w", a.out.topic, addr, err)
	if a.attempts >= 1+p.o.retries || a.ctx.Err() != nil {
		a.finish(nil, fmt.Errorf("%w (after %d attempts)", err, a.attempts))
		return
	}
	go a.next(mq.BrokerName, err)
}

// finish calls the callback once, ends the send's tracking and recycles a.
func (a *asyncSend) finish(res *SendResult, err error) {
	if !a.finished.CompareAndSwap(false, true) {
		return
	}
	p, cb := a.p, a.cb
	a.unref()
	switch {
	case cb == nil:
		p.track.end()
	case p.o.inlineCallbacks:
		cb(res, err)
		p.track.end()
	default:
		go func() {
			defer p.track.end()
			cb(res, err)
		}()
	}
}
