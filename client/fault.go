package client

import (
	"sync"
	"sync/atomic"
	"time"
)

// FaultPolicy maps the latency of a send to how long its broker is avoided afterwards,
// the way RocketMQ's MQFaultStrategy does: the first threshold in LatencyMax that the
// latency reaches, counting from the top, selects the matching NotAvailable duration.
// A failed send counts as IsolationLatency.
type FaultPolicy struct {
	LatencyMax       []time.Duration // ascending thresholds
	NotAvailable     []time.Duration // avoidance per threshold, same length
	IsolationLatency time.Duration   // latency a failed send is counted as
}

// DefaultFaultPolicy returns MQFaultStrategy's tables: sends up to 100 ms leave the
// broker available; 550 ms avoids it 30 s, 1 s 60 s, 2 s 120 s, 3 s 180 s, and 15 s or
// a failure 600 s.
func DefaultFaultPolicy() FaultPolicy {
	ms := time.Millisecond
	return FaultPolicy{
		LatencyMax:       []time.Duration{50 * ms, 100 * ms, 550 * ms, 1000 * ms, 2000 * ms, 3000 * ms, 15000 * ms},
		NotAvailable:     []time.Duration{0, 0, 30 * time.Second, 60 * time.Second, 120 * time.Second, 180 * time.Second, 600 * time.Second},
		IsolationLatency: 30 * time.Second,
	}
}

// avoidFor returns how long a broker is avoided after a send of this latency.
func (p *FaultPolicy) avoidFor(latency time.Duration) time.Duration {
	n := min(len(p.LatencyMax), len(p.NotAvailable))
	for i := n - 1; i >= 0; i-- {
		if latency >= p.LatencyMax[i] {
			return p.NotAvailable[i]
		}
	}
	return 0
}

// faultItem is what the table knows of one broker.
type faultItem struct {
	latency time.Duration // of the last send
	until   time.Time     // avoided before this instant
}

// faultTable tracks, per broker name, until when sends should avoid it. It is a pure
// function of the updates and the injected clock, so tests drive it by hand. Safe for
// concurrent use.
type faultTable struct {
	policy FaultPolicy
	now    func() time.Time
	mu     sync.Mutex
	m      map[string]faultItem
	// avoided is len(m), stored under mu: a quick success with nothing avoided reads
	// it instead of taking mu.
	avoided atomic.Int32
}

// newFaultTable returns an empty table.
func newFaultTable(p FaultPolicy, now func() time.Time) *faultTable {
	if now == nil {
		now = time.Now
	}
	return &faultTable{policy: p, now: now, m: make(map[string]faultItem)}
}

// update records a send to broker that took latency; failed sends count as the
// policy's isolation latency.
func (f *faultTable) update(broker string, latency time.Duration, failed bool) {
	if failed {
		latency = f.policy.IsolationLatency
	}
	d := f.policy.avoidFor(latency)
	if d == 0 {
		// A quick success makes the broker available again at once; no entry needed.
		// The usual case (no broker avoided) costs no clock reading and no lock.
		if f.avoided.Load() == 0 {
			return
		}
		f.mu.Lock()
		delete(f.m, broker)
		f.avoided.Store(int32(len(f.m)))
		f.mu.Unlock()
		return
	}
	now := f.now()
	f.mu.Lock()
	f.m[broker] = faultItem{latency: latency, until: now.Add(d)}
	f.avoided.Store(int32(len(f.m)))
	f.mu.Unlock()
}

// available reports whether sends may go to broker now.
func (f *faultTable) available(broker string) bool {
	if f.avoided.Load() == 0 {
		return true
	}
	f.mu.Lock()
	it, ok := f.m[broker]
	f.mu.Unlock()
	return !ok || !f.now().Before(it.until)
}

// leastBad returns, of the given brokers, the one whose avoidance ends first (lowest
// latency on ties): where to send when every broker is being avoided.
func (f *faultTable) leastBad(brokers []string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	best := ""
	var bestItem faultItem
	for _, b := range brokers {
		it, ok := f.m[b]
		if !ok {
			return b
		}
		if best == "" || it.until.Before(bestItem.until) ||
			(it.until.Equal(bestItem.until) && it.latency < bestItem.latency) {
			best, bestItem = b, it
		}
	}
	return best
}
