package conf

import (
	"bytes"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/store"
)

// init lets a running broker answer GET_BROKER_CONFIG with the same key=value lines
// `mqbroker -p` prints: its broker and store sections, flat.
func init() {
	broker.PropertiesFormatter = func(o broker.Options, so store.Options) []byte {
		var buf bytes.Buffer
		WriteProperties(&buf, Settings(Config{Broker: o, Store: so}, Broker))
		return buf.Bytes()
	}
}
