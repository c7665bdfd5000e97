package server

// ConnFd is the descriptor of c's socket, for tests that look at it from a hook.
func ConnFd(c *Conn) int { return c.gc.Fd() }

// OutboundBuffered reports whether gnet's outbound buffer of c held bytes when the
// event loop last looked (the state that keeps ReplyNow from writing directly).
func OutboundBuffered(c *Conn) bool {
	c.direct.mu.Lock()
	defer c.direct.mu.Unlock()
	return c.direct.buffered
}

// WriteLockState reports, from a hook on c's event loop, whether c's write lock is free
// and, if so, whether the loop is in the middle of writing its batch.
func WriteLockState(c *Conn) (free, loopWriting bool) {
	if !c.direct.mu.TryLock() {
		return false, false
	}
	defer c.direct.mu.Unlock()
	return true, c.direct.loopWriting
}
