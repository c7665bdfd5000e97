package client

import (
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// Timer properties (RocketMQ 5's names), which rocketgo brokers honour for every
// client: the message is delivered at a chosen time instead of after a fixed level.
const (
	PropertyTimerDeliverMS = message.PropTimerDeliverMS // absolute delivery time, ms since the epoch
	PropertyTimerDelayMS   = message.PropTimerDelayMS   // delivery delay from the send, ms
	PropertyTimerDelaySec  = message.PropTimerDelaySec  // delivery delay from the send, s
)

// WithDeliverTime asks the broker to deliver m at t (TIMER_DELIVER_MS), to within
// 100 ms and never before. A time already past delivers at once. The broker refuses a
// time further ahead than its timerMaxDelay (30 days by default) with MESSAGE_ILLEGAL.
// A delay level (WithDelayLevel) wins over a delivery time. The zero time removes it.
func (m *Message) WithDeliverTime(t time.Time) *Message {
	if t.IsZero() {
		return m.WithProperty(PropertyTimerDeliverMS, "")
	}
	// Rounded up: never due before t.
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return m.WithProperty(PropertyTimerDeliverMS, strconv.FormatInt(ms, 10))
}

// WithDeliverDelay asks the broker to deliver m d after it stores it (TIMER_DELAY_MS),
// whatever the producer's clock says. A delay of 0 or less removes it.
func (m *Message) WithDeliverDelay(d time.Duration) *Message {
	if d <= 0 {
		return m.WithProperty(PropertyTimerDelayMS, "")
	}
	ms := d.Milliseconds()
	if d%time.Millisecond != 0 {
		ms++
	}
	return m.WithProperty(PropertyTimerDelayMS, strconv.FormatInt(ms, 10))
}
