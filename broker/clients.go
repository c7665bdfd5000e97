package broker

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// clientScanInterval is how often the client table looks for silent connections
// (ClientHousekeepingService scans every 10 s).
const clientScanInterval = 10 * time.Second

// clientChannel is what the broker knows of one client connection in one group: who
// the client says it is and when it last heartbeated.
type clientChannel struct {
	clientID   string
	language   string
	version    int32
	addr       string // remote ip:port, for the connection lists
	lastUpdate time.Time
}

// consumerGroupInfo is the live state of one consumer group (ConsumerGroupInfo.java):
// its connections, the subscriptions they registered, and the group-wide settings of
// the last heartbeat.
type consumerGroupInfo struct {
	consumeType      string
	messageModel     string
	consumeFromWhere string
	channels         map[*server.Conn]*clientChannel
	subs             map[string]*body.SubscriptionData
}

// clientTable is the registry of producer and consumer groups built from heartbeats.
// Connections leave it when they close, when the client unregisters, or after expiry
// without a heartbeat. When a consumer group's membership or topic set changes, every
// member is told with NOTIFY_CONSUMER_IDS_CHANGED so it rebalances at once instead of
// within the next 20 s.
//
// Methods are safe from any goroutine. Notifications and connection closes run after
// the table's lock is released, so a slow connection never holds up the registry.
type clientTable struct {
	now    func() time.Time
	expiry time.Duration
	log    zerolog.Logger
	// notify sends NOTIFY_CONSUMER_IDS_CHANGED for group to each conn.
	notify func(group string, conns []*server.Conn)
	// notifyEnabled reports the group's notifyConsumerIdsChangedEnable.
	notifyEnabled func(group string) bool
	// closeConn closes a connection that went silent past expiry.
	closeConn func(*server.Conn)
	// onSweep runs after every expiry scan: the lock table drops lapsed leases and the
	// runtime figures are sampled there.
	onSweep func()
	// stats holds the runtime figures sampled on this table's housekeeping tick.
	stats *runtimeStats

	mu struct {
		sync.Mutex
		producers map[string]map[*server.Conn]*clientChannel
		consumers map[string]*consumerGroupInfo
	}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// clientDeps are the effects the client table needs from its surroundings; tests pass
// fakes, newClientTable the broker's.
type clientDeps struct {
	now           func() time.Time
	expiry        time.Duration
	log           zerolog.Logger
	notify        func(group string, conns []*server.Conn)
	notifyEnabled func(group string) bool
	closeConn     func(*server.Conn)
	onSweep       func()
}

func newClientTableWith(d clientDeps) *clientTable {
	c := &clientTable{
		now:           d.now,
		expiry:        d.expiry,
		log:           d.log,
		notify:        d.notify,
		notifyEnabled: d.notifyEnabled,
		closeConn:     d.closeConn,
		onSweep:       d.onSweep,
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.stats = newRuntimeStats(c.now())
	if c.notifyEnabled == nil {
		c.notifyEnabled = func(string) bool { return true }
	}
	c.mu.producers = make(map[string]map[*server.Conn]*clientChannel)
	c.mu.consumers = make(map[string]*consumerGroupInfo)
	return c
}

// registerProducer records that conn runs producer group group.
func (c *clientTable) registerProducer(conn *server.Conn, group string, ch clientChannel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.producers[group]
	if g == nil {
		g = make(map[*server.Conn]*clientChannel)
		c.mu.producers[group] = g
	}
	if old := g[conn]; old == nil || old.clientID != ch.clientID {
		c.log.Debug().Str("group", group).Str("client_id", ch.clientID).Str("addr", ch.addr).Msg("producer registered")
	}
	ch.lastUpdate = c.now()
	g[conn] = &ch
}

// registerConsumer records conn as a member of consumer group cd.GroupName with cd's
// settings and subscriptions. It reports whether the membership or the topic set
// changed; then the group's members are notified (when the group allows it).
//
// As in Java, a newer subVersion of an existing topic replaces the subscription without
// counting as a change: it does not alter which clients share which queues.
func (c *clientTable) registerConsumer(conn *server.Conn, cd *body.ConsumerData, ch clientChannel) bool {
	c.mu.Lock()
	g := c.mu.consumers[cd.GroupName]
	if g == nil {
		g = &consumerGroupInfo{
			channels: make(map[*server.Conn]*clientChannel),
			subs:     make(map[string]*body.SubscriptionData),
		}
		c.mu.consumers[cd.GroupName] = g
	}
	g.consumeType, g.messageModel, g.consumeFromWhere = cd.ConsumeType, cd.MessageModel, cd.ConsumeFromWhere

	changed := false
	if old := g.channels[conn]; old == nil {
		changed = true
		c.log.Info().Str("group", cd.GroupName).Str("client_id", ch.clientID).Str("addr", ch.addr).Msg("consumer joined")
	} else if old.clientID != ch.clientID {
		// A connection that changes its client id is a different member to the
		// allocation, so the others must rebalance.
		changed = true
	}
	ch.lastUpdate = c.now()
	g.channels[conn] = &ch

	seen := make(map[string]struct{}, len(cd.SubscriptionDataSet))
	for i := range cd.SubscriptionDataSet {
		s := &cd.SubscriptionDataSet[i]
		seen[s.Topic] = struct{}{}
		old := g.subs[s.Topic]
		switch {
		case old == nil:
			changed = true
			g.subs[s.Topic] = s.Clone()
		case s.SubVersion > old.SubVersion:
			g.subs[s.Topic] = s.Clone()
		}
	}
	for topic := range g.subs {
		if _, ok := seen[topic]; !ok {
			delete(g.subs, topic)
			changed = true
		}
	}
	var conns []*server.Conn
	if changed {
		conns = connsOf(g.channels)
	}
	c.mu.Unlock()

	if changed {
		c.notifyGroup(cd.GroupName, conns)
	}
	return changed
}

// unregisterProducer removes conn from producer group group (UNREGISTER_CLIENT).
func (c *clientTable) unregisterProducer(conn *server.Conn, group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.mu.producers[group]; g != nil {
		delete(g, conn)
		if len(g) == 0 {
			delete(c.mu.producers, group)
		}
	}
}

// unregisterConsumer removes conn from consumer group group and notifies the rest.
func (c *clientTable) unregisterConsumer(conn *server.Conn, group string) {
	c.mu.Lock()
	g := c.mu.consumers[group]
	if g == nil {
		c.mu.Unlock()
		return
	}
	_, was := g.channels[conn]
	delete(g.channels, conn)
	if len(g.channels) == 0 {
		delete(c.mu.consumers, group)
	}
	conns := connsOf(g.channels)
	c.mu.Unlock()
	if was {
		c.log.Info().Str("group", group).Msg("consumer unregistered")
		c.notifyGroup(group, conns)
	}
}

// onConnClose forgets conn in every group at once: a closed connection cannot be a
// member, and waiting for expiry would leave its queues unconsumed for two minutes.
func (c *clientTable) onConnClose(conn *server.Conn) {
	changed := c.removeConns(func(cc *server.Conn, _ *clientChannel) bool { return cc == conn })
	for group, conns := range changed {
		c.notifyGroup(group, conns)
	}
}

// sweep removes every registration whose last heartbeat is older than the expiry,
// notifies the consumer groups that lost members, and closes connections that are left
// with no registration at all: a connection silent that long is almost certainly dead.
func (c *clientTable) sweep() {
	deadline := c.now().Add(-c.expiry)
	expired := make(map[*server.Conn]struct{})
	changed := c.removeConns(func(conn *server.Conn, ch *clientChannel) bool {
		if ch.lastUpdate.Before(deadline) {
			expired[conn] = struct{}{}
			c.log.Warn().Str("client_id", ch.clientID).Str("addr", ch.addr).Msg("client expired")
			return true
		}
		return false
	})
	if len(expired) > 0 {
		c.mu.Lock()
		for conn := range expired {
			if c.registeredLocked(conn) {
				delete(expired, conn)
			}
		}
		c.mu.Unlock()
	}
	for group, conns := range changed {
		c.notifyGroup(group, conns)
	}
	if c.closeConn != nil {
		for conn := range expired {
			c.closeConn(conn)
		}
	}
	if c.onSweep != nil {
		c.onSweep()
	}
}

// removeConns drops every registration for which drop says so, and returns, for each
// consumer group that lost a member, the members that remain.
func (c *clientTable) removeConns(drop func(*server.Conn, *clientChannel) bool) map[string][]*server.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	for group, g := range c.mu.producers {
		for conn, ch := range g {
			if drop(conn, ch) {
				delete(g, conn)
			}
		}
		if len(g) == 0 {
			delete(c.mu.producers, group)
		}
	}
	changed := make(map[string][]*server.Conn)
	for group, g := range c.mu.consumers {
		lost := false
		for conn, ch := range g.channels {
			if drop(conn, ch) {
				delete(g.channels, conn)
				lost = true
			}
		}
		if !lost {
			continue
		}
		if len(g.channels) == 0 {
			delete(c.mu.consumers, group)
		}
		changed[group] = connsOf(g.channels)
	}
	return changed
}

// registeredLocked reports whether conn is in any group. c.mu must be held.
func (c *clientTable) registeredLocked(conn *server.Conn) bool {
	for _, g := range c.mu.producers {
		if _, ok := g[conn]; ok {
			return true
		}
	}
	for _, g := range c.mu.consumers {
		if _, ok := g.channels[conn]; ok {
			return true
		}
	}
	return false
}

// notifyGroup tells conns that group's membership changed, unless the group turned
// notifications off. Called without c.mu held.
func (c *clientTable) notifyGroup(group string, conns []*server.Conn) {
	if len(conns) == 0 || c.notify == nil || !c.notifyEnabled(group) {
		return
	}
	c.notify(group, conns)
}

// Subscription returns the subscription group registered for topic by heartbeat. The
// returned value is shared: callers must not modify it.
func (c *clientTable) Subscription(group, topic string) (*body.SubscriptionData, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.consumers[group]
	if g == nil {
		return nil, false
	}
	s, ok := g.subs[topic]
	return s, ok
}

// onlineSubscriptions lists (group, topic) for every topic an online consumer group
// subscribes to.
func (c *clientTable) onlineSubscriptions() []groupTopic {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []groupTopic
	for group, g := range c.mu.consumers {
		for topic := range g.subs {
			out = append(out, groupTopic{group, topic})
		}
	}
	return out
}

// subscriptionCount returns how many topics group subscribes to (0 if offline).
func (c *clientTable) subscriptionCount(group string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.mu.consumers[group]; g != nil {
		return len(g.subs)
	}
	return 0
}

// ConsumeFromWhere returns the consumeFromWhere of group's last heartbeat.
func (c *clientTable) ConsumeFromWhere(group string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.mu.consumers[group]; g != nil {
		return g.consumeFromWhere, true
	}
	return "", false
}

// ConsumerIDs returns the client ids of group's live members, sorted and without
// duplicates (a client with two connections is one member).
func (c *clientTable) ConsumerIDs(group string) []string {
	c.mu.Lock()
	g := c.mu.consumers[group]
	var ids []string
	if g != nil {
		ids = make([]string, 0, len(g.channels))
		for _, ch := range g.channels {
			ids = append(ids, ch.clientID)
		}
	}
	c.mu.Unlock()
	sort.Strings(ids)
	return dedupSorted(ids)
}

// ProducerConns returns the live connections of producer group group, most recently
// heartbeated first, so a transaction check goes to the client most likely alive.
func (c *clientTable) ProducerConns(group string) []*server.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.producers[group]
	type entry struct {
		conn *server.Conn
		last time.Time
	}
	es := make([]entry, 0, len(g))
	for conn, ch := range g {
		es = append(es, entry{conn, ch.lastUpdate})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].last.After(es[j].last) })
	out := make([]*server.Conn, len(es))
	for i, e := range es {
		out[i] = e.conn
	}
	return out
}

