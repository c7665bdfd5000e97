// Package locks owns the broker's queue lock table: the leases that give one member
// of a consumer group a queue for orderly consumption (LOCK_BATCH_MQ 41 and
// UNLOCK_BATCH_MQ 42 are served by the broker root on top of it).
package locks

import (
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
)

// DefaultLease is how long a queue lock lasts without renewal (Java's
// rocketmq.broker.rebalance.lockMaxLiveTime). The Go client renews every 20 s and
// considers its own lock stale after 30 s, so a live holder never loses a queue.
const DefaultLease = 60 * time.Second

// MaxEntries bounds the leases held at once. Real use is a few thousand (queues of
// orderly groups); the bound keeps a flood of lock requests for invented queues from
// growing the table until leases expire. At the bound, only queues already in the table
// can be granted.
const MaxEntries = 1 << 20

// entry is one leased queue: who holds it and when they last locked it.
type entry struct {
	clientID string
	renewed  time.Time
}

// Table leases queues to the members of a consumer group for orderly consumption
// (RebalanceLockManager.java). A lease belongs to a client id, not a connection: the
// same client locking again renews it; another client gets the queue only once the
// holder unlocks it or the lease runs out. Closing a connection does not release its
// leases (as in Java): the holder may reconnect, and the lease bounds the wait.
//
// Methods are safe from any goroutine.
type Table struct {
	now   func() time.Time
	lease time.Duration
	log   zerolog.Logger

	max int

	mu struct {
		sync.Mutex
		groups map[string]map[body.MessageQueue]*entry
		count  int // entries over all groups
	}
}

// New returns an empty table on the clock now, with leases of lease.
func New(now func() time.Time, lease time.Duration, log zerolog.Logger) *Table {
	l := &Table{now: now, lease: lease, log: log, max: MaxEntries}
	l.mu.groups = make(map[string]map[body.MessageQueue]*entry)
	return l
}

// TryLockBatch leases each of mqs to clientID where it is free, expired, or already
// the client's, and returns the queues the client holds now, in the order asked.
func (l *Table) TryLockBatch(group, clientID string, mqs []body.MessageQueue) []body.MessageQueue {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.mu.groups[group]
	if g == nil {
		g = make(map[body.MessageQueue]*entry, len(mqs))
		l.mu.groups[group] = g
	}
	defer func() {
		if len(g) == 0 {
			delete(l.mu.groups, group)
		}
	}()
	locked := make([]body.MessageQueue, 0, len(mqs))
	for _, mq := range mqs {
		e := g[mq]
		switch {
		case e == nil:
			if l.mu.count >= l.max {
				continue
			}
			g[mq] = &entry{clientID: clientID, renewed: now}
			l.mu.count++
		case e.clientID == clientID:
			e.renewed = now
		case l.expired(e, now):
			l.log.Info().Str("group", group).Str("topic", mq.Topic).Int32("queue_id", mq.QueueID).
				Str("client_id", clientID).Str("previous", e.clientID).Msg("queue lock expired, taken over")
			e.clientID, e.renewed = clientID, now
		default:
			continue
		}
		locked = append(locked, mq)
	}
	return locked
}

// UnlockBatch releases those of mqs that clientID holds; queues held by others are left
// alone.
func (l *Table) UnlockBatch(group, clientID string, mqs []body.MessageQueue) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.mu.groups[group]
	for _, mq := range mqs {
		if e := g[mq]; e != nil && e.clientID == clientID {
			delete(g, mq)
			l.mu.count--
		}
	}
	if g != nil && len(g) == 0 {
		delete(l.mu.groups, group)
	}
}

// Holder returns the client holding mq for group, if the lease is live.
func (l *Table) Holder(group string, mq body.MessageQueue) (string, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.mu.groups[group][mq]; e != nil && !l.expired(e, now) {
		return e.clientID, true
	}
	return "", false
}

// PurgeExpired drops expired leases, so queues of departed clients do not accumulate.
// Dropping one is invisible to clients: an expired lease is granted to the next asker
// either way.
func (l *Table) PurgeExpired() {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for group, g := range l.mu.groups {
		for mq, e := range g {
			if l.expired(e, now) {
				delete(g, mq)
				l.mu.count--
			}
		}
		if len(g) == 0 {
			delete(l.mu.groups, group)
		}
	}
}

// expired reports whether e's lease has run out at now.
func (l *Table) expired(e *entry, now time.Time) bool {
	return now.Sub(e.renewed) > l.lease
}
