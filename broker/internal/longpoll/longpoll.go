// Package longpoll parks pull requests that found no new message and releases each one
// exactly once: when a matching message arrives on its queue, when its own deadline
// passes, or when the table closes (docs/protocol.md §9.9).
//
// The table knows nothing of frames or connections. A parked Request carries the queue
// it waits on, the offset it waits past, an optional tag filter, the owner it belongs to
// (a connection id, so a closed connection can drop its requests and so one connection
// cannot hold the whole table), and the Release function the table calls.
//
// Wake-ups are event driven and deadlines are exact: every parked request has its own
// timer (the runtime's timer heap), so a request is answered at its deadline rather than
// on the next tick of a coarse checker as Java's PullRequestHoldService does every 5 s.
//
// Invariants:
//   - Release runs at most once per request, never while the table's lock is held, so it
//     may call back into the table (for example to park again) or write to a socket.
//   - A request dropped with DropOwner is never released: its connection is gone.
//   - After Close, Park fails with ErrClosed and every request parked before was
//     released with Shutdown.
package longpoll

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Reason tells Release why a parked request left the table.
type Reason int

const (
	// Arrived: a message past the request's offset arrived on its queue and matched its
	// filter (or a Wake asked for a re-check).
	Arrived Reason = iota
	// Expired: the request's deadline passed.
	Expired
	// Shutdown: the table closed.
	Shutdown
)

// String returns the reason's name for logs.
func (r Reason) String() string {
	switch r {
	case Arrived:
		return "arrived"
	case Expired:
		return "expired"
	case Shutdown:
		return "shutdown"
	}
	return "unknown"
}

// Errors returned by Park.
var (
	// ErrFull: the table already holds Options.MaxTotal requests.
	ErrFull = errors.New("longpoll: too many parked pull requests")
	// ErrOwnerFull: the owner already holds Options.MaxPerOwner requests.
	ErrOwnerFull = errors.New("longpoll: too many parked pull requests on one connection")
	// ErrClosed: the table is closed.
	ErrClosed = errors.New("longpoll: closed")
	// ErrNoWait: the timeout is not positive, so there is nothing to wait for.
	ErrNoWait = errors.New("longpoll: timeout not positive")
)

// Timer is the part of *time.Timer the table uses.
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// AfterFunc starts a timer that calls f in its own goroutine after d. It must never call
// f synchronously.
type AfterFunc func(d time.Duration, f func()) Timer

// Options bound the table and choose its clock.
type Options struct {
	// MaxTotal bounds the requests parked at once over all owners (0: 65536).
	MaxTotal int
	// MaxPerOwner bounds the requests one owner may have parked (0: 4096).
	MaxPerOwner int
	// AfterFunc starts deadline timers; nil means time.AfterFunc. Tests pass a fake
	// clock.
	AfterFunc AfterFunc
}

// Default bounds. A push consumer parks at most one request per queue it owns, so 4096
// per connection covers a client consuming 4096 queues of one broker.
const (
	DefaultMaxTotal    = 65536
	DefaultMaxPerOwner = 4096
)

// Request is one parked pull. The table reads it but never modifies it.
type Request struct {
	Topic   string
	QueueID int32
	// Offset is the queue offset the pull asked for; a message arriving with a queue max
	// offset above it can satisfy the request.
	Offset int64
	// Owner identifies the connection the request came on.
	Owner uint64
	// Match filters arrivals by tags code; nil matches every message. It runs under the
	// table's lock and must be pure and fast.
	Match func(tagsCode int64) bool
	// Release is called exactly once with the reason the request left the table, unless
	// the request is dropped by DropOwner. It runs on the goroutine that released the
	// request: the notifier's, a timer's, or Close's caller.
	Release func(Reason)
	// NotFirst is set before Release when the same arrival released another request of
	// the queue before this one, or Close another request of the table: its answer may be
	// queued rather than written by the releasing goroutine, which has N writes to make
	// in a row.
	NotFirst bool
}

