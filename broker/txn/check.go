package txn

import (
	"fmt"
	"sort"
	"time"
)

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
