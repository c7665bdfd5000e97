package client

import (
	"context"
	"fmt"
)

// Reading while a master is down (docs/operations.md §3.3).
//
// A broker set whose master (brokerId 0) has left the route keeps serving reads from its
// slaves: pulls follow the suggested broker id with the official client's fallback
// (instance.brokerAddr), and the offset requests of a consumer — QUERY_CONSUMER_OFFSET
// (14), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29) and
// UPDATE_CONSUMER_OFFSET (15) — go to a slave too, which holds a copy of the group's
// committed offsets. So a consumer started after the master died, of a new group or an
// existing one, reads from the slave where the group left off.
//
// A commit a slave took is not marked written: the offset store sends it again with the
// next persist, to the slave while the master is still down and to the master once the
// route names it again. The slave also relays what it took to the master when it is back
// (broker/internal/metasync), so the progress reaches the master even when this consumer
// is gone by then. Queue locks (orderly consumption) stay with the master only: a lease a
// slave granted would not bind the master's.

// readerOf returns the address that answers brokerName's offset requests: its master, or
// — when the route names no master even after one fetch of topic's route — the member the
// official client would pull from. master reports which one it is.
func (c *consumerCore) readerOf(ctx context.Context, brokerName, topic string) (addr string, master bool, err error) {
	if addr := c.inst.masterAddr(brokerName); addr != "" {
		return addr, true, nil
	}
	_, rerr := c.inst.route(ctx, topic)
	if addr := c.inst.masterAddr(brokerName); addr != "" {
		return addr, true, nil
	}
	if addr, _, ok := c.inst.brokerAddr(brokerName, 0, false); ok {
		return addr, false, nil
	}
	if rerr != nil {
		return "", false, fmt.Errorf("master or slave of %s: %w", brokerName, rerr)
	}
	return "", false, fmt.Errorf("master or slave of %s: %w", brokerName, ErrBrokerNotFound)
}
