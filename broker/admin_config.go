package broker

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/broker/config"
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
	props := config.ParseProperties(req.Body)
	if len(props) == 0 {
		return req.NewResponse(code.SystemError, "no key=value in the request body")
	}
	known := config.PropertyKeys(b.configText())
	b.cfg.mu.Lock()
	defer b.cfg.mu.Unlock()
	next := *b.live()
	var unknown, restart, bad []string
	for _, p := range props {
		live, err := next.SetLive(p.Key, p.Value)
		switch {
		case live:
			if err != nil {
				bad = append(bad, p.Key+"="+p.Value+": "+remarkOf(err))
			}
		case known[p.Key]:
			restart = append(restart, p.Key)
		default:
			unknown = append(unknown, p.Key)
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
