package dedup

import (
	"strings"
	"sync"
	"time"
)

// Key names one remembered message: its topic and its UNIQ_KEY.
type Key struct {
	Topic string
	Uniq  string
}

// DefaultMaxKeys is the default bound on remembered keys per broker.
const DefaultMaxKeys = 1 << 20

// entry is one remembered message.
type entry struct {
	key      Key
	phys     int64 // physical offset of the original record
	expireMS int64 // the entry is forgotten at or after this time (ms since the epoch)
}

// Window remembers keys for a time, in a bounded ring. It is safe for concurrent use.
type Window struct {
	now     func() time.Time
	maxKeys int

	mu       sync.Mutex
	ring     []entry // at most maxKeys long, doubled on demand
	head     int     // index of the oldest entry
	n        int     // entries in the ring
	index    map[Key]int
	inflight map[Key]chan struct{} // keys being appended; the channel, made by the first waiter, closes at the end
	topics   map[string]string     // interned topic names
}

// New returns an empty window holding at most maxKeys keys (DefaultMaxKeys when not
// positive), reading the time from now (time.Now when nil).
func New(maxKeys int, now func() time.Time) *Window {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Window{
		now:      now,
		maxKeys:  maxKeys,
		index:    make(map[Key]int),
		inflight: make(map[Key]chan struct{}),
		topics:   make(map[string]string),
	}
}

// Len returns how many keys the window holds (expired ones not yet dropped included).
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Lookup returns the physical offset of the stored message k names, if the window
// remembers it and it has not expired.
func (w *Window) Lookup(k Key) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lookupLocked(k, w.now().UnixMilli())
}

func (w *Window) lookupLocked(k Key, nowMS int64) (int64, bool) {
	i, ok := w.index[k]
	if !ok {
		return 0, false
	}
	e := &w.ring[i]
	if e.expireMS <= nowMS {
		return 0, false
	}
	return e.phys, true
}

// Begin starts the send of k. If the window remembers k, it returns its offset and
// dup. If another send of k is being appended, it returns that send's wait channel:
// the caller waits for it to close and calls Begin again. Otherwise the send is
// registered as in flight and the caller must call Commit or Abort.
func (w *Window) Begin(k Key) (phys int64, dup bool, wait <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if phys, ok := w.lookupLocked(k, w.now().UnixMilli()); ok {
		return phys, true, nil
	}
	if ch, ok := w.inflight[k]; ok {
		if ch == nil {
			ch = make(chan struct{})
			w.inflight[k] = ch
		}
		return 0, false, ch
	}
	w.inflight[k] = nil // no waiter yet: most sends never get one
	return 0, false, nil
}

// Commit ends the in-flight send of k, which stored the message at phys: k is
// remembered for window (unless the dispatcher already recorded it).
func (w *Window) Commit(k Key, phys int64, window time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	nowMS := w.now().UnixMilli()
	w.recordLocked(k, phys, nowMS+window.Milliseconds(), nowMS)
	w.endFlightLocked(k)
}

// Abort ends the in-flight send of k without remembering it (the append failed).
func (w *Window) Abort(k Key) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endFlightLocked(k)
}

func (w *Window) endFlightLocked(k Key) {
	if ch, ok := w.inflight[k]; ok {
		delete(w.inflight, k)
		if ch != nil {
			close(ch)
		}
	}
}

// Record remembers k, stored at phys at storeMS (ms since the epoch), for window. A
// key the window already remembers keeps its first offset; a message already expired
// is not recorded.
func (w *Window) Record(k Key, phys, storeMS int64, window time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recordLocked(k, phys, storeMS+window.Milliseconds(), w.now().UnixMilli())
}

func (w *Window) recordLocked(k Key, phys, expireMS, nowMS int64) {
	w.expireLocked(nowMS)
	if expireMS <= nowMS {
		return
	}
	if _, ok := w.lookupLocked(k, nowMS); ok {
		return
	}
	if i, ok := w.index[k]; ok { // expired but still in the ring: forget it first
		delete(w.index, k)
		w.ring[i].key = Key{}
	}
	if w.n == w.maxKeys {
		w.popLocked()
	}
	if t, ok := w.topics[k.Topic]; ok {
		k.Topic = t
	} else {
		k.Topic = strings.Clone(k.Topic)
		w.topics[k.Topic] = k.Topic
	}
	k.Uniq = strings.Clone(k.Uniq) // never pin the request or the mapping it came from
	if w.n == len(w.ring) {
		w.growLocked()
	}
	i := (w.head + w.n) % len(w.ring)
	w.ring[i] = entry{key: k, phys: phys, expireMS: expireMS}
	w.n++
	w.index[k] = i
}

// growLocked doubles the ring (up to maxKeys), moving the entries to its start in
// order.
func (w *Window) growLocked() {
	next := make([]entry, min(max(2*len(w.ring), 1024), w.maxKeys))
	for j := 0; j < w.n; j++ {
		e := w.ring[(w.head+j)%len(w.ring)]
		next[j] = e
		if i, ok := w.index[e.key]; ok && i == (w.head+j)%len(w.ring) {
			w.index[e.key] = j
		}
	}
	w.ring, w.head = next, 0
}

// expireLocked drops expired entries from the head of the ring.
func (w *Window) expireLocked(nowMS int64) {
	for w.n > 0 && w.ring[w.head].expireMS <= nowMS {
		w.popLocked()
	}
}

// popLocked drops the oldest entry.
func (w *Window) popLocked() {
	e := &w.ring[w.head]
	if i, ok := w.index[e.key]; ok && i == w.head {
		delete(w.index, e.key)
	}
	*e = entry{}
	w.head = (w.head + 1) % len(w.ring)
	w.n--
}

// Truncate forgets every entry stored at or past phys (the log was cut there).
func (w *Window) Truncate(phys int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, i := range w.index {
		if w.ring[i].phys >= phys {
			delete(w.index, k)
			w.ring[i].expireMS = 0 // dropped from the ring when it reaches the head
		}
	}
}
