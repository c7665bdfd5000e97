package client

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// heartbeatTimeout bounds one HEART_BEAT when the caller's context has no deadline.
const heartbeatTimeoutDefault = DefaultCallTimeout

// registerProducer announces a producer group in the heartbeats. Several producers of
// one group may share the instance; the group is announced until the last unregisters.
func (c *instance) registerProducer(group string) {
	c.groups.Lock()
	c.groups.producers[group]++
	c.groups.Unlock()
}

// unregisterProducer undoes one registerProducer.
func (c *instance) unregisterProducer(group string) {
	c.groups.Lock()
	defer c.groups.Unlock()
	if c.groups.producers[group]--; c.groups.producers[group] <= 0 {
		delete(c.groups.producers, group)
	}
}

// registerConsumer announces a consumer group in the heartbeats; data is called for
// every heartbeat and returns the group's current ConsumerData (subscriptions,
// consume type, message model, where to start). One instance serves one consumer of a
// group: the broker knows consumers by client id, so a second one would share the
// first one's queues. It fails when the group is already registered.
func (c *instance) registerConsumer(group string, data func() body.ConsumerData) error {
	c.groups.Lock()
	defer c.groups.Unlock()
	if _, dup := c.groups.consumers[group]; dup {
		return fmt.Errorf("consumer group %s already started in client %s (use WithInstanceName to run two): %w",
			group, c.clientID, ErrInvalidOption)
	}
	c.groups.consumers[group] = data
	return nil
}

// unregisterConsumer removes a consumer group from the heartbeats.
func (c *instance) unregisterConsumer(group string) {
	c.groups.Lock()
	delete(c.groups.consumers, group)
	c.groups.Unlock()
}

// heartbeatData builds the HEART_BEAT body from the registered groups, groups sorted by
// name. hasConsumers tells whether any consumer group is registered.
func (c *instance) heartbeatData() (hb *body.HeartbeatData, hasConsumers bool) {
	c.groups.Lock()
	producers := slices.Sorted(maps.Keys(c.groups.producers))
	consumerGroups := slices.Sorted(maps.Keys(c.groups.consumers))
	fns := make([]func() body.ConsumerData, len(consumerGroups))
	for i, g := range consumerGroups {
		fns[i] = c.groups.consumers[g]
	}
	c.groups.Unlock()
	hb = &body.HeartbeatData{
		ClientID:        c.clientID,
		ProducerDataSet: make([]body.ProducerData, 0, len(producers)),
		ConsumerDataSet: make([]body.ConsumerData, 0, len(fns)),
	}
	for _, g := range producers {
		hb.ProducerDataSet = append(hb.ProducerDataSet, body.ProducerData{GroupName: g})
	}
	for _, fn := range fns {
		hb.ConsumerDataSet = append(hb.ConsumerDataSet, fn())
	}
	return hb, len(fns) > 0
}

// sendHeartbeat sends HEART_BEAT with every registered group to the brokers, in
// parallel: to masters only when the instance has producers only, to every member
// (slaves included) when it has consumers, as the official client does. Brokers that
// appear in no cached route are forgotten first. Nothing is sent when no group is
// registered. It returns the failures joined, nil when every broker answered SUCCESS.
func (c *instance) sendHeartbeat(ctx context.Context) error {
	c.hbMu.Lock()
	defer c.hbMu.Unlock()
	return c.sendHeartbeatLocked(ctx)
}

// sendHeartbeatLocked is sendHeartbeat for a caller that holds hbMu.
func (c *instance) sendHeartbeatLocked(ctx context.Context) error {
	hb, hasConsumers := c.heartbeatData()
	if len(hb.ProducerDataSet) == 0 && len(hb.ConsumerDataSet) == 0 {
		return nil
	}
	c.forgetOfflineBrokers()
	addrs := c.brokerAddrs(!hasConsumers)
	if len(addrs) == 0 {
		return nil
	}
	payload := hb.Encode()
	return fanOut(ctx, addrs, func(ctx context.Context, addr string) error {
		cctx, cancel := withTimeout(ctx, heartbeatTimeoutDefault)
		defer cancel()
		resp, err := c.invoke(cctx, addr, codec.NewRequest(code.HeartBeat, nil, payload))
		if err == nil && resp.Code != code.Success {
			err = fmt.Errorf("heartbeat to %s: %w", addr, brokerErr(resp.Code, resp.Remark))
		}
		return err
	})
}
