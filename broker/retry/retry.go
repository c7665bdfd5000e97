// Package retry owns the pure rules of redelivery: which properties a re-sent
// message loses, how a send-back or DLQ resend copies a message, when a send-back goes
// to the dead-letter queue and at which delay level it retries, where a DLQ read
// resumes, and when a timer message is due. The broker root applies them in its
// CONSUMER_SEND_MSG_BACK, DLQ and send handlers (docs/protocol.md §8, §9.3).
package retry

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/broker/schedule"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// Strip are the properties a re-sent message loses: its old delay, timer and
// scheduling marks, which the new send sets again as it needs, and WAIT.
var Strip = []string{message.PropWait, message.PropDelay, message.PropTimerDeliverMS,
	message.PropTimerDelaySec, message.PropTimerDelayMS, message.PropTimerOutMS, schedule.PropFrom}

// Copy returns the message a send-back or a DLQ resend stores for old: its body, flag,
// born time and host, and its properties without the scheduling marks (Strip, removed
// from old's map); reconsume times as given, the store host this broker's. A copy is
// never part of a transaction. Topic and queue are the caller's to set.
func Copy(old *message.Ext, storeHost netip.AddrPort, reconsumeTimes int32) *message.Ext {
	for _, k := range Strip {
		delete(old.Properties, k)
	}
	return &message.Ext{
		Flag:           old.Flag,
		SysFlag:        old.SysFlag &^ message.TxMask,
		BornTimestamp:  old.BornTimestamp,
		BornHost:       old.BornHost,
		StoreHost:      storeHost,
		ReconsumeTimes: reconsumeTimes,
		Body:           old.Body,
		Properties:     old.Properties,
	}
}

// ToDLQ reports whether a sent-back message goes to the dead-letter queue: it was
// reconsumed maxTimes times already, or the consumer asked so (delayLevel < 0).
func ToDLQ(reconsumed, maxTimes, delayLevel int32) bool {
	return reconsumed >= maxTimes || delayLevel < 0
}

// Level is the delay level of a retry: the consumer's delayLevel, or when it is 0,
// 3 + reconsume times (the caller clamps it to the configured levels).
func Level(delayLevel, reconsumed int32) int {
	if delayLevel == 0 {
		return 3 + int(reconsumed)
	}
	return int(delayLevel)
}

// DLQNext is where the next read of a DLQ starts after res: past what was read, or at
// the queue's start or end when the offset was outside it.
func DLQNext(off int64, res store.GetResult) int64 {
	switch res.Status {
	case store.Found, store.NoMatchedMessage, store.MessageWasRemoving, store.OffsetTooSmall, store.OffsetOverflowBadly:
		return res.NextBegin
	case store.OffsetOverflowOne:
		return off
	}
	return 0
}

// ParseCount reads an optional maxCount: def when 0, at most limit.
func ParseCount(n, def, limit int32) (int, error) {
	switch {
	case n == 0:
		return int(def), nil
	case n < 0 || n > limit:
		return 0, refusal.New(refusal.BadRequest, "maxCount %d outside 1..%d", n, limit)
	}
	return int(n), nil
}

// TimerDeliverMS computes a timer message's due time (ms) from its properties, as
// RocketMQ 5's HookUtils does: TIMER_DELAY_SEC, else TIMER_DELAY_MS (both from now),
// else TIMER_DELIVER_MS (absolute). A value that is not a number, or a due time beyond
// the horizon, is MESSAGE_ILLEGAL.
func TimerDeliverMS(deliverMS, delaySec, delayMS string, now int64, horizon time.Duration) (int64, error) {
	key, val, scale, relative := message.PropTimerDeliverMS, deliverMS, int64(1), false
	switch {
	case delaySec != "":
		key, val, scale, relative = message.PropTimerDelaySec, delaySec, 1000, true
	case delayMS != "":
		key, val, relative = message.PropTimerDelayMS, delayMS, true
	}
	n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
	if err != nil {
		return 0, refusal.New(refusal.MessageIllegal, "timer message illegal: %s %q is not a whole number", key, val)
	}
	limit := horizon.Milliseconds()
	var ahead int64 // ms from now; saturated so no input overflows
	if relative {
		switch {
		case n > math.MaxInt64/scale:
			ahead = math.MaxInt64
		case n < math.MinInt64/scale:
			ahead = math.MinInt64
		default:
			ahead = n * scale
		}
	} else {
		ahead = n - now
		if n < 0 && now > 0 && ahead > 0 { // wrapped
			ahead = math.MinInt64
		}
	}
	if ahead > limit {
		return 0, refusal.New(refusal.MessageIllegal, "timer message illegal: %s %s is %s ahead, beyond the %s horizon (timerMaxDelay)",
			key, val, fmtAhead(ahead), horizon)
	}
	if ahead <= 0 {
		return now, nil
	}
	return now + ahead, nil
}

// fmtAhead renders a distance in ms for a remark.
func fmtAhead(ms int64) string {
	if ms > int64(math.MaxInt64/time.Millisecond) {
		return "practically forever"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}
