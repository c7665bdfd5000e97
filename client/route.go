package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// defaultTopicQueueNums caps the queues of a route borrowed from TBW102, and is what
// the SEND header tells the broker to create (DefaultTopicQueueNums, §3.6).
const defaultTopicQueueNums = 4

// routeEntry is the cached route of one topic with the queue lists derived from it. It
// is immutable once stored: a refresh stores a new entry.
type routeEntry struct {
	topic string // as the broker knows it (namespace-wrapped)
	data  *body.TopicRouteData
	// fromDefault marks a route of the default topic (TBW102) standing in for a topic
	// that does not exist yet: sends there make the broker create it.
	fromDefault bool
	defaultKey  string         // the default topic borrowed from, when fromDefault
	pub         []MessageQueue // writable queues on brokers with a master
	sub         []MessageQueue // readable queues
	updated     time.Time
}

// newRouteEntry derives the publish and subscribe queues of r (docs/protocol.md §3.1).
// defaultKey names the default topic r was borrowed from, "" for the topic's own route.
func newRouteEntry(topic string, r *body.TopicRouteData, defaultKey string, now time.Time) *routeEntry {
	e := &routeEntry{topic: topic, data: r, fromDefault: defaultKey != "", defaultKey: defaultKey, updated: now}
	masters := make(map[string]bool, len(r.BrokerDatas))
	for _, b := range r.BrokerDatas {
		if b.BrokerAddrs[0] != "" {
			masters[b.BrokerName] = true
		}
	}
	qds := slices.Clone(r.QueueDatas)
	slices.SortFunc(qds, func(a, b body.QueueData) int {
		switch {
		case a.BrokerName < b.BrokerName:
			return -1
		case a.BrokerName > b.BrokerName:
			return 1
		}
		return 0
	})
	for _, q := range qds {
		if q.Perm&body.PermWrite != 0 && masters[q.BrokerName] {
			for i := int32(0); i < min(q.WriteQueueNums, maxQueuesPerBroker); i++ {
				e.pub = append(e.pub, MessageQueue{Topic: topic, BrokerName: q.BrokerName, QueueID: i})
			}
		}
		if q.Perm&body.PermRead != 0 {
			for i := int32(0); i < min(q.ReadQueueNums, maxQueuesPerBroker); i++ {
				e.sub = append(e.sub, MessageQueue{Topic: topic, BrokerName: q.BrokerName, QueueID: i})
			}
		}
	}
	return e
}

// maxQueuesPerBroker bounds the queues taken from one QueueData, so a route claiming
// two billion queues cannot make the client allocate them.
const maxQueuesPerBroker = 1 << 16

// fetchRoute asks the NameServers for the route of topic (already namespace-wrapped).
// A TOPIC_NOT_EXIST answer is an error wrapping ErrTopicNotExist.
func (c *instance) fetchRoute(ctx context.Context, topic string) (*body.TopicRouteData, error) {
	resp, err := c.invokeNamesrv(ctx, c.o.routeTimeout, func() *codec.Command {
		h := header.GetRouteInfoRequest{Topic: topic}
		return codec.NewRequest(code.GetRouteInfoByTopic, h.Encode(), nil)
	})
	if err != nil {
		return nil, fmt.Errorf("route of %s: %w", topic, err)
	}
	switch resp.Code {
	case code.Success:
	case code.TopicNotExist:
		return nil, fmt.Errorf("route of %s: %w", topic, brokerErr(resp.Code, resp.Remark))
	default:
		return nil, fmt.Errorf("route of %s: %w", topic, brokerErr(resp.Code, resp.Remark))
	}
	if len(resp.Body) == 0 {
		return nil, fmt.Errorf("route of %s: %w: empty body", topic, ErrBadResponse)
	}
	r, err := body.DecodeTopicRouteData(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("route of %s: %w: %w", topic, ErrBadResponse, err)
	}
	return r, nil
}

// route returns the route of topic (namespace-wrapped), from the cache or, on a miss,
// from the NameServers; the answer is cached and refreshed every 30 s from then on. A
// topic without a route is an error wrapping ErrTopicNotExist; a cached stand-in route
// of TBW102 does not count. The result must not be modified.
func (c *instance) route(ctx context.Context, topic string) (*body.TopicRouteData, error) {
	if e := c.cachedRoute(topic); e != nil && !e.fromDefault {
		return e.data, nil
	}
	r, err := c.fetchRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	c.storeRoute(topic, r, "")
	return r, nil
}

// subscribeQueues returns the readable queues of topic's route, sorted by broker name
// and queue id. The slice must not be modified.
func (c *instance) subscribeQueues(ctx context.Context, topic string) ([]MessageQueue, error) {
	if _, err := c.route(ctx, topic); err != nil {
		return nil, err
	}
	e := c.cachedRoute(topic)
	if e == nil {
		return nil, fmt.Errorf("route of %s: %w", topic, ErrNoRoute)
	}
	return e.sub, nil
}

