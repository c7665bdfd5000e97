package broker

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// PropertiesFormatter renders a broker's effective configuration as Apache's
// `key=value` lines, the text `mqbroker -p` prints. Package conf installs it: conf
// imports broker, so the broker cannot call it directly. Without it GET_BROKER_CONFIG
// answers SYSTEM_ERROR.
var PropertiesFormatter func(Options, store.Options) []byte

// liveConfig holds the settings UPDATE_BROKER_CONFIG may change while the broker runs:
// a copy of Options replaced whole, so readers never see half an update.
type liveConfig struct {
	mu  sync.Mutex // serializes updates
	cur atomic.Pointer[Options]
}

// live returns the broker's current settings: Options as opened, with every live
// update applied. Handlers read the live keys through it.
func (b *Broker) live() *Options {
	if p := b.cfg.cur.Load(); p != nil {
		return p
	}
	return &b.opts
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
		return reject(errBadRequest, "want a percentage 1..100")
	},
}

func parseBool(dst *bool, v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return reject(errBadRequest, "want true or false")
	}
	*dst = x
	return nil
}

func parsePositive(dst *int, v string) error {
	x, err := strconv.Atoi(v)
	if err != nil || x < 1 {
		return reject(errBadRequest, "want a positive integer")
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

// configText is the broker's effective configuration as properties text, or nil when
// no formatter is installed.
func (b *Broker) configText() []byte {
	if PropertiesFormatter == nil {
		return nil
	}
	return PropertiesFormatter(*b.live(), b.sopts)
}

// handleGetBrokerConfig serves GET_BROKER_CONFIG (26) as AdminBrokerProcessor.getBrokerConfig:
// the configuration as properties text in the body, the version in the header.
func (b *Broker) handleGetBrokerConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	text := b.configText()
	if text == nil {
		return req.NewResponse(code.SystemError, "can not get config")
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = map[string]string{"version": b.configVersion()}
	resp.Body = text
	return resp
}

// configVersion is the DataVersion JSON of the configuration: rocketgo counts updates.
func (b *Broker) configVersion() string {
	return `{"counter":` + strconv.FormatInt(b.cfgUpdates.Load(), 10) + `,"timestamp":0}`
}

// handleUpdateBrokerConfig serves UPDATE_BROKER_CONFIG (25): the body is properties text.
// Unknown keys and bad values refuse the whole request, naming them. The live keys are
// applied at once; known keys that are read only at start are not applied (the
// configuration file is the user's) and the remark of the SUCCESS answer names them.
func (b *Broker) handleUpdateBrokerConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	props := parseProperties(req.Body)
	if len(props) == 0 {
		return req.NewResponse(code.SystemError, "no key=value in the request body")
	}
	known := propertyKeys(b.configText())
	b.cfg.mu.Lock()
	defer b.cfg.mu.Unlock()
	next := *b.live()
	var unknown, restart, bad []string
	for _, p := range props {
		set, ok := liveKeys[p.key]
		switch {
		case ok:
			if err := set(&next, p.value); err != nil {
				bad = append(bad, p.key+"="+p.value+": "+remarkOf(err))
			}
		case known[p.key]:
			restart = append(restart, p.key)
		default:
			unknown = append(unknown, p.key)
		}
	}
	if len(unknown) > 0 {
		return req.NewResponse(code.SystemError, "unknown broker config keys: "+strings.Join(unknown, ", "))
	}
	if len(bad) > 0 {
		return req.NewResponse(code.SystemError, "bad broker config values: "+strings.Join(bad, "; "))
	}
	b.cfg.cur.Store(&next)
	b.cfgUpdates.Add(1)
	b.log.Info().Str("body", string(req.Body)).Strs("need_restart", restart).Msg("broker config updated")
	if len(restart) > 0 {
		return req.NewResponse(code.Success, "need a restart, not applied: "+strings.Join(restart, ", "))
	}
	return req.NewResponse(code.Success, "")
}

type property struct{ key, value string }

// parseProperties reads `key=value` (or `key:value`) lines, skipping blank lines and
// `#`/`!` comments, in order; a later duplicate wins.
func parseProperties(text []byte) []property {
	var out []property
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			out = append(out, property{line, ""})
			continue
		}
		k, v := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		if j := slices.IndexFunc(out, func(p property) bool { return p.key == k }); j >= 0 {
			out[j].value = v
			continue
		}
		out = append(out, property{k, v})
	}
	return out
}

// propertyKeys is the set of keys of properties text.
func propertyKeys(text []byte) map[string]bool {
	out := map[string]bool{}
	for _, p := range parseProperties(text) {
		out[p.key] = true
	}
	return out
}
