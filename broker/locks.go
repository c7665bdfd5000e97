package broker

import (
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// lockLease is how long a queue lock lasts without renewal (Java's
// rocketmq.broker.rebalance.lockMaxLiveTime). The Go client renews every 20 s and
// considers its own lock stale after 30 s, so a live holder never loses a queue.
const lockLease = 60 * time.Second

// maxLockEntries bounds the leases held at once. Real use is a few thousand (queues of
// orderly groups); the bound keeps a flood of lock requests for invented queues from
// growing the table until leases expire. At the bound, only queues already in the table
// can be granted.
const maxLockEntries = 1 << 20

// lockEntry is one leased queue: who holds it and when they last locked it.
type lockEntry struct {
	clientID string
	renewed  time.Time
}

// lockTable leases queues to the members of a consumer group for orderly consumption
// (RebalanceLockManager.java). A lease belongs to a client id, not a connection: the
// same client locking again renews it; another client gets the queue only once the
// holder unlocks it or the lease runs out. Closing a connection does not release its
// leases (as in Java): the holder may reconnect, and the lease bounds the wait.
//
// Methods are safe from any goroutine.
type lockTable struct {
	now   func() time.Time
	lease time.Duration
	log   zerolog.Logger

	max int

	mu struct {
		sync.Mutex
		groups map[string]map[body.MessageQueue]*lockEntry
		count  int // entries over all groups
	}
}

// newLockTable builds the broker's lock table on the broker's clock.
func newLockTable(b *Broker) *lockTable {
	return newLockTableWith(b.now, lockLease, b.log.With().Str("component", "locks").Logger())
}

func newLockTableWith(now func() time.Time, lease time.Duration, log zerolog.Logger) *lockTable {
	l := &lockTable{now: now, lease: lease, log: log, max: maxLockEntries}
	l.mu.groups = make(map[string]map[body.MessageQueue]*lockEntry)
	return l
}

// tryLockBatch leases each of mqs to clientID where it is free, expired, or already
// the client's, and returns the queues the client holds now, in the order asked.
func (l *lockTable) tryLockBatch(group, clientID string, mqs []body.MessageQueue) []body.MessageQueue {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.mu.groups[group]
	if g == nil {
		g = make(map[body.MessageQueue]*lockEntry, len(mqs))
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
			g[mq] = &lockEntry{clientID: clientID, renewed: now}
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

// unlockBatch releases those of mqs that clientID holds; queues held by others are left
// alone.
func (l *lockTable) unlockBatch(group, clientID string, mqs []body.MessageQueue) {
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

// holder returns the client holding mq for group, if the lease is live.
func (l *lockTable) holder(group string, mq body.MessageQueue) (string, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.mu.groups[group][mq]; e != nil && !l.expired(e, now) {
		return e.clientID, true
	}
	return "", false
}

// purgeExpired drops expired leases, so queues of departed clients do not accumulate.
// Dropping one is invisible to clients: an expired lease is granted to the next asker
// either way.
func (l *lockTable) purgeExpired() {
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
func (l *lockTable) expired(e *lockEntry, now time.Time) bool {
	return now.Sub(e.renewed) > l.lease
}

// handleLockBatch serves LOCK_BATCH_MQ (41): the answer lists the queues the client
// holds after the call. A body that does not parse is SYSTEM_ERROR with the reason.
func (b *Broker) handleLockBatch(_ *server.Conn, req *codec.Command) *codec.Command {
	r, err := body.DecodeLockBatchRequest(req.Body)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "%v", err))
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = (&body.LockBatchResponseBody{
		LockOKMQSet: b.locks.tryLockBatch(r.ConsumerGroup, r.ClientID, r.MQSet),
	}).Encode()
	return resp
}

// handleUnlockBatch serves UNLOCK_BATCH_MQ (42). The Go client may send it "oneway"
// (flag 0); the answer is then ignored by the client.
func (b *Broker) handleUnlockBatch(_ *server.Conn, req *codec.Command) *codec.Command {
	r, err := body.DecodeUnlockBatchRequest(req.Body)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "%v", err))
	}
	b.locks.unlockBatch(r.ConsumerGroup, r.ClientID, r.MQSet)
	return req.NewResponse(code.Success, "")
}