// key identifies one queue.
type key struct {
	topic   string
	queueID int32
}

// entry is a parked request with its bookkeeping; its fields are guarded by Table.mu.
type entry struct {
	req   *Request
	key   key
	timer Timer
	done  bool // left the table; Release called or due
}

// Table holds parked requests. Its methods are safe from any goroutine.
type Table struct {
	maxTotal    int
	maxPerOwner int
	afterFunc   AfterFunc

	// parked mirrors len of every queue list, read without the lock so Notify costs one
	// atomic load while nothing is parked (the common case on a busy producer).
	parked atomic.Int64

	mu struct {
		sync.Mutex
		closed  bool
		byKey   map[key][]*entry
		byOwner map[uint64]map[*entry]struct{}
	}
}

// New returns an empty table.
func New(o Options) *Table {
	t := &Table{maxTotal: o.MaxTotal, maxPerOwner: o.MaxPerOwner, afterFunc: o.AfterFunc}
	if t.maxTotal <= 0 {
		t.maxTotal = DefaultMaxTotal
	}
	if t.maxPerOwner <= 0 {
		t.maxPerOwner = DefaultMaxPerOwner
	}
	if t.afterFunc == nil {
		t.afterFunc = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	t.mu.byKey = make(map[key][]*entry)
	t.mu.byOwner = make(map[uint64]map[*entry]struct{})
	return t
}

// Park holds r until a message arrives past r.Offset, timeout passes, or the table
// closes, then calls r.Release. It fails, without ever calling Release, with ErrClosed,
// ErrFull, ErrOwnerFull or ErrNoWait.
//
// The caller must re-check its queue after Park returns (see Wake): a message that
// arrived between the caller's read and Park would otherwise wait for the deadline.
func (t *Table) Park(r *Request, timeout time.Duration) error {
	if timeout <= 0 {
		return ErrNoWait
	}
	e := &entry{req: r, key: key{r.Topic, r.QueueID}}
	t.mu.Lock()
	switch {
	case t.mu.closed:
		t.mu.Unlock()
		return ErrClosed
	case int(t.parked.Load()) >= t.maxTotal:
		t.mu.Unlock()
		return ErrFull
	case len(t.mu.byOwner[r.Owner]) >= t.maxPerOwner:
		t.mu.Unlock()
		return ErrOwnerFull
	}
	t.mu.byKey[e.key] = append(t.mu.byKey[e.key], e)
	owned := t.mu.byOwner[r.Owner]
	if owned == nil {
		owned = make(map[*entry]struct{})
		t.mu.byOwner[r.Owner] = owned
	}
	owned[e] = struct{}{}
	t.parked.Add(1)
	t.mu.Unlock()

	// The timer starts outside the lock; if the entry is released before the timer is
	// attached, the releaser could not stop it, so it is stopped here instead.
	tm := t.afterFunc(timeout, func() { t.expire(e) })
	t.mu.Lock()
	if e.done {
		t.mu.Unlock()
		tm.Stop()
		return nil
	}
	e.timer = tm
	t.mu.Unlock()
	return nil
}

// Notify tells the table that a message with tagsCode was appended to the queue, whose
// next offset is now maxOffset. Requests waiting on that queue for an offset below
// maxOffset whose filter accepts tagsCode are released with Arrived. It is called by the
// store's dispatch (on its goroutine or an appender's) for every ConsumeQueue append, so
// it does nothing but an atomic load while no request is parked.
func (t *Table) Notify(topic string, queueID int32, maxOffset, tagsCode int64) {
	if t.parked.Load() == 0 {
		return
	}
	t.release(key{topic, queueID}, func(e *entry) bool {
		return maxOffset > e.req.Offset && (e.req.Match == nil || e.req.Match(tagsCode))
	})
}

// Wake releases with Arrived every request on the queue waiting for an offset below
// maxOffset, whatever its filter: the caller re-runs the pull and answers whatever it
// finds. It closes the race between a pull finding nothing and parking.
func (t *Table) Wake(topic string, queueID int32, maxOffset int64) {
	if t.parked.Load() == 0 {
		return
	}
	t.release(key{topic, queueID}, func(e *entry) bool { return maxOffset > e.req.Offset })
}

// release removes the entries of k that pick accepts and releases them with Arrived.
func (t *Table) release(k key, pick func(*entry) bool) {
	var woken []*entry
	t.mu.Lock()
	list := t.mu.byKey[k]
	if len(list) == 0 {
		t.mu.Unlock()
		return
	}
	kept := list[:0]
	for _, e := range list {
		if pick(e) {
			woken = append(woken, e)
			t.forgetLocked(e)
			continue
		}
		kept = append(kept, e)
	}
	t.setListLocked(k, list, kept)
	t.mu.Unlock()
	for i, e := range woken {
		if e.timer != nil {
			e.timer.Stop()
		}
		e.req.NotFirst = i > 0
		e.req.Release(Arrived)
	}
}

// expire releases e with Expired unless something released it first.
func (t *Table) expire(e *entry) {
	t.mu.Lock()
	if e.done {
		t.mu.Unlock()
		return
	}
	t.removeLocked(e)
	t.mu.Unlock()
	e.req.Release(Expired)
}

// DropOwner forgets every request of owner without releasing it: the connection that
// would carry the answers is gone.
func (t *Table) DropOwner(owner uint64) {
	t.mu.Lock()
	owned := t.mu.byOwner[owner]
	dropped := make([]*entry, 0, len(owned))
	for e := range owned {
		dropped = append(dropped, e)
	}
	for _, e := range dropped {
		t.removeLocked(e)
	}
	t.mu.Unlock()
	for _, e := range dropped {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
}

// Close releases every parked request with Shutdown and refuses later Parks. It returns
// once every Release it started has returned.
func (t *Table) Close() {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return
	}
	t.mu.closed = true
	var all []*entry
	for _, list := range t.mu.byKey {
		for _, e := range list {
			e.done = true
			e.req.NotFirst = len(all) > 0 // one goroutine releases them all: queue the answers
			all = append(all, e)
		}
	}
	t.mu.byKey = make(map[key][]*entry)
	t.mu.byOwner = make(map[uint64]map[*entry]struct{})
	t.parked.Store(0)
	t.mu.Unlock()
	for _, e := range all {
		if e.timer != nil {
			e.timer.Stop()
		}
		e.req.Release(Shutdown)
	}
}

// Len returns the number of parked requests.
func (t *Table) Len() int { return int(t.parked.Load()) }

// OwnerLen returns the number of requests owner has parked.
func (t *Table) OwnerLen(owner uint64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.mu.byOwner[owner])
}

// removeLocked takes e out of its queue list and its owner set. t.mu must be held.
func (t *Table) removeLocked(e *entry) {
	list := t.mu.byKey[e.key]
	kept := list[:0]
	for _, o := range list {
		if o != e {
			kept = append(kept, o)
		}
	}
	t.forgetLocked(e)
	t.setListLocked(e.key, list, kept)
}

// forgetLocked marks e done and removes it from its owner set and the count; the caller
// removes it from its queue list. t.mu must be held.
func (t *Table) forgetLocked(e *entry) {
	e.done = true
	owned := t.mu.byOwner[e.req.Owner]
	delete(owned, e)
	if len(owned) == 0 {
		delete(t.mu.byOwner, e.req.Owner)
	}
	t.parked.Add(-1)
}

// setListLocked stores kept as k's list, clearing the tail of the old backing array so
// released entries can be collected, and deleting the key when the list is empty.
// t.mu must be held.
func (t *Table) setListLocked(k key, old, kept []*entry) {
	clear(old[len(kept):])
	if len(kept) == 0 {
		delete(t.mu.byKey, k)
		return
	}
	t.mu.byKey[k] = kept
}
