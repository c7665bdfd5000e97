package transport

// Writes returns the socket writes (flush rounds) made so far on the connection to
// addr, or -1 when there is none.
func Writes(c *Client, addr string) int64 {
	c.mu.Lock()
	cc := c.mu.conns[addr]
	c.mu.Unlock()
	if cc == nil {
		return -1
	}
	<-cc.ready
	return cc.writes.Load()
}