// publishRoute returns the cached route entry a producer sends by. For a topic the
// NameServers do not know it borrows the route of the default topic (createTopicKey,
// normally TBW102), capped at four queues per broker, and caches it under the topic's
// name, so the broker creates the topic on the first send (§3.6).
func (c *instance) publishRoute(ctx context.Context, topic, createTopicKey string) (*routeEntry, error) {
	// A cached route without writable queue (its master down, say) is fetched again,
	// as the official client does, so a master's return is seen at the next send.
	if e := c.cachedRoute(topic); e != nil && len(e.pub) > 0 {
		return e, nil
	}
	r, err := c.fetchRoute(ctx, topic)
	if err == nil {
		return c.storeRoute(topic, r, ""), nil
	}
	if !errors.Is(err, ErrTopicNotExist) || createTopicKey == "" {
		return nil, err
	}
	def, derr := c.fetchRoute(ctx, createTopicKey)
	if derr != nil {
		return nil, fmt.Errorf("%w (default topic: %w)", err, derr)
	}
	return c.storeRoute(topic, borrowDefaultRoute(def), createTopicKey), nil
}

// borrowDefaultRoute copies a default-topic route with its queue counts capped at
// defaultTopicQueueNums, like UpdateTopicRouteInfoWithDefault.
func borrowDefaultRoute(def *body.TopicRouteData) *body.TopicRouteData {
	r := *def
	r.QueueDatas = slices.Clone(def.QueueDatas)
	for i := range r.QueueDatas {
		q := &r.QueueDatas[i]
		q.ReadQueueNums = min(q.ReadQueueNums, defaultTopicQueueNums)
		q.WriteQueueNums = min(q.WriteQueueNums, defaultTopicQueueNums)
	}
	return &r
}

// cachedRoute returns the cached entry of topic, nil when there is none.
func (c *instance) cachedRoute(topic string) *routeEntry {
	c.routes.RLock()
	defer c.routes.RUnlock()
	return c.routes.m[topic]
}

// dropRoute forgets the cached route of topic.
func (c *instance) dropRoute(topic string) {
	c.routes.Lock()
	delete(c.routes.m, topic)
	c.routes.Unlock()
}

// storeRoute caches a route (borrowed from default topic defaultKey unless that is
// ""), records its broker addresses, and tells the route listeners when it differs
// from the cached one.
func (c *instance) storeRoute(topic string, r *body.TopicRouteData, defaultKey string) *routeEntry {
	fromDefault := defaultKey != ""
	e := newRouteEntry(topic, r, defaultKey, c.o.now())
	c.routes.Lock()
	old := c.routes.m[topic]
	c.routes.m[topic] = e
	c.routes.Unlock()
	if c.addBrokers(r) {
		c.heartbeatSoon() // a broker we never greeted: announce our groups to it
	}
	if old == nil || old.fromDefault != fromDefault || !sameRoute(old.data, r) {
		c.notifyRoute(topic, r)
	}
	return e
}

// refreshRoutes fetches the route of every cached topic again. A topic the NameServers
// no longer know is dropped (a stand-in default route is fetched again instead), and a
// failed fetch keeps the cached route until the next round.
func (c *instance) refreshRoutes(ctx context.Context) {
	c.routes.RLock()
	entries := slices.Collect(maps.Values(c.routes.m))
	c.routes.RUnlock()
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		r, err := c.fetchRoute(ctx, e.topic)
		switch {
		case err == nil:
			c.storeRoute(e.topic, r, "")
		case errors.Is(err, ErrTopicNotExist) && e.fromDefault:
			// Still not created: keep the stand-in, refreshed from the default topic.
			if def, derr := c.fetchRoute(ctx, e.defaultKey); derr == nil {
				c.storeRoute(e.topic, borrowDefaultRoute(def), e.defaultKey)
			}
		case errors.Is(err, ErrTopicNotExist):
			c.log.Info().Str("topic", e.topic).Msg("topic route gone")
			c.dropRoute(e.topic)
			c.notifyRoute(e.topic, nil)
		default:
			c.log.Warn().Err(err).Str("topic", e.topic).Msg("route refresh")
		}
	}
}

// onRouteChange registers fn to be called (on the refreshing goroutine; it must not
// block) whenever a topic's cached route changes, with nil when the topic disappeared.
// It returns a function that unregisters fn.
func (c *instance) onRouteChange(fn func(topic string, r *body.TopicRouteData)) (remove func()) {
	c.listeners.Lock()
	id := c.listeners.next
	c.listeners.next++
	c.listeners.m[id] = fn
	c.listeners.Unlock()
	return func() {
		c.listeners.Lock()
		delete(c.listeners.m, id)
		c.listeners.Unlock()
	}
}

