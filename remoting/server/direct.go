package server

import (
	"sync"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Late responses written by their caller (docs/architecture.md §6, "Late answers").
//
// A response produced off the connection's event loop is handed to the loop with gnet's
// AsyncWrite: a task queued and the loop woken through its eventfd. For a parked pull
// released by a send on another connection, that wake-up (another thread, often an idle
// CPU) cost about 50 µs here, and even on the caller's own loop the task ran only after
// the whole read event, behind the send's own answer. So ReplyNow writes the frame to
// the socket on the caller's goroutine when nothing else can be writing it:
//
//	direct write allowed ⇔ no AsyncWrite of this connection is queued or running,
//	                        gnet's outbound buffer was empty when the loop last looked,
//	                        and OnClose has not run
//
// and the loop's own write (the batch at the end of OnTraffic) is marked under the same
// mutex, so that a direct write meanwhile queues instead. The loop does not hold the
// mutex across its write: a failed write makes gnet close the connection right there,
// and OnClose's hooks may write to other connections (a consumer group's change notice)
// whose loops may, in the same moment, be closing theirs and writing to this one. A
// partial write (a full socket buffer) queues its rest with AsyncWrite; until that has
// run every later write of the connection is queued behind it, so the frame's bytes stay
// in order. gnet closes the descriptor only after OnClose, which ends direct writes
// under the mutex, so a descriptor is never written after it could be reused.
//
// Reply keeps queueing: a group commit's answers, for example, are many at once, and
// the event loops write them in parallel with the flusher instead of one by one on it.
type directOut struct {
	mu       sync.Mutex
	async    int  // AsyncWrite(v) calls queued and not yet completed
	tail     bool // the rest of a partial direct write is among them
	buffered bool // gnet's outbound buffer held bytes when the loop last looked
	gone     bool // OnClose ran
	// loopWriting is set while the event loop writes its batch (flushOut) without mu
	// held: a direct write then queues behind it.
	loopWriting bool
}

// writeDirect tries to write the frame head+parts to c's socket now. It reports false,
// having written nothing, when the connection's state does not allow it; the caller then
// queues the frame as before. With the mutex held it writes what the socket takes and
// queues the rest itself; err is set when that rest could not be queued (the engine is
// stopping), so the frame did not go out whole.
func (c *Conn) writeDirect(head []byte, parts [][]byte) (handled bool, err error) {
	d := &c.direct
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone || d.async > 0 || d.buffered || d.loopWriting {
		return false, nil
	}
	iov := replyIOV(head, parts)
	total := 0
	for _, b := range iov {
		total += len(b)
	}
	n := 0
	for n < total {
		w, err := unix.Writev(c.gc.Fd(), skipBytes(iov, n))
		if err == unix.EINTR {
			continue
		}
		if err != nil || w <= 0 {
			break // EAGAIN, or a broken connection: the loop's write reports it and closes
		}
		n += w
	}
	if n == total {
		return true, nil
	}
	rest := skipBytes(iov, n)
	if n > 0 {
		d.tail = true
	}
	d.async++
	if err := c.gc.AsyncWritev(rest, c.afterWrite); err != nil {
		// The engine is stopping. A cut frame must not be followed by another one.
		d.async--
		d.tail = false
		if n > 0 {
			d.gone = true
		}
		return true, err
	}
	return true, nil
}

// skipBytes returns iov without its first n bytes (sharing the slices).
func skipBytes(iov [][]byte, n int) [][]byte {
	for len(iov) > 0 && n >= len(iov[0]) {
		n -= len(iov[0])
		iov = iov[1:]
	}
	if n > 0 {
		out := make([][]byte, len(iov))
		copy(out, iov)
		out[0] = out[0][n:]
		return out
	}
	return iov
}

// queued counts an AsyncWrite(v) about to be made; done (on the event loop, from the
// write's callback) counts it completed.
func (d *directOut) queued() {
	d.mu.Lock()
	d.async++
	d.mu.Unlock()
}

// open says whether gc may still be asked for its buffer (not after a failed write or
// once closed: gnet releases the buffer then).
func (d *directOut) done(gc gnet.Conn, open bool) {
	d.mu.Lock()
	if d.async--; d.async == 0 {
		d.tail = false
	}
	if open {
		d.buffered = gc.OutboundBuffered() > 0
	}
	d.mu.Unlock()
}

// close ends direct writes; OnClose calls it, on the event loop, before gnet closes the
// descriptor (also from inside the loop's own failed write, which does not hold mu).
func (d *directOut) close() {
	d.mu.Lock()
	d.gone = true
	d.mu.Unlock()
}

// unqueue takes back a queued() whose AsyncWrite(v) was refused.
func (d *directOut) unqueue() {
	d.mu.Lock()
	d.async--
	d.mu.Unlock()
}

// flushOut writes the batch collected during OnTraffic (on the event loop). While the
// rest of a partial direct write waits in the loop's queue, the batch is queued behind
// it (copied: the batch's buffer is reused) instead of written ahead of it.
func (c *Conn) flushOut() error {
	d := &c.direct
	d.mu.Lock()
	if !d.tail {
		d.loopWriting = true
		d.mu.Unlock()
		err := c.out.flush(c.gc) // a failure closed the connection (OnClose ran)
		d.mu.Lock()
		d.loopWriting = false
		if err == nil {
			d.buffered = c.gc.OutboundBuffered() > 0
		}
		d.mu.Unlock()
		return err
	}
	// AsyncWritev only queues (it never writes or closes on this goroutine), so mu may
	// stay held while the batch goes behind the rest of the cut direct write.
	defer d.mu.Unlock()
	o := &c.out
	if len(o.buf) == 0 {
		return nil
	}
	iov := make([][]byte, 0, 2*len(o.cuts)+1)
	buf := append([]byte(nil), o.buf...)
	prev := 0
	for i, cut := range o.cuts {
		iov = append(iov, buf[prev:cut])
		iov = append(iov, o.parts[i]...)
		prev = cut
	}
	if prev < len(buf) {
		iov = append(iov, buf[prev:])
	}
	o.reset()
	for len(iov) > 0 {
		n := min(len(iov), maxIOV)
		d.async++
		if err := c.gc.AsyncWritev(iov[:n], c.afterWrite); err != nil {
			d.async--
			return err
		}
		iov = iov[n:]
	}
	return nil
}
