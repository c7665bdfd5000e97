package dedup

import (
	"fmt"
	"strconv"
	"time"
)

// Attribute is the topic attribute that sets a topic's window ("+duplicate.window=2m"
// in UPDATE_AND_CREATE_TOPIC's attributes; stored without the "+").
const Attribute = "duplicate.window"

// MaxWindow bounds a window: a longer one would hold keys for longer than the log is
// usually kept.
const MaxWindow = 24 * time.Hour

// ParseWindow reads a window: a Go duration ("90s", "2m") or a bare number of
// milliseconds, RocketMQ's unit for time keys. "0" turns the window off.
func ParseWindow(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		ms, nerr := strconv.ParseInt(s, 10, 64)
		if nerr != nil {
			return 0, fmt.Errorf("%s %q: want a duration such as 2m or milliseconds", Attribute, s)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d < 0 || d > MaxWindow {
		return 0, fmt.Errorf("%s %q: outside 0..%v", Attribute, s, MaxWindow)
	}
	return d, nil
}