// consumerConnection builds the GET_CONSUMER_CONNECTION_LIST body of group; false if no
// member is online.
func (c *clientTable) consumerConnection(group string) (*body.ConsumerConnection, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.consumers[group]
	if g == nil || len(g.channels) == 0 {
		return nil, false
	}
	cc := &body.ConsumerConnection{
		ConnectionSet:     connections(g.channels),
		SubscriptionTable: make(map[string]body.SubscriptionData, len(g.subs)),
		ConsumeType:       g.consumeType,
		MessageModel:      g.messageModel,
		ConsumeFromWhere:  g.consumeFromWhere,
	}
	for topic, s := range g.subs {
		cc.SubscriptionTable[topic] = *s.Clone()
	}
	return cc, true
}

// producerConnection builds the GET_PRODUCER_CONNECTION_LIST body of group; false if the
// group has no live connection.
func (c *clientTable) producerConnection(group string) (*body.ProducerConnection, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.producers[group]
	if len(g) == 0 {
		return nil, false
	}
	return &body.ProducerConnection{ConnectionSet: connections(g)}, true
}

// Start runs the expiry sweep every clientScanInterval until ctx ends or Close.
func (c *clientTable) Start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(clientScanInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.sweep()
			}
		}
	}()
}

// Close stops the sweep and waits for it.
func (c *clientTable) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

func connsOf(m map[*server.Conn]*clientChannel) []*server.Conn {
	out := make([]*server.Conn, 0, len(m))
	for conn := range m {
		out = append(out, conn)
	}
	return out
}

func connections(m map[*server.Conn]*clientChannel) []body.Connection {
	out := make([]body.Connection, 0, len(m))
	for _, ch := range m {
		out = append(out, body.Connection{ClientID: ch.clientID, ClientAddr: ch.addr, Language: ch.language, Version: ch.version})
	}
	body.SortConnections(out)
	return out
}

// dedupSorted drops adjacent repeats of a sorted slice in place.
func dedupSorted(s []string) []string {
	if len(s) < 2 {
		return s
	}
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
