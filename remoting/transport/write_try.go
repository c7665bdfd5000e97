package transport

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// tryWriteLocked makes one non-blocking attempt to write everything queued, for a
// caller that asked only to queue its frame (a lone frame on an idle connection, see
// idleGap): such a caller must never wait for the peer to read, nor fail the
// connection on its own goroutine (which would run every pending callback there,
// before its own call returned). It reports whether the queue went out whole. When it
// did not, what was written is dropped from the front of the queue and the rest is
// left to the writer goroutine, which also meets any socket error. wmu is held and no
// flush is running. A TLS connection has no socket to try: its frames go through the
// writer goroutine.
func (cc *clientConn) tryWriteLocked() bool {
	if !cc.rawKnown {
		cc.rawKnown = true
		if sc, ok := cc.nc.(syscall.Conn); ok {
			cc.raw, _ = sc.SyscallConn()
		}
	}
	if cc.raw == nil {
		return false
	}
	cc.sealLocked()
	var n int
	var werr error
	if err := cc.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Writev(int(fd), cc.wq)
			if werr != unix.EINTR {
				break
			}
		}
		return true // one attempt: never wait for the socket to become writable
	}); err != nil || werr != nil || n < 0 {
		n = 0
	}
	if n == 0 {
		return false
	}
	cc.writes.Add(1)
	if n < cc.queued {
		cc.queued -= n
		for n > 0 {
			if k := len(cc.wq[0]); k <= n {
				cc.wq[0] = nil
				cc.wq, n = cc.wq[1:], n-k
			} else {
				cc.wq[0], n = cc.wq[0][n:], 0
			}
		}
		return false
	}
	cc.recycleLocked(cc.wown)
	clear(cc.wq)
	clear(cc.wown)
	cc.wq, cc.wown, cc.queued = cc.wq[:0], cc.wown[:0], 0
	return true
}
