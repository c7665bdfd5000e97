package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// The VIP channel (Apache's fastRemotingServer): a second listener at listenPort - 2 for
// clients with vipChannelEnabled, which send their sends and admin requests there. It
// serves every route of the main port but PULL_MESSAGE, as Apache registers every
// processor on it but the pull processor; nothing about it is registered with the
// NameServers, since clients derive it from the broker address (docs/operations.md §1.3).

// newVIPServer builds the VIP channel's server with the broker's routes.
func (b *Broker) newVIPServer() *server.Server {
	srv := server.NewServer(server.ServerOptions{
		Addr:          b.vipListenAddr,
		MaxFrameBytes: b.opts.MaxFrameBytes,
		Logger:        b.opts.Logger,
	})
	b.registerRoutes(srv, func(c int32) bool { return c == code.PullMessage })
	return srv
}

// startVIP listens on the VIP channel's address (checked in New).
func (b *Broker) startVIP(ctx context.Context) error {
	if err := b.vip.Start(ctx); err != nil {
		return fmt.Errorf("broker: VIP channel listen on %s: %w", b.vipListenAddr, err)
	}
	b.log.Info().Str("addr", b.VIPAddr()).Msg("VIP channel serving")
	return nil
}

// BoundAddrs returns the listen and VIP addresses that reopen b on the ports it bound
// (Options.ListenAddr and Options.VIPAddr, with b's listen host): for a restart in the
// same process, such as controller mode's on a role change, where kernel-chosen ports
// must stay what they became and listenPort - 2 may belong to anybody. Empty before
// Start.
func (b *Broker) BoundAddrs() (listen, vip string) {
	h := b.host.Load()
	if h == nil {
		return "", ""
	}
	host, _, _ := net.SplitHostPort(b.opts.ListenAddr)
	return net.JoinHostPort(host, strconv.Itoa(int(h.Port()))),
		net.JoinHostPort(host, strconv.Itoa(int(b.vip.Addr().Port())))
}

// VIPAddr returns the "ip:port" of the VIP channel (with the advertised IP); with
// listenPort 0 its port is kernel-chosen, and this is how to learn it. Empty before
// Start.
func (b *Broker) VIPAddr() string {
	h := b.host.Load()
	if h == nil {
		return ""
	}
	return net.JoinHostPort(h.Addr().String(), strconv.Itoa(int(b.vip.Addr().Port())))
}
