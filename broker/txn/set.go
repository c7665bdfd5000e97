package txn

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// Topics of the transaction records (TopicValidator.java, TransactionalMessageUtil.java).
const (
	// HalfTopic holds half messages: stored, never delivered until committed.
	HalfTopic = "RMQ_SYS_TRANS_HALF_TOPIC"
	// OpTopic holds the op records: rollbacks (tag "d") and check-backs sent (tag "c").
	OpTopic = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
	// CheckMaxTopic receives half messages given up on: checked transactionCheckMax
	// times, or older than the retention time.
	CheckMaxTopic = "TRANS_CHECK_MAX_TIME_TOPIC"
)

// Tags of op records.
const (
	// OpTagRemoved marks half messages that are resolved without a commit record:
	// rolled back, or dropped because their record is gone (Java's REMOVETAG "d").
	OpTagRemoved = "d"
	// OpTagChecked counts one check-back sent for each half message listed
	// (a rocketgo tag; Java re-appends the half message instead).
	OpTagChecked = "c"
)

// Name is the projection's name in the store checkpoint and in logs.
const Name = "txn-half"

// Outcome is how a transaction was resolved.
type Outcome uint8

// Outcomes of a transaction.
const (
	OutcomeUnknown    Outcome = iota // resolved, but the set no longer remembers how
	OutcomeCommitted                 // re-appended under its real topic
	OutcomeRolledBack                // discarded by the producer (or its record vanished)
	OutcomeDiscarded                 // moved to TRANS_CHECK_MAX_TIME_TOPIC by the broker
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OutcomeCommitted:
		return "committed"
	case OutcomeRolledBack:
		return "rolled back"
	case OutcomeDiscarded:
		return "discarded after too many checks"
	}
	return "resolved"
}

// Entry is one unresolved half message. Every field but Checks and LastCheck comes
// from the half record and never changes.
type Entry struct {
	Offset      int64         // physical offset of the half record: the transaction's key
	QueueOffset int64         // offset in the half queue (END_TRANSACTION's tranStateTableOffset)
	Group       string        // producer group (PGROUP)
	Topic       string        // real topic (REAL_TOPIC)
	QueueID     int32         // real queue (REAL_QID)
	UniqKey     string        // client message id (UNIQ_KEY), "" if none
	StoreTime   time.Time     // when the half record was stored
	Immunity    time.Duration // CHECK_IMMUNITY_TIME_IN_SECONDS, 0 when not set
	Checks      int           // check-backs sent so far (op records "c")
	LastCheck   time.Time     // when the last check-back was sent; zero if none

	claimed  bool    // a resolution is being written
	claimFor Outcome // the outcome that resolution will record
}

// ClaimStatus is what Claim found.
type ClaimStatus int

// Results of Claim.
const (
	// Claimed: the caller holds the entry and must write a resolution or Release it.
	Claimed ClaimStatus = iota
	// InProgress: another resolution is being written; Outcome says which.
	InProgress
	// Resolved: the transaction is already resolved; Outcome says how if known.
	Resolved
	// NotPending: the set knows no unresolved half message at that offset.
	NotPending
)

// recentCap bounds the resolutions remembered for answering late END_TRANSACTIONs.
const recentCap = 1 << 16

// Set is the half-message store: the unresolved half messages, built from the
// CommitLog by the store's dispatcher (it implements store.Projection) and consulted by
// END_TRANSACTION and the check-back loop. All methods are safe for concurrent use.
type Set struct {
	applied atomic.Int64 // every record below it has been applied

	mu struct {
		sync.Mutex
		pending map[int64]*Entry // by half record offset
		byQueue map[int64]int64  // half queue offset → half record offset
		recent  map[int64]Outcome
		ring    []int64 // recent keys, oldest first once full
		next    int
		waiters []waiter
	}
	nwaiters atomic.Int32
}

type waiter struct {
	off int64
	ch  chan struct{}
}

// New returns an empty set that has applied nothing below from: a store's first
// record offset when there is no snapshot to start from.
func New(from int64) *Set {
	s := &Set{}
	s.mu.pending = make(map[int64]*Entry)
	s.mu.byQueue = make(map[int64]int64)
	s.mu.recent = make(map[int64]Outcome)
	s.applied.Store(from)
	return s
}

// Name implements store.Projection.
func (s *Set) Name() string { return Name }

// Applied implements store.Projection: every record below it has been applied.
func (s *Set) Applied() int64 { return s.applied.Load() }

