package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultLevels is RocketMQ's messageDelayLevel.
const DefaultLevels = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"

// MaxLevels bounds the number of delay levels: each is a queue of SCHEDULE_TOPIC_XXXX,
// and the level travels as a small integer.
const MaxLevels = 64

// Levels is the delay table: Levels[i] is the delay of level i+1.
type Levels []time.Duration

// ParseLevels reads a messageDelayLevel value: delays separated by spaces, each a
// number with a unit s, m, h or d (RocketMQ's units), or any Go duration such as
// "500ms". Every delay must be positive and at most 30 days.
func ParseLevels(s string) (Levels, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, errors.New("schedule: messageDelayLevel is empty")
	}
	if len(fields) > MaxLevels {
		return nil, fmt.Errorf("schedule: messageDelayLevel has %d levels, at most %d", len(fields), MaxLevels)
	}
	ls := make(Levels, 0, len(fields))
	for i, f := range fields {
		d, err := parseDelay(f)
		if err != nil {
			return nil, fmt.Errorf("schedule: messageDelayLevel level %d %q: %v", i+1, f, err)
		}
		ls = append(ls, d)
	}
	return ls, nil
}

// maxLevelDelay bounds one level's delay.
const maxLevelDelay = 30 * 24 * time.Hour

// parseDelay reads "10s", "2m", "1h", "1d" (RocketMQ) or a Go duration ("1500ms").
func parseDelay(f string) (time.Duration, error) {
	var d time.Duration
	if n := len(f); n > 1 && f[n-1] == 'd' {
		v, err := strconv.ParseInt(f[:n-1], 10, 64)
		if err != nil || v > int64(maxLevelDelay/(24*time.Hour)) {
			return 0, errors.New("want a number of days up to 30")
		}
		d = time.Duration(v) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(f); err != nil {
			return 0, errors.New("want a number with a unit: ms, s, m, h or d")
		}
	}
	if d <= 0 || d > maxLevelDelay {
		return 0, fmt.Errorf("delay %v outside (0, 30 days]", d)
	}
	return d, nil
}

// Len returns the number of levels.
func (l Levels) Len() int { return len(l) }

// Delay returns the delay of level (1-based), 0 outside 1..Len.
func (l Levels) Delay(level int) time.Duration {
	if level < 1 || level > len(l) {
		return 0
	}
	return l[level-1]
}

// Clamp maps a requested level to the one used: levels above the highest use the
// highest, as RocketMQ caps DELAY at its last level. Levels below 1 stay as they are
// (they mean no delay).
func (l Levels) Clamp(level int) int {
	return min(level, len(l))
}

// String renders the table as a messageDelayLevel value.
func (l Levels) String() string {
	parts := make([]string, len(l))
	for i, d := range l {
		parts[i] = formatDelay(d)
	}
	return strings.Join(parts, " ")
}

// formatDelay renders d in RocketMQ's style when it is a whole number of a unit.
func formatDelay(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return d.String()
}
