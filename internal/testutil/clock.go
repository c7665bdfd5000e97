package testutil

import (
	"sync"
	"time"
)

// Clock is a clock a test moves by hand, for code that takes a now func: it starts at
// 2024-05-01 12:00 UTC and only Advance changes it. Safe from any goroutine.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at 2024-05-01 12:00:00 UTC.
func NewClock() *Clock {
	return &Clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
