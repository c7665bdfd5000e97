package namesrv

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// Options configures a Server. Keys are lowerCamel, as in RocketMQ's namesrv.properties.
type Options struct {
	// ListenAddr is the address to listen on: "0.0.0.0:9876" by default, "127.0.0.1:0"
	// in tests (the bound port is then read back with Server.Addr).
	ListenAddr string `mapstructure:"listenAddr"`
	// BrokerExpiry is how long a broker stays in the route table without registering
	// again (RocketMQ's BROKER_CHANNEL_EXPIRED_TIME, 120 s). Brokers register every
	// 30 s, so the default tolerates three missed registrations.
	BrokerExpiry time.Duration `mapstructure:"brokerExpiry"`
	// ScanInterval is how often the table is swept for expired brokers (10 s).
	ScanInterval time.Duration `mapstructure:"scanInterval"`
	// MaxFrameBytes bounds one remoting frame (16 MiB, as Java's frameMaxLength). A
	// registration body must fit in it.
	MaxFrameBytes int `mapstructure:"maxFrameBytes"`

	// Logger receives the server's logs; zerolog.Nop() by default.
	Logger zerolog.Logger `mapstructure:"-"`
	// Now is the clock used for broker liveness; time.Now when nil. Tests inject a
	// manual clock and drive expiry with it.
	Now func() time.Time `mapstructure:"-"`
}

// Limits Validate enforces on MaxFrameBytes: below 64 KiB a broker with a few hundred
// topics could no longer register; above 1 GiB one frame could exhaust memory.
const (
	minFrameBytes = 64 << 10
	maxFrameBytes = 1 << 30
)

// DefaultOptions returns RocketMQ's namesrv defaults: port 9876, 120 s broker expiry,
// a sweep every 10 s, 16 MiB frames.
func DefaultOptions() Options {
	return Options{
		ListenAddr:    "0.0.0.0:9876",
		BrokerExpiry:  120 * time.Second,
		ScanInterval:  10 * time.Second,
		MaxFrameBytes: 16 << 20,
		Logger:        zerolog.Nop(),
	}
}

// Validate reports the first option that cannot work, naming its key.
func (o Options) Validate() error {
	host, port, err := net.SplitHostPort(o.ListenAddr)
	if err != nil {
		return fmt.Errorf("namesrv: listenAddr %q: %w", o.ListenAddr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("namesrv: listenAddr %q: port %q is not a number in 0..65535", o.ListenAddr, port)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("namesrv: listenAddr %q: host %q is not an IP address", o.ListenAddr, host)
	}
	if o.BrokerExpiry <= 0 {
		return fmt.Errorf("namesrv: brokerExpiry %v must be positive", o.BrokerExpiry)
	}
	if o.ScanInterval <= 0 {
		return fmt.Errorf("namesrv: scanInterval %v must be positive", o.ScanInterval)
	}
	if o.ScanInterval > o.BrokerExpiry {
		return fmt.Errorf("namesrv: scanInterval %v exceeds brokerExpiry %v: dead brokers would outlive their expiry", o.ScanInterval, o.BrokerExpiry)
	}
	if o.MaxFrameBytes < minFrameBytes || o.MaxFrameBytes > maxFrameBytes {
		return fmt.Errorf("namesrv: maxFrameBytes %d outside %d..%d", o.MaxFrameBytes, minFrameBytes, maxFrameBytes)
	}
	return nil
}