// Apply implements store.Projection. Records of other topics cost a topic comparison;
// it never fails, because a record it cannot read is not a transaction record the
// broker wrote.
func (s *Set) Apply(rec []byte, off int64) error {
	end := off + int64(len(rec))
	if kind := classify(rec); kind != recOther {
		// applied moves with the entries under the lock, so a snapshot never holds a
		// record's effect without its offset or the other way round.
		s.mu.Lock()
		s.applyLocked(kind, rec, off)
		s.applied.Store(end)
		s.mu.Unlock()
	} else {
		s.applied.Store(end)
	}
	if s.nwaiters.Load() > 0 {
		s.wake(end)
	}
	return nil
}

// Truncate implements store.Projection: forget the half messages at or past off. The
// broker never lets the set get ahead of the log (it drops a snapshot that is), so
// resolutions past off, which cannot be undone here, never occur.
func (s *Set) Truncate(off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.mu.pending {
		if k >= off {
			s.unindexLocked(e)
			delete(s.mu.pending, k)
		}
	}
	if s.applied.Load() > off {
		s.applied.Store(off)
	}
	return nil
}

type recKind int

const (
	recOther recKind = iota
	recHalf
	recOp
	recCommit
	recCheckMax
)

var (
	halfTopic     = []byte(HalfTopic)
	opTopic       = []byte(OpTopic)
	checkMaxTopic = []byte(CheckMaxTopic)
)

// classify says which kind of transaction record rec is, if any.
func classify(rec []byte) recKind {
	if message.TxType(message.RecordSysFlag(rec)) == message.TxCommitType {
		return recCommit
	}
	t := message.RecordTopicBytes(rec)
	switch {
	case bytes.Equal(t, halfTopic):
		return recHalf
	case bytes.Equal(t, opTopic):
		return recOp
	case bytes.Equal(t, checkMaxTopic):
		return recCheckMax
	}
	return recOther
}

func (s *Set) applyLocked(kind recKind, rec []byte, off int64) {
	switch kind {
	case recHalf:
		if _, ok := s.mu.pending[off]; ok {
			return
		}
		e := parseHalf(rec, off)
		s.mu.pending[off] = e
		s.mu.byQueue[e.QueueOffset] = off
	case recOp:
		tag, _ := message.PropertyOf(message.RecordProperties(rec), message.PropTags)
		ts := time.UnixMilli(message.RecordStoreTimestamp(rec))
		eachOffset(message.RecordBody(rec), func(q int64) {
			key, ok := s.mu.byQueue[q]
			if !ok {
				return
			}
			switch tag {
			case OpTagRemoved:
				s.resolveLocked(key, OutcomeRolledBack)
			case OpTagChecked:
				e := s.mu.pending[key]
				e.Checks++
				if ts.After(e.LastCheck) {
					e.LastCheck = ts
				}
			}
		})
	case recCommit:
		key := message.RecordPreparedTransactionOffset(rec)
		e, ok := s.mu.pending[key]
		// A commit names its half message by offset, and goes to the half message's
		// real queue: a copy of a committed message elsewhere (a retry) resolves nothing.
		if ok && e.QueueID == message.RecordQueueID(rec) && string(message.RecordTopicBytes(rec)) == e.Topic {
			s.resolveLocked(key, OutcomeCommitted)
		}
	case recCheckMax:
		key := message.RecordPreparedTransactionOffset(rec)
		if _, ok := s.mu.pending[key]; ok {
			s.resolveLocked(key, OutcomeDiscarded)
		}
	}
}

// parseHalf reads an entry from a half record in one pass over its properties.
func parseHalf(rec []byte, off int64) *Entry {
	e := &Entry{
		Offset:      off,
		QueueOffset: message.RecordQueueOffset(rec),
		StoreTime:   time.UnixMilli(message.RecordStoreTimestamp(rec)),
		QueueID:     -1,
	}
	props := message.RecordProperties(rec)
	for k, val, rest := message.NextProperty(props); k != nil; k, val, rest = message.NextProperty(rest) {
		switch string(k) {
		case message.PropProducerGroup:
			e.Group = string(val)
		case message.PropRealTopic:
			e.Topic = string(val)
		case message.PropRealQueueID:
			if q, err := strconv.ParseInt(string(val), 10, 32); err == nil {
				e.QueueID = int32(q)
			}
		case message.PropUniqKey:
			e.UniqKey = string(val)
		case message.PropCheckImmunity:
			e.Immunity = immunity(string(val))
		}
	}
	return e
}

// maxImmunity bounds CHECK_IMMUNITY_TIME_IN_SECONDS: past it the retention time
// decides anyway, and the product must not overflow a Duration.
const maxImmunity = 365 * 24 * time.Hour

