package broker

import (
	"crypto/tls"
	"net/netip"
	"path/filepath"

	"github.com/rocketgo/rocketgo/broker/grpcapi"
	"github.com/rocketgo/rocketgo/broker/msgtype"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// startGRPC starts the RocketMQ 5 gRPC endpoint when grpcListenAddr is set
// (docs/grpc.md). It relays to this broker's remoting port, so every request goes
// through the same handlers, checks and metrics as a remoting client's.
func (b *Broker) startGRPC() error {
	if b.opts.GRPCListenAddr == "" {
		return nil
	}
	be := grpcapi.Backend{
		BrokerName:   b.opts.BrokerName,
		RemotingAddr: b.loopbackAddr,
		Topic: func(name string) (grpcapi.TopicInfo, bool) {
			tc, ok := b.topics.Get(name)
			if !ok {
				return grpcapi.TopicInfo{}, false
			}
			mt, err := msgtype.ParseAttribute(tc.Attributes)
			return grpcapi.TopicInfo{
				ReadQueues: int(tc.ReadQueueNums), WriteQueues: int(tc.WriteQueueNums), Perm: int(tc.Perm),
				MessageType: mt, MessageTypeErr: err,
			}, true
		},
	}
	if b.opts.TLS.Mode == tlsconf.Enforcing {
		// The relay dials this process's own listener on the loopback: the certificate
		// is ours, so it is not verified; a client certificate is shown when the
		// listener requires one.
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // loopback to our own port
		if b.tls.client != nil {
			cfg.Certificates = b.tls.client.Certificates
		}
		be.RemotingTLS = cfg
	}
	if b.acl != nil {
		be.Authenticate = func(ak string) (string, bool) { return b.acl.Rules().SecretKey(ak) }
	}
	b.grpc = grpcapi.New(grpcapi.Options{
		ListenAddr:      b.opts.GRPCListenAddr,
		AdvertiseHost:   b.opts.AdvertiseIP,
		CertPath:        b.opts.TLS.CertPath, // the tls section's certificate, when set
		KeyPath:         b.opts.TLS.KeyPath,
		CertDir:         filepath.Join(b.sopts.Dir, "grpc-tls"),
		MaxMessageBytes: b.sopts.MaxMessageBytes,
		Logger:          b.log,
		Now:             b.now,
	}, be)
	return b.grpc.Start()
}

// GRPCAddr returns the gRPC endpoint's listening address, "" when it is off.
func (b *Broker) GRPCAddr() string {
	if b.grpc == nil || b.grpc.Addr() == nil {
		return ""
	}
	return b.grpc.Addr().String()
}

// loopbackAddr is the remoting address the gRPC endpoint relays to: this host's
// loopback at the listening port.
func (b *Broker) loopbackAddr() string {
	ap := b.srv.Addr()
	if !ap.Addr().IsUnspecified() {
		return ap.String()
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port()).String()
}
