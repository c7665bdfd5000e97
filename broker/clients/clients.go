// Package clients is the broker's registry of producer and consumer groups, built from
// heartbeats: who is connected in which group, what each consumer group subscribes to,
// and the NOTIFY_CONSUMER_IDS_CHANGED that tells a group its membership changed.
package clients

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// ScanInterval is how often the client table looks for silent connections
// (ClientHousekeepingService scans every 10 s).
const ScanInterval = 10 * time.Second

// Channel is what the broker knows of one client connection in one group: who
// the client says it is and when it last heartbeated.
type Channel struct {
	ClientID   string
	Language   string
	Version    int32
	Addr       string // remote ip:port, for the connection lists
	LastUpdate time.Time
}

// consumerGroupInfo is the live state of one consumer group (ConsumerGroupInfo.java):
// its connections, the subscriptions they registered, and the group-wide settings of
// the last heartbeat.
type consumerGroupInfo struct {
	consumeType      string
	messageModel     string
	consumeFromWhere string
	channels         map[*server.Conn]*Channel
	subs             map[string]*body.SubscriptionData
}

// Table is the registry of producer and consumer groups built from heartbeats.
// Connections leave it when they close, when the client unregisters, or after expiry
// without a heartbeat. When a consumer group's membership or topic set changes, every
// member is told with NOTIFY_CONSUMER_IDS_CHANGED so it rebalances at once instead of
// within the next 20 s.
//
// Methods are safe from any goroutine. Notifications and connection closes run after
// the table's lock is released, so a slow connection never holds up the registry.
type Table struct {
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

	mu struct {
		sync.Mutex
		producers map[string]map[*server.Conn]*Channel
		consumers map[string]*consumerGroupInfo
		// requesters maps a connection to the client id its requests named.
		requesters map[*server.Conn]string
	}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Deps are the effects the client table needs from its surroundings; tests pass
// fakes, newClientTable the broker's.
type Deps struct {
	Now    func() time.Time
	Expiry time.Duration
	Log    zerolog.Logger
	// Notify sends NOTIFY_CONSUMER_IDS_CHANGED for group to each conn.
	Notify func(group string, conns []*server.Conn)
	// NotifyEnabled reports the group's notifyConsumerIdsChangedEnable.
	NotifyEnabled func(group string) bool
	// CloseConn closes a connection that went silent past expiry.
	CloseConn func(*server.Conn)
	// OnSweep runs after every expiry scan.
	OnSweep func()
}

func New(d Deps) *Table {
	c := &Table{
		now:           d.Now,
		expiry:        d.Expiry,
		log:           d.Log,
		notify:        d.Notify,
		notifyEnabled: d.NotifyEnabled,
		closeConn:     d.CloseConn,
		onSweep:       d.OnSweep,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.notifyEnabled == nil {
		c.notifyEnabled = func(string) bool { return true }
	}
	c.mu.producers = make(map[string]map[*server.Conn]*Channel)
	c.mu.consumers = make(map[string]*consumerGroupInfo)
	c.mu.requesters = make(map[*server.Conn]string)
	return c
}

// RegisterProducer records that conn runs producer group group.
func (c *Table) RegisterProducer(conn *server.Conn, group string, ch Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.producers[group]
	if g == nil {
		g = make(map[*server.Conn]*Channel)
		c.mu.producers[group] = g
	}
	if old := g[conn]; old == nil || old.ClientID != ch.ClientID {
		c.log.Debug().Str("group", group).Str("client_id", ch.ClientID).Str("addr", ch.Addr).Msg("producer registered")
	}
	ch.LastUpdate = c.now()
	g[conn] = &ch
}

// RegisterConsumer records conn as a member of consumer group cd.GroupName with cd's
// settings and subscriptions. It reports whether the membership or the topic set
// changed; then the group's members are notified (when the group allows it).
//
// As in Java, a newer subVersion of an existing topic replaces the subscription without
// counting as a change: it does not alter which clients share which queues.
func (c *Table) RegisterConsumer(conn *server.Conn, cd *body.ConsumerData, ch Channel) bool {
	c.mu.Lock()
	g := c.mu.consumers[cd.GroupName]
	if g == nil {
		g = &consumerGroupInfo{
			channels: make(map[*server.Conn]*Channel),
			subs:     make(map[string]*body.SubscriptionData),
		}
		c.mu.consumers[cd.GroupName] = g
	}
	g.consumeType, g.messageModel, g.consumeFromWhere = cd.ConsumeType, cd.MessageModel, cd.ConsumeFromWhere

	changed := false
	if old := g.channels[conn]; old == nil {
		changed = true
		c.log.Info().Str("group", cd.GroupName).Str("client_id", ch.ClientID).Str("addr", ch.Addr).Msg("consumer joined")
	} else if old.ClientID != ch.ClientID {
		// A connection that changes its client id is a different member to the
		// allocation, so the others must rebalance.
		changed = true
	}
	ch.LastUpdate = c.now()
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

// UnregisterProducer removes conn from producer group group (UNREGISTER_CLIENT).
func (c *Table) UnregisterProducer(conn *server.Conn, group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.mu.producers[group]; g != nil {
		delete(g, conn)
		if len(g) == 0 {
			delete(c.mu.producers, group)
		}
	}
}

// UnregisterConsumer removes conn from consumer group group and notifies the rest.
func (c *Table) UnregisterConsumer(conn *server.Conn, group string) {
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

// OnConnClose forgets conn in every group at once: a closed connection cannot be a
// member, and waiting for expiry would leave its queues unconsumed for two minutes.
func (c *Table) OnConnClose(conn *server.Conn) {
	c.mu.Lock()
	delete(c.mu.requesters, conn)
	c.mu.Unlock()
	changed := c.removeConns(func(cc *server.Conn, _ *Channel) bool { return cc == conn })
	for group, conns := range changed {
		c.notifyGroup(group, conns)
	}
}

// Sweep removes every registration whose last heartbeat is older than the expiry,
// notifies the consumer groups that lost members, and closes connections that are left
// with no registration at all: a connection silent that long is almost certainly dead.
func (c *Table) Sweep() {
	deadline := c.now().Add(-c.expiry)
	expired := make(map[*server.Conn]struct{})
	changed := c.removeConns(func(conn *server.Conn, ch *Channel) bool {
		if ch.LastUpdate.Before(deadline) {
			expired[conn] = struct{}{}
			c.log.Warn().Str("client_id", ch.ClientID).Str("addr", ch.Addr).Msg("client expired")
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
func (c *Table) removeConns(drop func(*server.Conn, *Channel) bool) map[string][]*server.Conn {
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
func (c *Table) registeredLocked(conn *server.Conn) bool {
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
func (c *Table) notifyGroup(group string, conns []*server.Conn) {
	if len(conns) == 0 || c.notify == nil || !c.notifyEnabled(group) {
		return
	}
	c.notify(group, conns)
}

// Subscription returns the subscription group registered for topic by heartbeat. The
// returned value is shared: callers must not modify it.
func (c *Table) Subscription(group, topic string) (*body.SubscriptionData, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.consumers[group]
	if g == nil {
		return nil, false
	}
	s, ok := g.subs[topic]
	return s, ok
}

// GroupTopic names a topic one consumer group subscribes to; the broker keys its
// per-group consumption samples by it.
type GroupTopic struct{ Group, Topic string }

// OnlineSubscriptions lists (group, topic) for every topic an online consumer group
// subscribes to.
func (c *Table) OnlineSubscriptions() []GroupTopic {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []GroupTopic
	for group, g := range c.mu.consumers {
		for topic := range g.subs {
			out = append(out, GroupTopic{group, topic})
		}
	}
	return out
}

// SubscriptionCount returns how many topics group subscribes to (0 if offline).
func (c *Table) SubscriptionCount(group string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.mu.consumers[group]; g != nil {
		return len(g.subs)
	}
	return 0
}

// ConsumeFromWhere returns the consumeFromWhere of group's last heartbeat.
func (c *Table) ConsumeFromWhere(group string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.mu.consumers[group]; g != nil {
		return g.consumeFromWhere, true
	}
	return "", false
}

// ConsumerIDs returns the client ids of group's live members, sorted and without
// duplicates (a client with two connections is one member).
func (c *Table) ConsumerIDs(group string) []string {
	c.mu.Lock()
	g := c.mu.consumers[group]
	var ids []string
	if g != nil {
		ids = make([]string, 0, len(g.channels))
		for _, ch := range g.channels {
			ids = append(ids, ch.ClientID)
		}
	}
	c.mu.Unlock()
	sort.Strings(ids)
	return dedupSorted(ids)
}

// ProducerConns returns the live connections of producer group group, most recently
// heartbeated first, so a transaction check goes to the client most likely alive.
func (c *Table) ProducerConns(group string) []*server.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.producers[group]
	type entry struct {
		conn *server.Conn
		last time.Time
	}
	es := make([]entry, 0, len(g))
	for conn, ch := range g {
		es = append(es, entry{conn, ch.LastUpdate})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].last.After(es[j].last) })
	out := make([]*server.Conn, len(es))
	for i, e := range es {
		out[i] = e.conn
	}
	return out
}

// NoteRequester records that conn carried a request (a message with REPLY_TO_CLIENT)
// of client clientID. The official Go client heartbeats its producers only every 30 s
// and not before its first request, so the reply to that request would otherwise find
// no connection; the request itself names its client. Forgotten when conn closes.
func (c *Table) NoteRequester(conn *server.Conn, clientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.requesters[conn] != clientID {
		c.mu.requesters[conn] = clientID
	}
}

// RequesterConn returns the live connection over which the broker reaches client
// clientID to push it a reply: the connection of a producer heartbeat with that client
// id, the most recently heartbeated if several (ProducerManager.findChannel), else one
// that carried a request of that client (NoteRequester). It walks the producer
// connections, which a broker holds few of next to its request rate.
func (c *Table) RequesterConn(clientID string) (*server.Conn, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		best *server.Conn
		last time.Time
	)
	for _, g := range c.mu.producers {
		for conn, ch := range g {
			if ch.ClientID == clientID && !conn.Closed() && (best == nil || ch.LastUpdate.After(last)) {
				best, last = conn, ch.LastUpdate
			}
		}
	}
	if best != nil {
		return best, true
	}
	for conn, id := range c.mu.requesters {
		if id == clientID && !conn.Closed() {
			return conn, true
		}
	}
	return nil, false
}

// ConsumerConnection builds the GET_CONSUMER_CONNECTION_LIST body of group; false if no
// member is online.
func (c *Table) ConsumerConnection(group string) (*body.ConsumerConnection, bool) {
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

// ProducerConnection builds the GET_PRODUCER_CONNECTION_LIST body of group; false if the
// group has no live connection.
func (c *Table) ProducerConnection(group string) (*body.ProducerConnection, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.producers[group]
	if len(g) == 0 {
		return nil, false
	}
	return &body.ProducerConnection{ConnectionSet: connections(g)}, true
}

// Start runs the expiry Sweep every ScanInterval until ctx ends or Close.
func (c *Table) Start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(ScanInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.Sweep()
			}
		}
	}()
}

// Close stops the Sweep and waits for it.
func (c *Table) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

func connsOf(m map[*server.Conn]*Channel) []*server.Conn {
	out := make([]*server.Conn, 0, len(m))
	for conn := range m {
		out = append(out, conn)
	}
	return out
}

func connections(m map[*server.Conn]*Channel) []body.Connection {
	out := make([]body.Connection, 0, len(m))
	for _, ch := range m {
		out = append(out, body.Connection{ClientID: ch.ClientID, ClientAddr: ch.Addr, Language: ch.Language, Version: ch.Version})
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

// ConnCounts returns the number of producer connections and, per consumer group, of
// consumer connections (the metrics' connection gauges).
func (c *Table) ConnCounts() (producers int, consumers map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.mu.producers {
		producers += len(g)
	}
	consumers = make(map[string]int, len(c.mu.consumers))
	for name, g := range c.mu.consumers {
		consumers[name] = len(g.channels)
	}
	return producers, consumers
}