// immunity parses CHECK_IMMUNITY_TIME_IN_SECONDS; 0 (use transactionTimeOut) when it
// is not a non-negative number, as Java falls back for an unparsable value.
func immunity(v string) time.Duration {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	if n > int64(maxImmunity/time.Second) {
		return maxImmunity
	}
	return time.Duration(n) * time.Second
}

// maxOpOffsets bounds the offsets read from one op record body.
const maxOpOffsets = 1 << 16

// eachOffset calls fn for every decimal number of a comma-separated op body; tokens
// that are not numbers are skipped.
func eachOffset(body []byte, fn func(int64)) {
	for n := 0; len(body) > 0 && n < maxOpOffsets; n++ {
		tok := body
		if i := bytes.IndexByte(body, ','); i >= 0 {
			tok, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if q, err := strconv.ParseInt(string(bytes.TrimSpace(tok)), 10, 64); err == nil {
			fn(q)
		}
	}
}

// resolveLocked removes a pending entry and remembers its outcome.
func (s *Set) resolveLocked(key int64, o Outcome) {
	e := s.mu.pending[key]
	s.unindexLocked(e)
	delete(s.mu.pending, key)
	if _, ok := s.mu.recent[key]; !ok {
		if len(s.mu.ring) < recentCap {
			s.mu.ring = append(s.mu.ring, key)
		} else {
			delete(s.mu.recent, s.mu.ring[s.mu.next])
			s.mu.ring[s.mu.next] = key
			s.mu.next = (s.mu.next + 1) % recentCap
		}
	}
	s.mu.recent[key] = o
}

// unindexLocked removes e's queue offset from the index, unless it now names another
// entry (queue offsets are unique in a log the broker wrote; a log that is not gets
// the newer half message indexed and the older one reachable by offset only).
func (s *Set) unindexLocked(e *Entry) {
	if s.mu.byQueue[e.QueueOffset] == e.Offset {
		delete(s.mu.byQueue, e.QueueOffset)
	}
}

// wake releases the waiters whose offset has been applied.
func (s *Set) wake(applied int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.mu.waiters[:0]
	for _, w := range s.mu.waiters {
		if w.off < applied {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	s.mu.waiters = kept
	s.nwaiters.Store(int32(len(kept)))
}

// WaitApplied waits until the record at off has been applied, or ctx ends.
func (s *Set) WaitApplied(ctx context.Context, off int64) error {
	if s.applied.Load() > off {
		return nil
	}
	ch := make(chan struct{})
	s.mu.Lock()
	s.mu.waiters = append(s.mu.waiters, waiter{off: off, ch: ch})
	// Publish the waiter before looking at applied again: Apply stores applied before
	// it looks at nwaiters, so one of the two sees the other.
	s.nwaiters.Store(int32(len(s.mu.waiters)))
	if s.applied.Load() > off {
		s.dropWaiterLocked(ch)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		s.dropWaiterLocked(ch)
		s.mu.Unlock()
		return fmt.Errorf("txn: record at %d not applied (applied through %d): %w", off, s.applied.Load(), ctx.Err())
	}
}

// dropWaiterLocked forgets the waiter of ch if it is still registered.
func (s *Set) dropWaiterLocked(ch chan struct{}) {
	for i, w := range s.mu.waiters {
		if w.ch == ch {
			s.mu.waiters = append(s.mu.waiters[:i], s.mu.waiters[i+1:]...)
			break
		}
	}
	s.nwaiters.Store(int32(len(s.mu.waiters)))
}

// Get returns the pending entry at off.
func (s *Set) Get(off int64) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.mu.pending[off]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Claim reserves the pending half message at off for a resolution that records o,
// so that two resolutions of one transaction (a producer's END_TRANSACTION and the
// answer to a check-back, say) can never both be written. With Claimed the caller
// must append the resolution or call Release. With InProgress and Resolved the
// returned Outcome is the other resolution's.
func (s *Set) Claim(off int64, o Outcome) (Entry, ClaimStatus, Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.mu.pending[off]; ok {
		if e.claimed {
			return *e, InProgress, e.claimFor
		}
		e.claimed, e.claimFor = true, o
		return *e, Claimed, o
	}
	if r, ok := s.mu.recent[off]; ok {
		return Entry{}, Resolved, r
	}
	return Entry{}, NotPending, OutcomeUnknown
}

// Release gives up a claim whose resolution could not be written.
func (s *Set) Release(off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.mu.pending[off]; ok {
		e.claimed = false
	}
}

// Resolution returns how the transaction of the half message at off was resolved, if
// the set still remembers.
func (s *Set) Resolution(off int64) (Outcome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.mu.recent[off]
	return o, ok
}

// MarkChecked notes a check-back sent at now, before its op record is applied, so
// that a check round run meanwhile does not check the same message again.
func (s *Set) MarkChecked(off int64, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.mu.pending[off]; ok && now.After(e.LastCheck) {
		e.LastCheck = now
	}
}

// Len returns the number of unresolved half messages.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.pending)
}

// List returns up to limit unresolved half messages of group (every group when group
// is ""), oldest first, and how many there are in all.
func (s *Set) List(group string, limit int) ([]Entry, int) {
	s.mu.Lock()
	out := make([]Entry, 0, min(len(s.mu.pending), 1024))
	for _, e := range s.mu.pending {
		if group == "" || e.Group == group {
			out = append(out, *e)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	total := len(out)
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, total
}

// entries returns copies of every pending entry (the snapshot and Due read them).
func (s *Set) entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.mu.pending))
	for _, e := range s.mu.pending {
		out = append(out, *e)
	}
	return out
}

// Policy holds the check-back settings (BrokerConfig.java's names).
type Policy struct {
	// Interval is how often the broker looks for half messages to check
	// (transactionCheckInterval); a message is checked at most once per interval.
	Interval time.Duration
	// Timeout is how old a half message must be before its first check-back
	// (transactionTimeOut), unless its CHECK_IMMUNITY_TIME_IN_SECONDS says otherwise.
	Timeout time.Duration
	// MaxChecks is how many check-backs a half message gets before it is given up
	// (transactionCheckMax).
	MaxChecks int
	// Retention is the age past which a half message is given up whatever its checks
	// (the store's fileReservedTime: its record is about to be deleted).
	Retention time.Duration
	// MaxPerRound bounds the check-backs of one round; the least recently checked go
	// first, so a backlog is worked through fairly over several rounds.
	MaxPerRound int
}

// DefaultMaxPerRound is the default Policy.MaxPerRound.
const DefaultMaxPerRound = 10000

// ActionKind is what a check round does with one half message.
type ActionKind int

// Actions of a check round.
const (
	// Check: send CHECK_TRANSACTION_STATE to a producer of the message's group.
	Check ActionKind = iota
	// Discard: give the message up (move it to TRANS_CHECK_MAX_TIME_TOPIC).
	Discard
)

// Action is one decision of Due.
type Action struct {
	Kind   ActionKind
	Entry  Entry
	Reason string // why a Discard, for the log line
}

// Due decides one check round at now: which unresolved half messages to check back
// and which to give up. It only reads the set; the caller carries the actions out and
// records them in the log (op records), from which the set learns of them. Messages
// being resolved are left alone. Discards come first, then checks, least recently
// checked (then oldest) first, at most p.MaxPerRound of them.
//
// Ages are measured from the half record's store time, so the broker's clock and the
// store's must agree.
func (s *Set) Due(now time.Time, p Policy) []Action {
	var discards, checks []Action
	for _, e := range s.entries() {
		if e.claimed {
			continue
		}
		age := now.Sub(e.StoreTime)
		if p.Retention > 0 && age >= p.Retention {
			discards = append(discards, Action{Kind: Discard, Entry: e,
				Reason: fmt.Sprintf("older than the retention time %v (age %v)", p.Retention, age.Truncate(time.Millisecond))})
			continue
		}
		imm := p.Timeout
		if e.Immunity > 0 {
			imm = e.Immunity
		}
		if age < imm {
			continue
		}
		if e.Checks >= p.MaxChecks {
			discards = append(discards, Action{Kind: Discard, Entry: e,
				Reason: fmt.Sprintf("checked %d times, transactionCheckMax is %d", e.Checks, p.MaxChecks)})
			continue
		}
		// Rounds come every Interval, but a ticker drifts: half an interval since the
		// last check is "a round ago", and a round run out of turn does not check twice.
		if !e.LastCheck.IsZero() && now.Sub(e.LastCheck) < p.Interval/2 {
			continue
		}
		checks = append(checks, Action{Kind: Check, Entry: e})
	}
	sort.Slice(discards, func(i, j int) bool { return discards[i].Entry.Offset < discards[j].Entry.Offset })
	sort.Slice(checks, func(i, j int) bool {
		a, b := checks[i].Entry, checks[j].Entry
		if !a.LastCheck.Equal(b.LastCheck) {
			return a.LastCheck.Before(b.LastCheck)
		}
		return a.Offset < b.Offset
	})
	limit := p.MaxPerRound
	if limit <= 0 {
		limit = DefaultMaxPerRound
	}
	if len(checks) > limit {
		checks = checks[:limit]
	}
	return append(discards, checks...)
}