// notifyRoute calls the route listeners.
func (c *instance) notifyRoute(topic string, r *body.TopicRouteData) {
	c.listeners.Lock()
	fns := slices.Collect(maps.Values(c.listeners.m))
	c.listeners.Unlock()
	for _, fn := range fns {
		fn(topic, r)
	}
}

// sameRoute compares the queue and broker data of two routes, ignoring order.
func sameRoute(a, b *body.TopicRouteData) bool {
	if len(a.QueueDatas) != len(b.QueueDatas) || len(a.BrokerDatas) != len(b.BrokerDatas) {
		return false
	}
	qa, qb := slices.Clone(a.QueueDatas), slices.Clone(b.QueueDatas)
	byName := func(x, y body.QueueData) int { return cmpString(x.BrokerName, y.BrokerName) }
	slices.SortFunc(qa, byName)
	slices.SortFunc(qb, byName)
	if !slices.Equal(qa, qb) {
		return false
	}
	ba, bb := slices.Clone(a.BrokerDatas), slices.Clone(b.BrokerDatas)
	byBroker := func(x, y body.BrokerData) int { return cmpString(x.BrokerName, y.BrokerName) }
	slices.SortFunc(ba, byBroker)
	slices.SortFunc(bb, byBroker)
	for i := range ba {
		if ba[i].BrokerName != bb[i].BrokerName || ba[i].Cluster != bb[i].Cluster ||
			!maps.Equal(ba[i].BrokerAddrs, bb[i].BrokerAddrs) {
			return false
		}
	}
	return true
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// addBrokers records the broker addresses of a route; the newest route wins for a
// broker name. It reports whether an address was new.
func (c *instance) addBrokers(r *body.TopicRouteData) (added bool) {
	c.brokers.Lock()
	defer c.brokers.Unlock()
	for _, b := range r.BrokerDatas {
		if b.BrokerName == "" {
			continue
		}
		old := c.brokers.addrs[b.BrokerName]
		for id, a := range b.BrokerAddrs {
			if old[id] != a {
				added = true
			}
		}
		c.brokers.addrs[b.BrokerName] = maps.Clone(b.BrokerAddrs)
	}
	return added
}

// masterAddr returns the address of brokerName's master (brokerId 0), "" when unknown.
func (c *instance) masterAddr(brokerName string) string {
	c.brokers.RLock()
	defer c.brokers.RUnlock()
	return c.brokers.addrs[brokerName][0]
}

// brokerAddr returns the address of brokerName's member brokerID. When that member is
// unknown and onlyThis is false it falls back, like the official client, to brokerID+1
// and then to the lowest id known (the master when there is one), so consumers keep
// reading from a slave while the master is down. ok is false when nothing fits.
func (c *instance) brokerAddr(brokerName string, brokerID int64, onlyThis bool) (addr string, id int64, ok bool) {
	c.brokers.RLock()
	defer c.brokers.RUnlock()
	addrs := c.brokers.addrs[brokerName]
	if a := addrs[brokerID]; a != "" {
		return a, brokerID, true
	}
	if onlyThis || len(addrs) == 0 {
		return "", 0, false
	}
	if a := addrs[brokerID+1]; a != "" {
		return a, brokerID + 1, true
	}
	ids := slices.Sorted(maps.Keys(addrs))
	for _, i := range ids {
		if addrs[i] != "" {
			return addrs[i], i, true
		}
	}
	return "", 0, false
}

// brokerAddrs returns every known broker address; mastersOnly keeps brokerId 0 only.
func (c *instance) brokerAddrs(mastersOnly bool) []string {
	c.brokers.RLock()
	defer c.brokers.RUnlock()
	var out []string
	for _, name := range slices.Sorted(maps.Keys(c.brokers.addrs)) {
		addrs := c.brokers.addrs[name]
		for _, id := range slices.Sorted(maps.Keys(addrs)) {
			if addrs[id] != "" && (!mastersOnly || id == 0) {
				out = append(out, addrs[id])
			}
		}
	}
	return out
}

// forgetOfflineBrokers removes brokers that appear in no cached route, so heartbeats
// stop going to brokers that left (done before each heartbeat, as the official client).
func (c *instance) forgetOfflineBrokers() {
	live := make(map[string]bool)
	c.routes.RLock()
	for _, e := range c.routes.m {
		for _, b := range e.data.BrokerDatas {
			live[b.BrokerName] = true
		}
	}
	c.routes.RUnlock()
	c.brokers.Lock()
	for name := range c.brokers.addrs {
		if !live[name] {
			delete(c.brokers.addrs, name)
		}
	}
	c.brokers.Unlock()
}
