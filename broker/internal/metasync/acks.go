package metasync

import (
	"context"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
)

// A master answers a topic or subscription group change only once its slaves have
// applied it (Acks.Wait), so a topic whose creation was answered is served by a slave
// even when the master dies right after the answer. Slaves report the versions they
// have applied with every SLAVE_METADATA_VERSION (2500). A slave sends the next one as
// soon as the last is answered; the master holds a poll up to MaxHold while nothing
// changes and answers it at once on a change (Changed), so a change reaches the slave
// in a few round trips. A slave that has not reported for slaveGone is not waited for
// (it is down, or it is an older broker that never reports), and no wait is longer
// than the master's slaveTimeout.

// MaxHold is the longest a master holds a slave's SLAVE_METADATA_VERSION.
const MaxHold = 500 * time.Millisecond

// slaveGone is how long after its last report a slave stops being waited for.
const slaveGone = 4 * MaxHold

// Acks is a master's record of the metadata versions its slaves have applied.
type Acks struct {
	now func() time.Time

	mu      sync.Mutex
	slaves  map[int64]applied
	changed chan struct{} // closed and replaced at every report
	master  chan struct{} // closed and replaced at every change made on the master
}

// applied is one slave's last report.
type applied struct {
	topics, groups body.DataVersion
	at             time.Time
}

// NewAcks returns an empty record.
func NewAcks(now func() time.Time) *Acks {
	return &Acks{now: now, slaves: map[int64]applied{}, changed: make(chan struct{}), master: make(chan struct{})}
}

// Changed wakes the slaves' held polls: the master's metadata changed.
func (a *Acks) Changed() {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.master)
	a.master = make(chan struct{})
}

// Changes returns a channel closed at the next Changed.
func (a *Acks) Changes() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.master
}

// Report records that slave id has applied the given versions.
func (a *Acks) Report(id int64, topics, groups body.DataVersion) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.slaves[id] = applied{topics: topics, groups: groups, at: a.now()}
	close(a.changed)
	a.changed = make(chan struct{})
}

// Wait returns once every slave that reported within slaveGone has applied at least
// the given versions (compared by counter: a master's counters only grow), or when ctx
// ends; it reports whether they had.
func (a *Acks) Wait(ctx context.Context, topics, groups body.DataVersion) bool {
	for {
		a.mu.Lock()
		behind, ch := a.behindLocked(topics, groups), a.changed
		a.mu.Unlock()
		if !behind {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// Live returns how many slaves reported within slaveGone.
func (a *Acks) Live() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	cutoff, n := a.now().Add(-slaveGone), 0
	for _, s := range a.slaves {
		if !s.at.Before(cutoff) {
			n++
		}
	}
	return n
}

// behindLocked reports whether a live slave lacks the versions.
func (a *Acks) behindLocked(topics, groups body.DataVersion) bool {
	cutoff := a.now().Add(-slaveGone)
	for id, s := range a.slaves {
		if s.at.Before(cutoff) {
			delete(a.slaves, id)
			continue
		}
		if s.topics.Counter < topics.Counter || s.groups.Counter < groups.Counter {
			return true
		}
	}
	return false
}
