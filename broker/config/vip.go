package config

import (
	"fmt"
	"net"
	"strconv"
)

// VIPListenAddr is where the broker's VIP channel listens: the listen IP and the listen
// port - 2 (10909 for 10911), as Apache's BrokerController fixes it with no key of its
// own, or a kernel-chosen port when the listen port is itself kernel-chosen
// (docs/operations.md §1.3). VIPAddr, when set, overrides both.
func (o Options) VIPListenAddr() (string, error) {
	if o.VIPAddr != "" {
		if _, _, err := net.SplitHostPort(o.VIPAddr); err != nil {
			return "", fmt.Errorf("broker: VIP channel address %q: %w", o.VIPAddr, err)
		}
		return o.VIPAddr, nil
	}
	host, portStr, err := net.SplitHostPort(o.ListenAddr)
	if err != nil {
		return "", fmt.Errorf("broker: listen address %q: %w", o.ListenAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", fmt.Errorf("broker: listen port %q: %w", portStr, err)
	}
	switch {
	case port == 0:
	case port <= 2:
		return "", fmt.Errorf("broker: listenPort %d leaves no room for the VIP channel at listenPort - 2", port)
	default:
		port -= 2
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}
