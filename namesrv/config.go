package namesrv

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// setting is one NameServer configuration key as GET_NAMESRV_CONFIG shows it and
// UPDATE_NAMESRV_CONFIG may change it: set is nil for a key read only at Start.
type setting struct {
	key string
	get func(s *Server) string
	set func(s *Server, v string) error
}

// settings lists every key of Options under its configuration name, durations in
// milliseconds (RocketMQ's unit). Only orderMessageEnable applies while the server
// runs: the others size listeners, timers and files that Start set up.
var settings = []setting{
	{key: "listenAddr", get: func(s *Server) string { return s.o.ListenAddr }},
	{key: "brokerExpiry", get: func(s *Server) string { return millis(s.o.BrokerExpiry) }},
	{key: "scanInterval", get: func(s *Server) string { return millis(s.o.ScanInterval) }},
	{key: "maxFrameBytes", get: func(s *Server) string { return strconv.Itoa(s.o.MaxFrameBytes) }},
	{key: "kvConfigPath", get: func(s *Server) string { return s.kv.path }},
	{key: "orderMessageEnable",
		get: func(s *Server) string { return strconv.FormatBool(s.orderMessageEnable.Load()) },
		set: func(s *Server, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			s.orderMessageEnable.Store(b)
			return nil
		}},
	{key: "metricsExporterType", get: func(s *Server) string { return s.o.MetricsExporterType }},
	{key: "metricsPromExporterHost", get: func(s *Server) string { return s.o.MetricsPromExporterHost }},
	{key: "namesrvMetricsPromExporterPort", get: func(s *Server) string { return strconv.Itoa(s.o.MetricsPromExporterPort) }},
	{key: "enablePprof", get: func(s *Server) string { return strconv.FormatBool(s.o.EnablePprof) }},
}

// pathKeys may never be changed remotely (DefaultRequestProcessor.updateConfig of
// RocketMQ 4.9 answers NO_PERMISSION "Can not update config path" for them):
// configStorePath is Apache's, kept so that its refusal is the same.
var pathKeys = []string{"kvConfigPath", "configStorePath"}

func millis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// configText renders the settings as properties text, key=value lines sorted by key
// (Java's Properties has no order; a sorted one diffs well).
func (s *Server) configText() string {
	lines := make([]string, 0, len(settings))
	for _, st := range settings {
		lines = append(lines, st.key+"="+st.get(s))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// configUpdate is the outcome of an UPDATE_NAMESRV_CONFIG body.
type configUpdate struct {
	pathKey string   // a key of pathKeys: refused with NO_PERMISSION
	unknown []string // keys of no setting: the request is refused
	bad     []string // "key=value: reason"
	restart []string // known keys read only at Start: not applied, named in the answer
}

// updateConfig applies the live keys of a properties body when every key is known and
// every live value parses; otherwise it changes nothing. Keys read only at Start are
// left alone and reported in restart, as the broker's UPDATE_BROKER_CONFIG does.
func (s *Server) updateConfig(props [][2]string) configUpdate {
	var u configUpdate
	var apply []func()
	for _, p := range props {
		k, v := p[0], p[1]
		if slices.Contains(pathKeys, k) {
			u.pathKey = k
			return u
		}
		i := slices.IndexFunc(settings, func(st setting) bool { return st.key == k })
		switch {
		case i < 0:
			u.unknown = append(u.unknown, k)
		case settings[i].set == nil:
			u.restart = append(u.restart, k)
		default:
			set := settings[i].set
			// Parse now, into a throw-away server, so a bad later key leaves nothing applied.
			if err := set(&Server{}, v); err != nil {
				u.bad = append(u.bad, k+"="+v+": "+err.Error())
				continue
			}
			apply = append(apply, func() { _ = set(s, v) })
		}
	}
	if len(u.unknown) == 0 && len(u.bad) == 0 {
		for _, f := range apply {
			f()
		}
	}
	return u
}

// parseProperties reads the key=value (or key:value) lines of a properties body,
// skipping blanks and #/! comments, the subset of java.util.Properties that
// MixAll.properties2String writes.
func parseProperties(text string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			out = append(out, [2]string{line, ""})
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])})
	}
	return out
}
