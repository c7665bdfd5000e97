package remoting

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// callResult is the outcome of one call: the response or why there is none.
type callResult struct {
	resp *Command
	err  error
}

// call is one request waiting for its response. Exactly one party completes it: the one
// that removes it from its pendingTable (the reader that matched the response, the
// timeout, or the connection failure), so a late response after a timeout is dropped.
type call struct {
	ch   chan callResult       // sync callers wait here (buffered 1)
	cb   func(*Command, error) // async callers are called back instead
	stop func() bool           // releases the context.AfterFunc of an async call
}

// complete delivers the outcome. It never blocks for a sync call; an async callback runs
// on the calling goroutine.
func (c *call) complete(resp *Command, err error) {
	if c.cb != nil {
		if c.stop != nil {
			c.stop()
		}
		c.cb(resp, err)
		return
	}
	c.ch <- callResult{resp, err}
}

// pendingTable holds the calls of one connection keyed by opaque.
type pendingTable struct {
	mu struct {
		sync.Mutex
		m      map[int32]*call
		failed error // set once the connection is gone: no new calls are accepted
	}
}

// errOpaqueInUse reports an opaque that is still pending after the counter wrapped.
var errOpaqueInUse = errors.New("remoting: opaque in use")

// add registers c under opaque. It fails with the connection's error once failAll ran,
// and with errOpaqueInUse if the opaque is taken.
func (p *pendingTable) add(opaque int32, c *call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.failed != nil {
		return p.mu.failed
	}
	if p.mu.m == nil {
		p.mu.m = make(map[int32]*call)
	}
	if _, ok := p.mu.m[opaque]; ok {
		return errOpaqueInUse
	}
	p.mu.m[opaque] = c
	return nil
}

// take removes and returns the call under opaque, or nil if there is none (answered,
// timed out, or never sent).
func (p *pendingTable) take(opaque int32) *call {
	p.mu.Lock()
	c := p.mu.m[opaque]
	if c != nil {
		delete(p.mu.m, opaque)
	}
	p.mu.Unlock()
	return c
}

// failAll refuses new calls with err and completes every pending call with it.
func (p *pendingTable) failAll(err error) {
	p.mu.Lock()
	if p.mu.failed == nil {
		p.mu.failed = err
	}
	m := p.mu.m
	p.mu.m = nil
	p.mu.Unlock()
	for _, c := range m {
		c.complete(nil, err)
	}
}

// len returns the number of calls waiting for an answer.
func (p *pendingTable) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.m)
}

// ctxError converts an expired context into the package's error for opaque.
func ctxError(ctx context.Context, opaque int32) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: opaque %d: %w", ErrTimeout, opaque, err)
	}
	return fmt.Errorf("remoting: opaque %d: %w", opaque, err)
}

// wait blocks until the call under opaque completes or ctx ends; in the latter case the
// pending entry is removed so nothing is left behind.
func (p *pendingTable) wait(ctx context.Context, opaque int32, c *call) (*Command, error) {
	select {
	case r := <-c.ch:
		return r.resp, r.err
	case <-ctx.Done():
		if p.take(opaque) != nil {
			return nil, ctxError(ctx, opaque)
		}
		// Someone completed the call at the same moment; its result is on the way.
		r := <-c.ch
		return r.resp, r.err
	}
}

// newSyncCall returns a call for a waiting caller.
func newSyncCall() *call { return &call{ch: make(chan callResult, 1)} }
