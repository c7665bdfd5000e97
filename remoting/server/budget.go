package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the inbound memory limits (docs/operations.md §1.5 gives the reasons).
const (
	// DefaultMaxBufferedRequestBytes is the server-wide budget: eight 16 MiB frames.
	DefaultMaxBufferedRequestBytes = 128 << 20
	// DefaultMaxBufferedRequestBytesPerConn is one connection's share: a 16 MiB frame
	// arriving while another one waits for a worker.
	DefaultMaxBufferedRequestBytesPerConn = 32 << 20
	// DefaultFrameReadTimeout is how long one frame may take to arrive, from its first
	// byte: a 16 MiB frame needs about 4.5 Mbit/s to make it.
	DefaultFrameReadTimeout = 30 * time.Second
	// SmallFrameBytes is the size up to which a frame is admitted whatever the
	// server-wide budget says: the server reads a socket ReadBufferBytes at a time, so
	// a connection holds that much before it can be paused anyway, and ordinary
	// requests (a send of a few KiB, a pull, a heartbeat) keep being served while large
	// frames wait.
	SmallFrameBytes = ReadBufferBytes
	// ReadBufferBytes is the most one read of a socket returns (gnet's read buffer,
	// one per event loop). A producer that pipelines sends has hundreds of KiB waiting
	// on its socket: with 256 KiB, one read event carries about 150 sends of 1 KiB
	// (with 64 KiB, 50), and the event loop pays its fixed costs per read event — the
	// read and the write of the answers, the store append of the batch, the wake-ups —
	// three times less often per message.
	ReadBufferBytes = 256 << 10
)

// budget counts the bytes a Server holds on behalf of its peers: each unfinished frame
// (its whole declared size once admitted, else the bytes that arrived so far) and each
// request waiting for or running on a worker. A frame larger than SmallFrameBytes is
// admitted only when its full size fits under limit; a frame of any size only when the
// connection's share stays under perConn. A connection whose next frame is not admitted
// stops being read — its peer's bytes stay in the kernel's socket buffer and TCP flow
// control slows the peer down — until enough is released, and then it is woken in the
// order it began to wait.
//
// The total can exceed limit by at most SmallFrameBytes per connection (small frames,
// and what one read brought in before a pause), never by a large frame.
type budget struct {
	limit   int64
	perConn int64
	used    atomic.Int64

	mu      sync.Mutex
	waiting []*Conn      // paused connections, oldest first
	nwait   atomic.Int32 // len(waiting), read without mu by every release
}

// admit reserves what c's next frame of size bytes needs, beyond the unadmitted bytes c
// already holds (its claim). It reports whether the frame may be read to its end.
func (b *budget) admit(c *Conn, size int64) bool {
	if c.queued.Load()+size > b.perConn {
		return false
	}
	for {
		claim := c.claim.Load()
		used := b.used.Load()
		if size > SmallFrameBytes && used-claim+size > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used-claim+size) {
			c.claim.Store(size)
			return true
		}
	}
}

// setClaim makes c's unadmitted inbound bytes count as n.
func (b *budget) setClaim(c *Conn, n int64) {
	if old := c.claim.Swap(n); old != n {
		b.used.Add(n - old)
		if n < old {
			b.wake()
		}
	}
}

// release returns n bytes (a served request, a closed connection's claim) and wakes the
// paused connections that now fit.
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.used.Add(-n)
	b.wake()
}

// wait queues c (paused, wanting want bytes for its next frame) for a wake-up.
func (b *budget) wait(c *Conn, want int64) {
	c.want.Store(want)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !c.waiting {
		c.waiting = true
		b.waiting = append(b.waiting, c)
		b.nwait.Store(int32(len(b.waiting)))
	}
	// A release between the failed admission and the queueing found nobody to wake.
	b.wakeLocked()
}

// forget removes a closed connection from the queue.
func (b *budget) forget(c *Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !c.waiting {
		return
	}
	c.waiting = false
	for i, w := range b.waiting {
		if w == c {
			b.waiting = append(b.waiting[:i], b.waiting[i+1:]...)
			b.nwait.Store(int32(len(b.waiting)))
			break
		}
	}
}

// wake wakes the paused connections that now fit. Without any, it costs one load: it
// runs on every served request.
func (b *budget) wake() {
	if b.nwait.Load() == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wakeLocked()
}

// wakeLocked wakes, oldest first, the paused connections whose next frame fits in what
// is free, counting what the ones woken before them will take. A connection waiting
// only for its own queued requests is passed over; the first large frame that does not
// fit the server-wide budget stops the scan, so it is not overtaken for ever by later
// ones.
func (b *budget) wakeLocked() {
	if len(b.waiting) == 0 {
		return
	}
	free := b.limit - b.used.Load()
	keep := b.waiting[:0]
	blocked := false
	for _, c := range b.waiting {
		want := c.want.Load()
		need := want - c.claim.Load()
		switch {
		case c.queued.Load()+want > b.perConn:
			keep = append(keep, c)
		case want > SmallFrameBytes && (blocked || need > free):
			blocked = true
			keep = append(keep, c)
		default:
			free -= need
			c.waiting = false
			c.wake()
		}
	}
	clear(b.waiting[len(keep):])
	b.waiting = keep
	b.nwait.Store(int32(len(keep)))
}
