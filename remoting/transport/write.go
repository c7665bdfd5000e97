package transport

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Frames are encoded into chunks of chunkBytes; a flush writes the full chunks and the
// current one with one writev. Fixed chunks keep a burst of thousands of queued frames
// from growing (and copying) one ever larger buffer, and are reused: a connection keeps
// up to maxFreeChunks of them between flushes.
const (
	chunkBytes    = 64 << 10
	maxFreeChunks = 16
)

// maxQueuedBytes bounds what asynchronous callers may queue ahead of the socket while
// a write is in progress: past it, queue waits until the writer takes the queue, so a
// sender faster than the network is slowed down instead of growing the queue without
// limit (a connection holds at most this much waiting plus the batch being written).
const maxQueuedBytes = 4 << 20

// idleGap is how long a connection must have queued nothing for its next asynchronous
// frame to be written by the caller. A stream faster than one frame per idleGap keeps
// going through the writer goroutine, whose writes carry every frame queued meanwhile;
// at that rate a caller's own write would cost a syscall per frame for nothing.
const idleGap = 50 * time.Microsecond

// loneMaxBytes bounds the frame a caller writes itself: a larger one may not fit the
// socket's buffer, and its caller, which asked only to queue it, would wait for the
// peer to read.
const loneMaxBytes = 64 << 10

// clockBase anchors nanotime: a monotonic reading, cheaper to compare than time.Time.
var clockBase = time.Now()

// nanotime returns monotonic nanoseconds since clockBase.
func nanotime() int64 { return int64(time.Since(clockBase)) }

// write encodes cmd into the connection's queue and, when no flush is running, writes
// the queue itself before returning: the path of synchronous calls and replies, where a
// lone request must go out at once. When a flush is running, the frame goes out with
// it. A write error kills the connection, which fails the calls waiting on it.
func (cc *clientConn) write(cmd *codec.Command) error {
	cc.wmu.Lock()
	if err := cc.enqueueLocked(cmd); err != nil {
		cc.wmu.Unlock()
		return err
	}
	if cc.flushing {
		cc.wmu.Unlock()
		return nil
	}
	cc.flushing = true
	return cc.flushLocked()
}

// queue encodes cmd into the connection's queue and leaves the writing to the writer
// goroutine (or to the flush already running): the path of asynchronous and oneway
// calls. A caller issuing many of them in a row never waits for a syscall, and the
// frames queued while a write is in progress go out together in the next one. A later
// write failure fails the connection and with it every call still pending.
//
// The exception is a small frame on an idle connection (nothing queued, no flush
// running, and no frame queued for idleGap): its caller writes it at once, with one
// non-blocking attempt (tryWriteLocked), instead of waking the writer goroutine. That handoff costs a parked goroutine's wake-up (tens of
// microseconds on a loaded machine) on every message of a slow stream, while a burst
// — where the writer's coalescing pays — is never idle between its frames.
func (cc *clientConn) queue(cmd *codec.Command) error { return cc.queueFrom(cmd, true) }

// queueFrom is queue; bounded says whether the caller waits while maxQueuedBytes are
// already queued. The reader's own replies do not wait, so the reader never blocks on
// the socket's write side.
func (cc *clientConn) queueFrom(cmd *codec.Command, bounded bool) error {
	cc.wmu.Lock()
	for bounded && cc.queued > maxQueuedBytes && cc.flushing && !cc.dead.Load() {
		cc.drained.Wait()
	}
	// A lone small frame on an idle connection is written by its caller (see idleGap).
	// The clock is read only when the connection looks idle: a frame queued while a
	// flush runs is not lone anyway, and the flush stamps lastQueue when it ends, which
	// is after that frame was queued (queuedBusy).
	lone := false
	if !cc.flushing && cc.queued == 0 {
		now := nanotime()
		lone = bounded && now-cc.lastQueue >= int64(idleGap)
		cc.lastQueue = now
	} else {
		cc.queuedBusy = true
	}
	if err := cc.enqueueLocked(cmd); err != nil {
		cc.wmu.Unlock()
		return err
	}
	if lone && cc.queued <= loneMaxBytes && cc.tryWriteLocked() {
		cc.wmu.Unlock()
		return nil
	}
	if !cc.flushing {
		cc.flushing = true
		select {
		case cc.kick <- struct{}{}:
		default: // already signalled; the writer has not run since
		}
	}
	cc.wmu.Unlock()
	return nil
}

