package conf

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Setting is one option as a properties file writes it: Key is flat for the program's
// own sections and dotted for others; Value is in the key's RocketMQ unit.
type Setting struct {
	Key, Value string
	// Default is the option's default, in the same form.
	Default string
}

// Settings lists every option of prog's sections, and of the extra sections, in field
// order, as mqbroker -p prints them. The list written as a properties file loads back to
// the same configuration.
func Settings(cfg Config, prog Program, extra ...string) []Setting {
	own := map[string]bool{}
	for _, s := range prog.sections() {
		own[s] = true
	}
	want := map[string]bool{}
	for _, s := range extra {
		want[s] = true
	}
	def := leaves(reflect.ValueOf(Default()), "")
	var out []Setting
	for i, lf := range leaves(reflect.ValueOf(cfg), "") {
		sec, name, _ := strings.Cut(lf.key, ".")
		key := lf.key
		switch {
		case own[sec]:
			key = name[strings.LastIndex(name, ".")+1:] // a nested section prints Apache's bare key
		case !want[sec]:
			continue
		}
		out = append(out, Setting{Key: key, Value: format(lf.key, lf.val), Default: format(lf.key, def[i].val)})
	}
	return out
}

// Changed lists the settings that differ from their defaults: what a start logs.
func Changed(settings []Setting) []Setting {
	var out []Setting
	for _, s := range settings {
		if s.Value != s.Default {
			out = append(out, s)
		}
	}
	return out
}

// WriteProperties writes the settings as key=value lines, Apache's -p format.
func WriteProperties(w io.Writer, settings []Setting) error {
	bw := bufio.NewWriter(w)
	for _, s := range settings {
		fmt.Fprintf(bw, "%s=%s\n", s.Key, escapeValue(s.Value))
	}
	return bw.Flush()
}

// format writes a value as a properties file gives it: a duration as a bare number in the
// key's unit when it is a whole number of them (fileReservedTime=72), else with its unit;
// a list separated by ';'.
func format(key string, v any) string {
	switch x := v.(type) {
	case time.Duration:
		if u := durationUnits[key]; u > 0 && x%u == 0 {
			return strconv.FormatInt(int64(x/u), 10)
		}
		return x.String()
	case []string:
		return strings.Join(x, ";")
	case float64:
		if percentKeys[key] {
			// Apache's unit for the disk ratios; 12 digits drop the float noise of *100.
			return strconv.FormatFloat(x*100, 'g', 12, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// percentKeys are the options a properties file gives in percent and rocketgo holds as
// fractions (conversions in properties.go).
var percentKeys = map[string]bool{
	"store.diskSpaceCleanForciblyRatio": true,
	"store.diskSpaceWarningLevelRatio":  true,
}

// escapeValue escapes what Java's properties syntax would otherwise read differently: a
// backslash, line breaks, and a leading space.
func escapeValue(s string) string {
	s = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(s)
	if strings.HasPrefix(s, " ") {
		s = `\` + s
	}
	return s
}

// Announce logs what a start must show: each warning, and each setting that differs from
// its default, one line each.
func Announce(log zerolog.Logger, settings []Setting, warnings []string) {
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	for _, s := range Changed(settings) {
		log.Info().Str("key", s.Key).Str("value", s.Value).Str("default", s.Default).Msg("setting")
	}
}
