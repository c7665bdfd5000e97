// Package pending matches responses to the requests waiting for them. Both ends of a
// remoting connection start requests — the client transport its calls, the server its
// CHECK_TRANSACTION_STATE and friends — and both keep one Table per connection keyed by
// opaque, with the same rule: whoever takes a call out of the table completes it, so a
// response that arrives after the timeout (or after the connection failed) is dropped.
package pending

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// result is the outcome of one call: the response or why there is none.
type result struct {
	resp *codec.Command
	err  error
}

// Call is one request waiting for its response. Exactly one party completes it: the one
// that removes it from its Table (the reader that matched the response, the
// timeout, or the connection failure), so a late response after a timeout is dropped.
type Call struct {
	ch chan result                 // sync callers wait here (buffered 1)
	cb func(*codec.Command, error) // async callers are called back instead
	// Stop releases the context.AfterFunc of an async call; Complete runs it before the
	// callback, and the caller runs it when it takes back a call that never went out.
	Stop func() bool
	// Ext, when set, receives the response's extFields in place of the ExtFields map
	// (codec.DecodeFrameExt): the caller knows the answer's header and reads it from
	// its own struct.
	Ext codec.ExtReader
	// completed is set when Complete runs, so a watcher can skip answered calls
	// without a table lookup.
	completed atomic.Bool
	// The table and opaque the call was last added under (Add), written before it
	// is in the table, so before anyone else can complete it.
	table  *Table
	opaque int32
}

// TakeBack takes c out of the table it was last added to, if it is still waiting
// there under the same opaque: the caller then completes it. False when someone else
// took it (its answer, its context's end, the connection's failure) or it was never
// added. Only the call's owner may use it, between its invoke and its reuse.
func (c *Call) TakeBack() (opaque int32, ok bool) {
	if c.table == nil {
		return 0, false
	}
	return c.opaque, c.table.TakeIf(c.opaque, c)
}

// Completed reports whether Complete has run (or is running) for c.
func (c *Call) Completed() bool { return c.completed.Load() }

// NewAsync returns a call that delivers its outcome to cb instead of a waiting caller.
func NewAsync(cb func(*codec.Command, error)) *Call { return &Call{cb: cb} }

// NewAsyncExt is NewAsync for a call whose response's extFields go to ext.
func NewAsyncExt(cb func(*codec.Command, error), ext codec.ExtReader) *Call {
	return &Call{cb: cb, Ext: ext}
}

// InitAsync makes c, a call its owner keeps and reuses, a fresh asynchronous call
// (NewAsyncExt). The owner may reuse c once its callback has run, or once the invoke
// that registered it has failed. A watch may still hold c under an earlier opaque;
// it reads only Completed, and TakeIf and Holds tell the earlier registration from
// this one by the opaque.
func (c *Call) InitAsync(cb func(*codec.Command, error), ext codec.ExtReader) {
	c.ch, c.cb, c.Stop, c.Ext = nil, cb, nil, ext
	c.completed.Store(false)
}

// Complete delivers the outcome. It never blocks for a sync call; an async callback runs
// on the calling goroutine.
func (c *Call) Complete(resp *codec.Command, err error) {
	if cb := c.cb; cb != nil {
		c.completed.Store(true)
		// A context watch may hold c until its context ends (transport's ctxwatch.go);
		// dropping the callback lets go of what it holds (a send's message) now.
		c.cb = nil
		if c.Stop != nil {
			c.Stop()
		}
		cb(resp, err)
		return
	}
	if c.ch == nil {
		return // an async call completed before; it completes once
	}
	c.ch <- result{resp, err}
}

// Table holds the calls of one connection keyed by opaque.
type Table struct {
	mu struct {
		sync.Mutex
		m      map[int32]*Call
		failed error // set once the connection is gone: no new calls are accepted
	}
}

// ErrOpaqueInUse reports an opaque that is still pending after the counter wrapped.
var ErrOpaqueInUse = errors.New("remoting: opaque in use")

// Add registers c under opaque. It fails with the connection's error once FailAll ran,
// and with ErrOpaqueInUse if the opaque is taken.
func (p *Table) Add(opaque int32, c *Call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.failed != nil {
		return p.mu.failed
	}
	if p.mu.m == nil {
		p.mu.m = make(map[int32]*Call)
	}
	if _, ok := p.mu.m[opaque]; ok {
		return ErrOpaqueInUse
	}
	c.table, c.opaque = p, opaque
	p.mu.m[opaque] = c
	return nil
}

