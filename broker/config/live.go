package config

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
)

// SetLive applies key=value to o when key is a setting that takes effect without a
// restart (UPDATE_BROKER_CONFIG); live is false for every other key, which is read
// once at Open. A bad value is a BadRequest refusal naming what would be right.
func (o *Options) SetLive(key, value string) (live bool, err error) {
	set, ok := liveKeys[key]
	if !ok {
		return false, nil
	}
	return true, set(o, value)
}

// liveKeys are the settings that take effect without a restart, each with the parser
// that applies its value to a copy of Options. Every other key is read once at Open.
var liveKeys = map[string]func(o *Options, v string) error{
	"longPollingEnable":                 func(o *Options, v string) error { return parseBool(&o.LongPollingEnable, v) },
	"shortPollingTimeMills":             func(o *Options, v string) error { return parseMillis(&o.ShortPollingTime, v) },
	"maxTransferCountOnMessageInMemory": func(o *Options, v string) error { return parsePositive(&o.MaxTransferCount, v) },
	"maxTransferBytesOnMessageInMemory": func(o *Options, v string) error { return parsePositive(&o.MaxTransferBytes, v) },
	"slaveReadEnable":                   func(o *Options, v string) error { return parseBool(&o.SlaveReadEnable, v) },
	"accessMessageInMemoryMaxRatio": func(o *Options, v string) error {
		if err := parsePositive(&o.AccessMessageInMemoryMaxRatio, v); err != nil || o.AccessMessageInMemoryMaxRatio <= 100 {
			return err
		}
		return refusal.New(refusal.BadRequest, "want a percentage 1..100")
	},
}

func parseBool(dst *bool, v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return refusal.New(refusal.BadRequest, "want true or false")
	}
	*dst = x
	return nil
}

func parsePositive(dst *int, v string) error {
	x, err := strconv.Atoi(v)
	if err != nil || x < 1 {
		return refusal.New(refusal.BadRequest, "want a positive integer")
	}
	*dst = x
	return nil
}

func parseMillis(dst *time.Duration, v string) error {
	var ms int
	if err := parsePositive(&ms, v); err != nil {
		return err
	}
	*dst = time.Duration(ms) * time.Millisecond
	return nil
}

// Property is one `key=value` line of properties text.
type Property struct{ Key, Value string }

// ParseProperties reads `key=value` (or `key:value`) lines, skipping blank lines and
// `#`/`!` comments, in order; a later duplicate wins.
func ParseProperties(text []byte) []Property {
	var out []Property
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			out = append(out, Property{line, ""})
			continue
		}
		k, v := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		if j := slices.IndexFunc(out, func(p Property) bool { return p.Key == k }); j >= 0 {
			out[j].Value = v
			continue
		}
		out = append(out, Property{k, v})
	}
	return out
}

// PropertyKeys is the set of keys of properties text.
func PropertyKeys(text []byte) map[string]bool {
	out := map[string]bool{}
	for _, p := range ParseProperties(text) {
		out[p.Key] = true
	}
	return out
}
