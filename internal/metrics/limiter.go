package metrics

import "sync"

// Other is the label value that stands for every topic or group past the cap.
const Other = "__other__"

// DefaultMaxSeries is metricsMaxTopicSeries's default.
const DefaultMaxSeries = 1000

// Limiter bounds the distinct values one label takes: the first max values seen are
// kept, later ones read as Other. Values are admitted for the life of the process, so
// a value never moves between its own series and Other (a counter stays monotonic).
type Limiter struct {
	max int
	mu  sync.Mutex
	in  map[string]struct{}
}

// NewLimiter admits at most max values (max < 1 means DefaultMaxSeries).
func NewLimiter(max int) *Limiter {
	if max < 1 {
		max = DefaultMaxSeries
	}
	return &Limiter{max: max, in: make(map[string]struct{})}
}

// Value returns v when it is admitted (already, or now since there is room), else
// Other.
func (l *Limiter) Value(v string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.in[v]; ok {
		return v
	}
	if len(l.in) >= l.max {
		return Other
	}
	l.in[v] = struct{}{}
	return v
}
