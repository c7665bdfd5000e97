package config

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// ControllerAddrs splits controllerAddr.
func (o Options) ControllerAddrs() []string {
	var out []string
	for _, a := range strings.Split(o.ControllerAddr, ";") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// validateController checks the controller-mode options.
func (o Options) validateController() error {
	if !o.EnableControllerMode {
		return nil
	}
	addrs := o.ControllerAddrs()
	if len(addrs) == 0 {
		return fmt.Errorf("broker: enableControllerMode needs controllerAddr")
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("broker: controllerAddr %q: %w", a, err)
		}
	}
	switch {
	case o.InSyncReplicas < 1 || o.InSyncReplicas > 2:
		return fmt.Errorf("broker: inSyncReplicas %d: rocketgo supports 1 or 2 (use allAckInSyncStateSet for more)", o.InSyncReplicas)
	case o.TotalReplicas < 1:
		return fmt.Errorf("broker: totalReplicas %d is not positive", o.TotalReplicas)
	case o.MinInSyncReplicas < 1 || o.MinInSyncReplicas > o.TotalReplicas:
		return fmt.Errorf("broker: minInSyncReplicas %d outside 1..totalReplicas %d", o.MinInSyncReplicas, o.TotalReplicas)
	case o.HAMaxTimeSlaveNotCatchup < 100*time.Millisecond:
		return fmt.Errorf("broker: haMaxTimeSlaveNotCatchup %v is under 100ms", o.HAMaxTimeSlaveNotCatchup)
	case o.BrokerHeartbeatInterval < 10*time.Millisecond:
		return fmt.Errorf("broker: brokerHeartbeatInterval %v is under 10ms", o.BrokerHeartbeatInterval)
	case o.ControllerHeartBeatTimeout < 2*o.BrokerHeartbeatInterval:
		return fmt.Errorf("broker: controllerHeartBeatTimeoutMills %v must be at least twice brokerHeartbeatInterval %v", o.ControllerHeartBeatTimeout, o.BrokerHeartbeatInterval)
	}
	return nil
}
