package config

import (
	"net"
	"strconv"
)

// HAListenAddr is where a master listens for slaves: the listen IP and haListenPort, or
// the listen port + 1 (Java's default), or a kernel-chosen port when the listen port is
// itself kernel-chosen.
func (o Options) HAListenAddr() string {
	host, portStr, err := net.SplitHostPort(o.ListenAddr)
	if err != nil {
		return o.ListenAddr
	}
	port, _ := strconv.Atoi(portStr)
	switch {
	case o.HAListenPort < 0:
		port = 0
	case o.HAListenPort > 0:
		port = o.HAListenPort
	case port > 0:
		port++
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
