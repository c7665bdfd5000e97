package conf

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magiconair/properties"
)

// Program says whose file is read: a properties file has flat keys (Apache's
// listenPort, brokerName), and the program decides which sections they belong to.
type Program int

const (
	// Broker reads flat keys into the broker and store sections (mqbroker).
	Broker Program = iota
	// Namesrv reads flat keys into the namesrv section (mqnamesrv).
	Namesrv
)

// sections lists the sections whose keys a properties file may write without a section.
func (p Program) sections() []string {
	if p == Namesrv {
		return []string{"namesrv"}
	}
	return []string{"broker", "store"}
}

// isProperties reports whether the file is in Java's properties format: by extension
// (.conf, .properties), or, with no extension viper knows, when its first significant line
// is `key=value` or a `!` comment.
func isProperties(path string, raw []byte) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".conf", ".properties":
		return true
	case ".yaml", ".yml", ".json", ".toml":
		return false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '!' {
			return true
		}
		i := strings.IndexAny(t, "=:")
		return i > 0 && t[i] == '='
	}
	return false
}

// propFile is a properties file being translated into rocketgo's sectioned keys.
type propFile struct {
	path    string
	raw     []byte
	prog    Program
	known   map[string]leaf // rocketgo keys: dotted, and flat for the program's sections
	out     map[string]any  // dotted rocketgo key -> typed value
	ignored []string        // Apache keys rocketgo does not implement
	port    string          // listenPort, applied with bindAddress at the end
	host    string          // bindAddress
	// commitLog is storePathCommitLog, checked against storePathRootDir at the end.
	commitLog string
}

// readProperties parses a properties file in Java's syntax (`#`/`!` comments, `key=value`,
// `key: value`, `key value`, `\` continuations and escapes) and translates Apache's keys
// and units into rocketgo's dotted keys. It returns the values by dotted key and one
// warning naming every Apache key it ignores. A key that is neither Apache's nor
// rocketgo's, a value of the wrong type, or a malformed line is an error naming its line.
//
// magiconair/properties parses: it implements the format completely (the escapes and
// continuations included) and depends on nothing; its ${key} expansion, which Java's
// Properties does not have, is turned off.
func readProperties(path string, raw []byte, prog Program) (map[string]any, []string, error) {
	l := &properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}
	p, err := l.LoadBytes(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("conf: %s: %s", path, parseError(raw, err))
	}
	f := &propFile{path: path, raw: raw, prog: prog, known: map[string]leaf{}, out: map[string]any{}}
	def := Default()
	for _, lf := range leaves(reflect.ValueOf(def), "") {
		f.known[lf.key] = lf
	}
	for _, sec := range prog.sections() {
		for _, lf := range leaves(reflect.ValueOf(def), "") {
			if s, name, _ := strings.Cut(lf.key, "."); s == sec {
				f.known[name] = lf
				// A nested section's keys (namesrv.controller) are Apache's bare keys too.
				if i := strings.LastIndex(name, "."); i >= 0 {
					if _, dup := f.known[name[i+1:]]; !dup {
						f.known[name[i+1:]] = lf
					}
				}
			}
		}
	}
	for _, k := range p.Keys() {
		v, _ := p.Get(k)
		// Trailing blanks are a typing slip ("broker-a "); a leading one is kept when
		// escaped ("\ "), as Java keeps it.
		if err := f.set(k, strings.TrimRight(v, " \t\f\r")); err != nil {
			return nil, nil, fmt.Errorf("conf: %s: line %d: %w", path, f.line(k), err)
		}
	}
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	var warnings []string
	if len(f.ignored) > 0 {
		sort.Strings(f.ignored)
		warnings = append(warnings, fmt.Sprintf("%s: Apache RocketMQ keys rocketgo does not implement, ignored: %s",
			path, strings.Join(f.ignored, ", ")))
	}
	return f.out, warnings, nil
}

