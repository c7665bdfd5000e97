package schedule

import (
	"strconv"
	"strings"
)

// Topics and properties of scheduled messages.
const (
	// TopicSchedule holds delay-level messages until due: level n is queue n-1.
	TopicSchedule = "SCHEDULE_TOPIC_XXXX"
	// TopicTimer holds timer messages (TIMER_* properties) until due, in queue 0; it
	// also holds the records that cancel them. The name is RocketMQ 5's timer topic.
	TopicTimer = "rmq_sys_wheel_timer"
	// PropFrom marks a record written by the scheduler: a delivered copy names the
	// scheduled record it was made from, a cancel record the timer it cancels. The
	// value is "L<level>:<queue offset>" or "T<deliver ms>:<physical offset>". The
	// broker strips it from every message a client sends, so only the scheduler writes
	// it.
	PropFrom = "SCHEDULE_FROM"
	// PropTimerDelUniqKey is set on a cancel record: the unique key of the cancelled
	// timer (RocketMQ 5's TIMER_DEL_UNIQKEY).
	PropTimerDelUniqKey = "TIMER_DEL_UNIQKEY"
)

// From is a parsed PropFrom value.
type From struct {
	Timer bool
	// Level and QueueOffset name a delay-level record (Timer false): its level and its
	// offset in SCHEDULE_TOPIC_XXXX queue level-1.
	Level       int
	QueueOffset int64
	// DeliverMS and PhysicalOffset name a timer record (Timer true): its due time and
	// its CommitLog offset.
	DeliverMS      int64
	PhysicalOffset int64
}

// LevelFrom returns the PropFrom value of a copy of the delay-level record at queue
// offset qoff of level.
func LevelFrom(level int, qoff int64) string {
	return "L" + strconv.Itoa(level) + ":" + strconv.FormatInt(qoff, 10)
}

// TimerFrom returns the PropFrom value naming the timer record at physical offset phys,
// due at deliverMS.
func TimerFrom(deliverMS, phys int64) string {
	return "T" + strconv.FormatInt(deliverMS, 10) + ":" + strconv.FormatInt(phys, 10)
}

// ParseFrom reads a PropFrom value; ok is false for anything malformed or out of range.
func ParseFrom(s string) (f From, ok bool) {
	if len(s) < 4 {
		return From{}, false
	}
	a, b, found := strings.Cut(s[1:], ":")
	if !found {
		return From{}, false
	}
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || x < 0 || y < 0 {
		return From{}, false
	}
	switch s[0] {
	case 'L':
		if x < 1 || x > MaxLevels {
			return From{}, false
		}
		return From{Level: int(x), QueueOffset: y}, true
	case 'T':
		return From{Timer: true, DeliverMS: x, PhysicalOffset: y}, true
	}
	return From{}, false
}
