package transport

import (
	"sync/atomic"
	"time"
)

// Writes returns the socket writes (flush rounds) made so far on the connection to
// addr, or -1 when there is none.
func Writes(c *Client, addr string) int64 {
	if cc := connOf(c, addr); cc != nil {
		return cc.writes.Load()
	}
	return -1
}

// connOf returns the live connection to addr, nil when there is none.
func connOf(c *Client, addr string) *clientConn {
	c.mu.Lock()
	cc := c.mu.conns[addr]
	c.mu.Unlock()
	if cc != nil {
		<-cc.ready
	}
	return cc
}

// AnsweredByCallers returns how many answers on the connection to addr their callers
// read themselves (read.go), or -1 when there is no connection.
func AnsweredByCallers(c *Client, addr string) int64 {
	if cc := connOf(c, addr); cc != nil {
		return cc.rb.answered.Load()
	}
	return -1
}

// SetBeforeTake installs f to run between a synchronous caller's write and its attempt
// to take the read baton; nil removes it.
func SetBeforeTake(f func()) { setHook(&beforeTake, f) }

// SetAfterTake installs f to run once a synchronous caller took the read baton; nil
// removes it.
func SetAfterTake(f func()) { setHook(&afterTake, f) }

func setHook(h *atomic.Pointer[func()], f func()) {
	if f == nil {
		h.Store(nil)
		return
	}
	h.Store(&f)
}

// SetReaderIdle sets how long a free read baton waits before the reader goroutine takes
// it back, and returns the previous setting.
func SetReaderIdle(d time.Duration) time.Duration {
	return time.Duration(readerIdle.Swap(int64(d)))
}
