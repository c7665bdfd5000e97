package transport

import (
	"context"

	"github.com/rocketgo/rocketgo/remoting/internal/pending"
)

// Asynchronous calls that share a context share one context.AfterFunc per connection
// (the producer gives all the sends of a 10 ms tick one deadline context): one
// registration per context instead of an AfterFunc, a closure and a cancel-tree entry
// per call. When the context ends, every call still pending under it fails with the
// context's error; calls answered meanwhile are skipped.

// ctxWatch is the watch of one context on one connection.
type ctxWatch struct {
	stop  func() bool
	calls []watchedCall
	kept  int // calls left by the last compaction
}

// watchedCall is one call under a watch; the *Call tells it apart from a later call
// that reuses the opaque.
type watchedCall struct {
	op   int32
	call *pending.Call
}

// minCompact is the fewest entries a watch holds before answered calls are dropped
// from it.
const minCompact = 256

// watch makes the end of ctx fail the call under op, which is already in the pending
// table. ctx must be able to end (ctx.Done() != nil).
func (cc *clientConn) watch(ctx context.Context, op int32, cl *pending.Call) {
	cc.watchMu.Lock()
	defer cc.watchMu.Unlock()
	if cc.dead.Load() {
		return // FailAll has completed, or will complete, the call
	}
	// Keyed by ctx.Done(): a channel is always comparable, where a caller's own
	// Context implementation need not be.
	done := ctx.Done()
	w := cc.lastWatch
	if cc.lastDone != done {
		w = cc.watches[done]
	}
	if w == nil {
		w = &ctxWatch{calls: cc.spareCalls}
		cc.spareCalls = nil
		if cc.watches == nil {
			cc.watches = make(map[<-chan struct{}]*ctxWatch)
		}
		cc.watches[done] = w
		w.stop = context.AfterFunc(ctx, func() { cc.expire(ctx) })
	}
	if len(w.calls) >= 2*max(w.kept, minCompact) {
		// A long-lived context: drop the answered calls so the watch stays as large
		// as the calls actually waiting.
		live := w.calls[:0]
		for _, c := range w.calls {
			if !c.call.Completed() && cc.pending.Holds(c.op, c.call) {
				live = append(live, c)
			}
		}
		clear(w.calls[len(live):])
		w.calls, w.kept = live, len(live)
	}
	w.calls = append(w.calls, watchedCall{op, cl})
	cc.lastDone, cc.lastWatch = done, w
}

// expire fails the calls still pending under ctx, which has ended.
func (cc *clientConn) expire(ctx context.Context) {
	cc.watchMu.Lock()
	done := ctx.Done()
	w := cc.watches[done]
	delete(cc.watches, done)
	if cc.lastWatch == w {
		cc.lastDone, cc.lastWatch = nil, nil
	}
	cc.watchMu.Unlock()
	if w == nil {
		return
	}
	for _, c := range w.calls {
		if !c.call.Completed() && cc.pending.TakeIf(c.op, c.call) {
			c.call.Complete(nil, pending.ContextError(ctx, c.op))
		}
	}
	// The next context's watch starts from this one's list, grown already to a
	// tick's worth of calls, instead of growing its own from nothing.
	clear(w.calls)
	cc.watchMu.Lock()
	if cap(w.calls) > cap(cc.spareCalls) {
		cc.spareCalls = w.calls[:0]
	}
	cc.watchMu.Unlock()
}

// unwatchAll releases every watch; the connection failed, which completes the calls.
func (cc *clientConn) unwatchAll() {
	cc.watchMu.Lock()
	ws := cc.watches
	cc.watches, cc.lastDone, cc.lastWatch = nil, nil, nil
	cc.watchMu.Unlock()
	for _, w := range ws {
		w.stop()
	}
}