// Take removes and returns the call under opaque, or nil if there is none (answered,
// timed out, or never sent).
func (p *Table) Take(opaque int32) *Call {
	p.mu.Lock()
	c := p.mu.m[opaque]
	if c != nil {
		delete(p.mu.m, opaque)
	}
	p.mu.Unlock()
	return c
}

// FailAll refuses new calls with err and completes every pending call with it.
func (p *Table) FailAll(err error) {
	p.mu.Lock()
	if p.mu.failed == nil {
		p.mu.failed = err
	}
	m := p.mu.m
	p.mu.m = nil
	p.mu.Unlock()
	completeAll(m, err)
}

// completeAll completes every call in m with err, removing each as it goes. An async
// callback that panics does not leave the rest waiting forever: they are completed on
// the way up, and the panic goes on.
func completeAll(m map[int32]*Call, err error) {
	defer func() {
		if len(m) > 0 {
			completeAll(m, err)
		}
	}()
	for op, c := range m {
		delete(m, op)
		c.Complete(nil, err)
	}
}

// Len returns the number of calls waiting for an answer.
func (p *Table) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.m)
}

// ContextError converts an expired context into the error a call for opaque fails with:
// codec.ErrTimeout for a deadline, the context's own error otherwise.
func ContextError(ctx context.Context, opaque int32) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return TimeoutError(opaque)
	}
	return fmt.Errorf("remoting: opaque %d: %w", opaque, err)
}

// TimeoutError is the error of the call under opaque when its deadline passed, by a
// context (ContextError) or by its caller's own timer.
func TimeoutError(opaque int32) error {
	return fmt.Errorf("%w: opaque %d: %w", codec.ErrTimeout, opaque, context.DeadlineExceeded)
}

// Wait blocks until the call under opaque completes or ctx ends; in the latter case the
// pending entry is removed so nothing is left behind. Every way out leaves c owned by
// nobody else and its channel empty, so c goes back to the pool.
func (p *Table) Wait(ctx context.Context, opaque int32, c *Call) (*codec.Command, error) {
	defer Recycle(c)
	select {
	case r := <-c.ch:
		return r.resp, r.err
	case <-ctx.Done():
		if p.Take(opaque) != nil {
			return nil, ContextError(ctx, opaque)
		}
		// Someone completed the call at the same moment; its result is on the way.
		return c.Result()
	}
}

// syncCalls recycles the calls of waiting callers (a call and its channel per request
// otherwise).
var syncCalls = sync.Pool{New: func() any { return &Call{ch: make(chan result, 1)} }}

// Sync reports whether c is a waiting caller's call (NewSync), not an async one. Ask
// before Complete: the caller may recycle c as soon as it is completed.
func (c *Call) Sync() bool { return c.cb == nil && c.ch != nil }

// Done returns the outcome of a sync call if it was completed, without waiting.
func (c *Call) Done() (resp *codec.Command, err error, done bool) {
	select {
	case r := <-c.ch:
		return r.resp, r.err, true
	default:
		return nil, nil, false
	}
}

// Result waits for the outcome of a sync call that its completer is sure to deliver
// (the caller took it out of no table, and the connection failed or answered it).
func (c *Call) Result() (*codec.Command, error) {
	r := <-c.ch
	return r.resp, r.err
}

// Recycle returns a sync call whose outcome was taken (Done, Result, or an answer read
// by its own caller) to the pool; nothing may hold it any more.
func Recycle(c *Call) { syncCalls.Put(c) }

// NewSync returns a call for a waiting caller; pass it to Wait, which recycles it.
// A call abandoned before wait (its send failed) is simply left to the collector.
func NewSync() *Call { return syncCalls.Get().(*Call) }

// TakeIf removes the entry under opaque only if it is c, and reports whether it did:
// a watcher holding (opaque, c) pairs never takes a later call that reuses the opaque.
func (p *Table) TakeIf(opaque int32, c *Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.m[opaque] != c {
		return false
	}
	delete(p.mu.m, opaque)
	return true
}

// Holds reports whether c is still pending under opaque.
func (p *Table) Holds(opaque int32, c *Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.m[opaque] == c
}