// set translates one key.
func (f *propFile) set(k, v string) error {
	// Apache's unit first: diskSpaceWarningLevelRatio is a rocketgo key too, but a
	// fraction in rocketgo's files and a percentage in Apache's.
	if conv, ok := conversions[f.prog][k]; ok {
		return conv(f, k, v)
	}
	if lf, ok := f.known[k]; ok {
		if k == "deleteWhen" || k == "store.deleteWhen" {
			f.out[lf.key] = v // "04;16", read by applyUnits
			return nil
		}
		val, err := typed(lf, v)
		if err != nil {
			return fmt.Errorf("%s=%s: %w", k, v, err)
		}
		f.out[lf.key] = val
		return nil
	}
	if apacheKeys[k] {
		f.ignored = append(f.ignored, k)
		return nil
	}
	return fmt.Errorf("unknown key %s (neither Apache RocketMQ's nor rocketgo's)", k)
}

// conversion maps an Apache key whose name or unit differs from rocketgo's.
type conversion func(f *propFile, k, v string) error

// conversions holds, per program, the Apache keys that are not a rocketgo key of the same
// name and unit. A broker's listenPort and a NameServer's share a name; the program
// decides which one a file sets.
var conversions = map[Program]map[string]conversion{
	Broker: {
		"listenPort":                  setPort,
		"bindAddress":                 setHost,
		"mapedFileSizeCommitLog":      renamed("store.mappedFileSizeCommitLog"),
		"mappedFileSizeConsumeQueue":  consumeQueueSize,
		"mapedFileSizeConsumeQueue":   consumeQueueSize,
		"diskMaxUsedSpaceRatio":       percent("store.diskMaxUsedSpaceRatio", false),
		"diskSpaceCleanForciblyRatio": percent("store.diskSpaceCleanForciblyRatio", true),
		"diskSpaceWarningLevelRatio":  percent("store.diskSpaceWarningLevelRatio", true),
		"timerMaxDelaySec":            scaled("broker.timerMaxDelay", time.Second),
		"channelExpiredTimeout":       scaled("broker.clientChannelExpiry", time.Millisecond),
		"storePathCommitLog":          storePathCommitLog,
	},
	Namesrv: {
		"listenPort":                  setPort,
		"bindAddress":                 setHost,
		"scanNotActiveBrokerInterval": scaled("namesrv.scanInterval", time.Millisecond),
	},
}

// apacheTLSKeys maps Apache's TlsSystemConfig keys (tls.server.*, tls.client.*,
// tls.enable) to the tls section; both programs read them (docs/tls.md §1).
var apacheTLSKeys = map[string]string{
	"tls.server.mode":             "tls.mode",
	"tls.server.certPath":         "tls.certPath",
	"tls.server.keyPath":          "tls.keyPath",
	"tls.server.trustCertPath":    "tls.trustCertPath",
	"tls.server.need.client.auth": "tls.needClientAuth",
	"tls.client.certPath":         "tls.clientCertPath",
	"tls.client.keyPath":          "tls.clientKeyPath",
	"tls.client.trustCertPath":    "tls.clientTrustCertPath",
	"tls.client.authServer":       "tls.clientAuthServer",
}

func init() {
	for _, prog := range []Program{Broker, Namesrv} {
		for apache, key := range apacheTLSKeys {
			conversions[prog][apache] = renamed(key)
		}
	}
}

func setPort(f *propFile, k, v string) error {
	if n, err := strconv.ParseUint(v, 10, 16); err != nil || n > 65535 {
		return fmt.Errorf("%s=%s: not a port 0-65535", k, v)
	}
	f.port = v
	return nil
}

func setHost(f *propFile, k, v string) error {
	if net.ParseIP(v) == nil {
		return fmt.Errorf("%s=%s: not an IP address", k, v)
	}
	f.host = v
	return nil
}

func renamed(key string) conversion {
	return func(f *propFile, k, v string) error {
		val, err := typed(f.known[key], v)
		if err != nil {
			return fmt.Errorf("%s=%s: %w", k, v, err)
		}
		f.out[key] = val
		return nil
	}
}

// consumeQueueSize: Apache sizes a ConsumeQueue file in bytes, rocketgo in 20-byte units.
func consumeQueueSize(f *propFile, k, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n%20 != 0 {
		return fmt.Errorf("%s=%s: not a positive multiple of 20 bytes (one ConsumeQueue unit)", k, v)
	}
	f.out["store.consumeQueueUnitsPerFile"] = n / 20
	return nil
}