// enqueueLocked appends cmd's frame to the current chunk (starting a new one when the
// frame might not fit), and its BodyParts (written without a copy) behind it. wmu is
// held.
func (cc *clientConn) enqueueLocked(cmd *codec.Command) error {
	if cc.dead.Load() {
		return fmt.Errorf("remoting: connection to %s: %w", cc.addr, codec.ErrClosed)
	}
	// The header of a request is a few hundred bytes; a frame that outgrows this guess
	// only costs a larger chunk of its own.
	if need := len(cmd.Body) + 1024; cap(cc.wbuf)-len(cc.wbuf) < need {
		cc.sealLocked()
		cc.wbuf = cc.chunkLocked()
	}
	b, err := codec.AppendFrame(cc.wbuf, cmd, cc.cl.o.MaxFrameBytes)
	if err != nil {
		cc.wbuf = b // AppendFrame cut it back to what was queued before
		return fmt.Errorf("remoting: encode code %d: %w", cmd.Code, err)
	}
	cc.queued += len(b) - len(cc.wbuf)
	cc.wbuf = b
	if len(cmd.BodyParts) > 0 {
		cc.sealLocked()
		cc.wq = append(cc.wq, cmd.BodyParts...)
		for _, p := range cmd.BodyParts {
			cc.queued += len(p)
		}
	}
	return nil
}

// sealLocked moves the current chunk, if it holds anything, to the write queue.
func (cc *clientConn) sealLocked() {
	if len(cc.wbuf) > 0 {
		cc.wq = append(cc.wq, cc.wbuf)
		cc.wown = append(cc.wown, cc.wbuf)
	}
	cc.wbuf = nil
}

// chunkLocked returns an empty chunk, reused when one is free.
func (cc *clientConn) chunkLocked() []byte {
	if n := len(cc.free); n > 0 {
		c := cc.free[n-1]
		cc.free[n-1] = nil
		cc.free = cc.free[:n-1]
		return c[:0]
	}
	if c, _ := spareChunks.Get().(*[chunkBytes]byte); c != nil {
		return c[:0]
	}
	return make([]byte, 0, chunkBytes)
}

// spareChunks holds written chunks beyond the maxFreeChunks a connection keeps, for
// the next chunk of any connection. A window of sends in flight queues more than that
// during one write, and each chunk allocated afresh is 64 KiB to clear and, soon after,
// to collect; the collector empties the pool, so an idle client holds none of them.
var spareChunks sync.Pool // of *[chunkBytes]byte

// recycleLocked keeps the written chunks owned for reuse: up to maxFreeChunks on the
// connection, the rest in spareChunks. Chunks of another size (a frame that did not
// fit one) are left to the collector. wmu is held.
func (cc *clientConn) recycleLocked(owned [][]byte) {
	for _, c := range owned {
		switch {
		case cap(c) != chunkBytes:
		case len(cc.free) < maxFreeChunks:
			cc.free = append(cc.free, c[:0])
		default:
			spareChunks.Put((*[chunkBytes]byte)(c[:chunkBytes]))
		}
	}
}

// flushLocked writes the queue until it is empty, then clears flushing. It is called
// with wmu held and flushing set by the caller, and returns with wmu released. Frames
// queued while a write is in progress are written by the next round of this loop.
func (cc *clientConn) flushLocked() error {
	for len(cc.wq) > 0 || len(cc.wbuf) > 0 {
		cc.sealLocked()
		batch, owned := cc.wq, cc.wown
		cc.wq, cc.wown = cc.spareWq[:0], cc.spareOwn[:0]
		cc.queued = 0 // all taken: callers may queue the next batch meanwhile
		cc.drained.Broadcast()
		cc.wmu.Unlock()

		_ = cc.nc.SetWriteDeadline(time.Now().Add(cc.cl.o.WriteTimeout))
		cc.writes.Add(1)
		var err error
		if len(batch) == 1 {
			_, err = cc.nc.Write(batch[0])
		} else {
			bufs := net.Buffers(batch)
			_, err = bufs.WriteTo(cc.nc)
		}
		clear(batch)

		cc.wmu.Lock()
		cc.spareWq = batch[:0]
		cc.recycleLocked(owned)
		clear(owned)
		cc.spareOwn = owned[:0]
		if err != nil {
			cc.flushing = false
			cc.wmu.Unlock()
			cc.fail(err)
			return fmt.Errorf("remoting: write to %s: %w: %w", cc.addr, codec.ErrClosed, err)
		}
	}
	if cc.queuedBusy {
		cc.lastQueue, cc.queuedBusy = nanotime(), false
	}
	cc.flushing = false
	cc.wmu.Unlock()
	return nil
}

// writeLoop is the connection's writer goroutine: it flushes what queue left for it
// until the connection fails.
func (cc *clientConn) writeLoop() {
	defer cc.cl.wg.Done()
	for {
		select {
		case <-cc.kick:
		case <-cc.done:
			return
		}
		cc.wmu.Lock()
		if !cc.flushing {
			// A synchronous caller took over the flush this signal was for and
			// finished it.
			cc.wmu.Unlock()
			continue
		}
		_ = cc.flushLocked()
	}
}
