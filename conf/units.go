package conf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// durationUnits is the unit of a bare number for every duration option: RocketMQ's unit
// for the key (fileReservedTime in hours, the intervals and timeouts in milliseconds,
// timerMaxDelay in seconds as Java's timerMaxDelaySec). Without it a YAML
// `fileReservedTime: 48` would decode as 48 nanoseconds and every closed segment would
// be deleted at the next deleteWhen. A value with a unit ("48h", "500ms") is taken as
// written. A test fails when a duration option is missing here.
var durationUnits = map[string]time.Duration{
	"namesrv.brokerExpiry":     time.Millisecond, // Java's BROKER_CHANNEL_EXPIRED_TIME
	"namesrv.scanInterval":     time.Millisecond, // scanNotActiveBrokerInterval
	"namesrv.frameReadTimeout": time.Millisecond,

	"namesrv.controller.scanNotActiveBrokerInterval":     time.Millisecond,
	"namesrv.controller.controllerHeartBeatTimeoutMills": time.Millisecond,

	"broker.haSendHeartbeatInterval":  time.Millisecond,
	"broker.haHousekeepingInterval":   time.Millisecond,
	"broker.slaveTimeout":             time.Millisecond,
	"broker.slaveSyncInterval":        time.Millisecond,
	"broker.registerNameServerPeriod": time.Millisecond,
	"broker.clientChannelExpiry":      time.Millisecond, // channelExpiredTimeout
	"broker.shortPollingTimeMills":    time.Millisecond,
	"broker.transactionCheckInterval": time.Millisecond,
	"broker.transactionTimeOut":       time.Millisecond,
	"broker.duplicateWindow":          time.Millisecond,
	"broker.timerMaxDelay":            time.Second, // timerMaxDelaySec
	"broker.frameReadTimeout":         time.Millisecond,

	"broker.haMaxTimeSlaveNotCatchup":        time.Millisecond,
	"broker.controllerHeartBeatTimeoutMills": time.Millisecond,
	"broker.brokerHeartbeatInterval":         time.Millisecond,

	"store.flushIntervalCommitLog": time.Millisecond,
	"store.syncFlushTimeout":       time.Millisecond,
	"store.checkpointInterval":     time.Millisecond,
	"store.fileReservedTime":       time.Hour,
}

// unitWord names a unit in a message.
func unitWord(u time.Duration) string {
	switch u {
	case time.Hour:
		return "hours"
	case time.Minute:
		return "minutes"
	case time.Second:
		return "seconds"
	default:
		return "milliseconds"
	}
}

// bareNumber parses a value without a unit: a YAML number, or a string of digits from
// the environment or a properties file. ok is false for anything else (a default, a
// string with a unit), which decodes as before.
func bareNumber(raw any) (n float64, ok bool) {
	switch x := raw.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// applyUnits rewrites, in v, every duration given as a bare number into a duration in
// its key's unit, and RocketMQ's deleteWhen ("04", "04;16") into the one hour the store
// runs deletion at. It returns a warning for what it could not keep as written.
func applyUnits(v *viper.Viper) ([]string, error) {
	for key, unit := range durationUnits {
		n, ok := bareNumber(v.Get(key))
		if !ok {
			continue
		}
		d := n * float64(unit)
		if math.Abs(d) > math.MaxInt64 {
			return nil, fmt.Errorf("%s %v %s is out of range", key, n, unitWord(unit))
		}
		v.Set(key, time.Duration(d))
	}
	return deleteWhen(v)
}

// deleteWhen turns RocketMQ's deleteWhen, hours of day separated by ';' ("04;16"), into
// the single hour the store deletes at: the first one, with a warning when there are more.
// The hours are decimal: "08" is 8 (an octal reading would refuse it).
func deleteWhen(v *viper.Viper) ([]string, error) {
	const key = "store.deleteWhen"
	s, ok := v.Get(key).(string)
	if !ok {
		return nil, nil
	}
	var hours []int
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		h, err := strconv.Atoi(part)
		if err != nil || h < 0 || h > 23 {
			return nil, fmt.Errorf("%s %q: %q is not an hour 0-23", key, s, part)
		}
		hours = append(hours, h)
	}
	if len(hours) == 0 {
		return nil, fmt.Errorf("%s %q names no hour", key, s)
	}
	v.Set(key, hours[0])
	if len(hours) > 1 {
		return []string{fmt.Sprintf("deleteWhen %q: expired files are deleted once a day, at %02d", s, hours[0])}, nil
	}
	return nil, nil
}
