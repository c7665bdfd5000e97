package cluster

import (
	"crypto/tls"
	"testing"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/namesrv"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// WithTLS runs the NameServer and the broker with the tls section o (docs/tls.md). The
// harness's own client dials with o's client half (tls.enable and tls.client*).
func WithTLS(o tlsconf.Options) Option {
	return func(s *settings) {
		s.namesrv = append(s.namesrv, func(no *namesrv.Options) { no.TLS = o })
		s.broker = append(s.broker, func(bo *broker.Options) { bo.TLS = o })
	}
}

// harnessTLS is the TLS of the harness's client: the broker's client half.
func harnessTLS(t testing.TB, bo broker.Options) *tls.Config {
	t.Helper()
	cfg, err := bo.TLS.ClientConfig()
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	return cfg
}