// percent: Apache gives disk ratios in percent. rocketgo takes diskMaxUsedSpaceRatio in
// whole percent too, and the two others as fractions (fraction set), of which a
// decimal percentage is accepted so that mqbroker -p output loads back.
func percent(key string, fraction bool) conversion {
	return func(f *propFile, k, v string) error {
		if fraction {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || !(x > 0 && x <= 100) {
				return fmt.Errorf("%s=%s: not a percentage 1-100", k, v)
			}
			f.out[key] = x / 100
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 100 {
			return fmt.Errorf("%s=%s: not a whole percentage 1-100", k, v)
		}
		f.out[key] = n
		return nil
	}
}

// scaled reads an Apache integer in unit into a duration option of another name.
func scaled(key string, unit time.Duration) conversion {
	return func(f *propFile, k, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%s: not a whole number of %s", k, v, unitWord(unit))
		}
		f.out[key] = time.Duration(n) * unit
		return nil
	}
}

// storePathCommitLog is accepted where rocketgo keeps the CommitLog anyway:
// <storePathRootDir>/commitlog, Apache's default too. Elsewhere it is refused rather than
// ignored, since the broker would otherwise start on an empty log.
func storePathCommitLog(f *propFile, k, v string) error {
	f.commitLog = v // checked in finish, once storePathRootDir is known
	return nil
}

// finish applies the keys that depend on others.
func (f *propFile) finish() error {
	if v := f.commitLog; v != "" {
		root, _ := f.out["store.storePathRootDir"].(string)
		if root == "" {
			root = Default().Store.Dir
		}
		if want := filepath.Join(root, "commitlog"); filepath.Clean(v) != want {
			return fmt.Errorf("conf: %s: line %d: storePathCommitLog=%s: the CommitLog is always %s (storePathRootDir/commitlog)",
				f.path, f.line("storePathCommitLog"), v, want)
		}
	}
	if f.port == "" && f.host == "" {
		return nil
	}
	key := "broker.listenAddr"
	if f.prog == Namesrv {
		key = "namesrv.listenAddr"
	}
	addr, _ := f.out[key].(string)
	if addr == "" {
		addr = flatten(reflect.ValueOf(Default()), "")[key].(string)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("conf: %s: %s %q: %w", f.path, key, addr, err)
	}
	if f.host != "" {
		host = f.host
	}
	if f.port != "" {
		port = f.port
	}
	f.out[key] = net.JoinHostPort(host, port)
	return nil
}

// typed converts a properties value to the option's type, so that a bad value is
// refused here, with its line, and numbers are decimal ("08" is 8).
func typed(lf leaf, v string) (any, error) {
	if lf.typ == reflect.TypeOf(time.Duration(0)) {
		if n, ok := bareNumber(v); ok {
			return time.Duration(n * float64(durationUnits[lf.key])), nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("not a duration (a number of %s, or with a unit: 500ms, 48h)", unitWord(durationUnits[lf.key]))
		}
		return d, nil
	}
	switch lf.typ.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(v, 10, lf.typ.Bits())
		if err != nil {
			return nil, fmt.Errorf("not an integer")
		}
		return n, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(v, 10, lf.typ.Bits())
		if err != nil {
			return nil, fmt.Errorf("not a non-negative integer")
		}
		return n, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("not true or false")
		}
		return b, nil
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("not a number")
		}
		return n, nil
	}
	return v, nil
}

// line is the number of the last line that sets key (the one that wins), 0 if unknown.
func (f *propFile) line(key string) int {
	n := 0
	for i, l := range bytes.Split(f.raw, []byte("\n")) {
		t := bytes.TrimLeft(l, " \t\f")
		rest, ok := bytes.CutPrefix(t, []byte(key))
		if ok && (len(rest) == 0 || bytes.IndexByte([]byte("=: \t\f\r"), rest[0]) >= 0) {
			n = i + 1
		}
	}
	return n
}

var parseLine = regexp.MustCompile(`Line (\d+): (.*)`)

// parseError rewrites the parser's report as "line N: <reason>: <the line>".
func parseError(raw []byte, err error) string {
	m := parseLine.FindStringSubmatch(err.Error())
	if m == nil {
		return oneLine(err)
	}
	n, _ := strconv.Atoi(m[1])
	text := ""
	if lines := strings.Split(string(raw), "\n"); n >= 1 && n <= len(lines) {
		text = strings.TrimSpace(lines[n-1])
	}
	return fmt.Sprintf("line %d: malformed (%s): %s", n, m[2], text)
}
