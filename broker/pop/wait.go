package pop

import "sync"

// waiters wakes receives waiting on a topic. Each topic has a channel that is closed
// (and replaced) on a wake-up; a receive takes the channel before it looks at the
// queues, so a wake-up between its look and its wait is not lost.
type waiters struct {
	mu     sync.Mutex
	chans  map[string]chan struct{}
	count  int
	closed bool
}

func (w *waiters) init() { w.chans = make(map[string]chan struct{}) }

// channel returns the channel the next wake-up of topic closes.
func (w *waiters) channel(topic string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.chans[topic]
	if c == nil {
		c = make(chan struct{})
		if w.closed {
			close(c)
			return c
		}
		w.chans[topic] = c
	}
	return c
}

// wake releases every receive waiting on topic. It costs a map lookup when none is.
func (w *waiters) wake(topic string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.chans[topic]; c != nil {
		close(c)
		delete(w.chans, topic)
	}
}

// enter counts a waiting receive; false when max are waiting already.
func (w *waiters) enter(max int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count >= max {
		return false
	}
	w.count++
	return true
}

func (w *waiters) leave() {
	w.mu.Lock()
	w.count--
	w.mu.Unlock()
}

// closeAll releases every waiting receive, now and later.
func (w *waiters) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for t, c := range w.chans {
		close(c)
		delete(w.chans, t)
	}
}

// Notify tells waiting receives that a message arrived in a queue of topic. The
// broker calls it from the store's dispatch hook for every append.
func (s *Service) Notify(topic string, _ int32) { s.waits.wake(topic) }
