package broker

import (
	"crypto/tls"
	"fmt"

	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// brokerTLS is the tls section, loaded: the listeners' side (the remoting port and the
// HA port share tls.mode) and the client side of the broker's own outgoing links (the
// NameServer registration, a slave's metadata sync and replication).
type brokerTLS struct {
	server tlsconf.Server
	client *tls.Config // nil unless tls.enable
}

// openTLS loads the certificates the tls section names, before anything is opened: a
// file that is missing or unreadable refuses the start with one line naming the key.
func (b *Broker) openTLS() error {
	srv, err := b.opts.TLS.ServerConfig()
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	cli, err := b.opts.TLS.ClientConfig()
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	b.tls = brokerTLS{server: srv, client: cli}
	return nil
}
