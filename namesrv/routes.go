package namesrv

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
)

// masterID is the brokerId of a broker group's master; any other id is a slave.
const masterID = 0

// routeTable is the namesrv's whole state: which broker groups exist, which clusters
// they form, which topics each serves, and when each broker address last registered.
// It is pure — no I/O, no clock of its own (callers pass the time) — so every rule of
// RocketMQ's RouteInfoManager can be tested directly. All methods are safe for
// concurrent use.
type routeTable struct {
	mu struct {
		sync.RWMutex
		// topics maps topic → brokerName → that broker group's queues of the topic.
		topics map[string]map[string]body.QueueData
		// brokers maps brokerName → its group: cluster and brokerId → address.
		brokers map[string]*brokerGroup
		// clusters maps clusterName → the brokerNames in it.
		clusters map[string]map[string]struct{}
		// live maps a broker address → its last registration.
		live map[string]*brokerLive
		// filterServers maps a broker address → its filter servers.
		filterServers map[string][]string
	}
}

// brokerGroup is one brokerName: a master and its slaves.
type brokerGroup struct {
	cluster string
	addrs   map[int64]string // brokerId → "ip:port"
}

// brokerLive is what the table remembers about one registered broker address.
type brokerLive struct {
	lastUpdate   time.Time
	dataVersion  body.DataVersion
	connID       uint64 // the connection the registration came on
	haServerAddr string
}

// registration is one REGISTER_BROKER request, decoded.
type registration struct {
	cluster      string
	addr         string
	name         string
	id           int64
	haServerAddr string
	topics       *body.TopicConfigSerializeWrapper
	// filterServers is nil for the pre-3.0.11 body, which has no filter list: the
	// table then leaves the broker's filter servers as they were.
	filterServers []string
	connID        uint64
	now           time.Time
}

// registerResult tells a registering slave where its master is: both fields are set
// only when the broker is a slave and its group's master is registered.
type registerResult struct {
	haServerAddr string
	masterAddr   string
	newAddr      bool // the address was not registered before
}

// removedBroker names a broker address the table dropped, and the connection its last
// registration came on.
type removedBroker struct {
	addr   string
	connID uint64
}

func newRouteTable() *routeTable {
	t := new(routeTable)
	t.mu.topics = make(map[string]map[string]body.QueueData)
	t.mu.brokers = make(map[string]*brokerGroup)
	t.mu.clusters = make(map[string]map[string]struct{})
	t.mu.live = make(map[string]*brokerLive)
	t.mu.filterServers = make(map[string][]string)
	return t
}

// register records a broker registration, as RouteInfoManager.registerBroker does:
// the broker joins its cluster; its address is set under its brokerId and removed
// from any other id of the group (a slave promoted to master keeps one entry); a
// master's topic configs become queue data when its DataVersion is new or this is its
// first registration; and its liveness is refreshed.
func (t *routeTable) register(r registration) registerResult {
	t.mu.Lock()
	defer t.mu.Unlock()

	names := t.mu.clusters[r.cluster]
	if names == nil {
		names = make(map[string]struct{})
		t.mu.clusters[r.cluster] = names
	}
	names[r.name] = struct{}{}

	// An address belongs to one broker group. Java leaves it in its old group when a
	// broker is renamed, where it would never expire (liveness is per address).
	t.detachAddrLocked(r.addr, r.name)

	first := false
	group := t.mu.brokers[r.name]
	if group == nil {
		first = true
		group = &brokerGroup{cluster: r.cluster, addrs: make(map[int64]string)}
		t.mu.brokers[r.name] = group
	}
	for id, addr := range group.addrs {
		if addr == r.addr && id != r.id {
			delete(group.addrs, id)
		}
	}
	if _, had := group.addrs[r.id]; !had {
		first = true
	}
	group.addrs[r.id] = r.addr

	prev := t.mu.live[r.addr]
	if r.id == masterID {
		if first || prev == nil || prev.dataVersion != r.topics.DataVersion {
			for key, tc := range r.topics.TopicConfigTable {
				name := tc.TopicName
				if name == "" {
					name = key // Java keys queue data by the config's own name
				}
				t.putQueueDataLocked(name, body.QueueData{
					BrokerName:     r.name,
					ReadQueueNums:  tc.ReadQueueNums,
					WriteQueueNums: tc.WriteQueueNums,
					Perm:           tc.Perm,
					TopicSysFlag:   tc.TopicSysFlag,
				})
			}
		}
	}

	t.mu.live[r.addr] = &brokerLive{
		lastUpdate:   r.now,
		dataVersion:  r.topics.DataVersion,
		connID:       r.connID,
		haServerAddr: r.haServerAddr,
	}
	if r.filterServers != nil {
		if len(r.filterServers) == 0 {
			delete(t.mu.filterServers, r.addr)
		} else {
			t.mu.filterServers[r.addr] = slices.Clone(r.filterServers)
		}
	}

	res := registerResult{newAddr: prev == nil}
	if r.id != masterID {
		if master, ok := group.addrs[masterID]; ok {
			if ml := t.mu.live[master]; ml != nil {
				res.haServerAddr, res.masterAddr = ml.haServerAddr, master
			}
		}
	}
	return res
}

// putQueueDataLocked sets one broker group's queues of a topic. t.mu must be held for
// writing.
func (t *routeTable) putQueueDataLocked(topic string, qd body.QueueData) {
	m := t.mu.topics[topic]
	if m == nil {
		m = make(map[string]body.QueueData)
		t.mu.topics[topic] = m
	}
	m[qd.BrokerName] = qd
}

// unregister removes one broker address, as UNREGISTER_BROKER asks. When it was the
// last address of its group, the group leaves its cluster and its queue data leaves
// every topic (a topic left without queue data is gone). It reports whether the
// address was registered.
func (t *routeTable) unregister(cluster, addr, name string, id int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, wasLive := t.mu.live[addr]
	delete(t.mu.live, addr)
	delete(t.mu.filterServers, addr)
	group := t.mu.brokers[name]
	if group == nil {
		return wasLive
	}
	delete(group.addrs, id)
	if len(group.addrs) > 0 {
		return wasLive
	}
	delete(t.mu.brokers, name)
	if names := t.mu.clusters[cluster]; names != nil {
		delete(names, name)
		if len(names) == 0 {
			delete(t.mu.clusters, cluster)
		}
	}
	t.removeBrokerNameLocked(name)
	return true
}

// removeBrokerNameLocked drops a broker group's queue data from every topic, and the
// topics left empty. t.mu must be held for writing.
func (t *routeTable) removeBrokerNameLocked(name string) {
	for topic, m := range t.mu.topics {
		delete(m, name)
		if len(m) == 0 {
			delete(t.mu.topics, topic)
		}
	}
}

// removeAddrLocked forgets a broker address everywhere, as Java's onChannelDestroy
// does for a closed or expired broker channel: liveness, filter servers, its entry in
// its group, and — when the group is left empty — the group itself (see
// detachAddrLocked). t.mu must be held for writing.
func (t *routeTable) removeAddrLocked(addr string) {
	delete(t.mu.live, addr)
	delete(t.mu.filterServers, addr)
	t.detachAddrLocked(addr, "")
}

// detachAddrLocked removes addr from every broker group but the one named keep, and
// drops each group it leaves empty: the group leaves its cluster and its queue data
// leaves every topic. t.mu must be held for writing.
func (t *routeTable) detachAddrLocked(addr, keep string) {
	for name, group := range t.mu.brokers {
		if name == keep {
			continue
		}
		for id, a := range group.addrs {
			if a == addr {
				delete(group.addrs, id)
			}
		}
		if len(group.addrs) > 0 {
			continue
		}
		delete(t.mu.brokers, name)
		for cluster, names := range t.mu.clusters {
			if _, ok := names[name]; ok {
				delete(names, name)
				if len(names) == 0 {
					delete(t.mu.clusters, cluster)
				}
			}
		}
		t.removeBrokerNameLocked(name)
	}
}

// expire removes every broker whose last registration is older than maxAge at now
// (strictly: a broker registered exactly maxAge ago survives, as in Java) and returns
// what it removed, so that the caller can close those connections.
func (t *routeTable) expire(now time.Time, maxAge time.Duration) []removedBroker {
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone []removedBroker
	for addr, l := range t.mu.live {
		if now.Sub(l.lastUpdate) > maxAge {
			gone = append(gone, removedBroker{addr: addr, connID: l.connID})
		}
	}
	slices.SortFunc(gone, func(a, b removedBroker) int { return cmp.Compare(a.addr, b.addr) })
	for _, g := range gone {
		t.removeAddrLocked(g.addr)
	}
	return gone
}

// connClosed removes every broker whose latest registration came on connection
// connID, and returns their addresses. A broker that has since registered on another
// connection is kept.
func (t *routeTable) connClosed(connID uint64) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone []string
	for addr, l := range t.mu.live {
		if l.connID == connID {
			gone = append(gone, addr)
		}
	}
	slices.Sort(gone)
	for _, addr := range gone {
		t.removeAddrLocked(addr)
	}
	return gone
}

// route returns the topic's route, or false when no broker serves the topic (no queue
// data, or none of its broker groups registered). Queue and broker data are sorted by
// brokerName so the body is the same for the same state.
func (t *routeTable) route(topic string) (*body.TopicRouteData, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	qds := t.mu.topics[topic]
	if len(qds) == 0 {
		return nil, false
	}
	r := &body.TopicRouteData{
		QueueDatas:        make([]body.QueueData, 0, len(qds)),
		BrokerDatas:       make([]body.BrokerData, 0, len(qds)),
		FilterServerTable: map[string][]string{},
	}
	for _, qd := range qds {
		r.QueueDatas = append(r.QueueDatas, qd)
	}
	slices.SortFunc(r.QueueDatas, func(a, b body.QueueData) int { return cmp.Compare(a.BrokerName, b.BrokerName) })
	for _, qd := range r.QueueDatas {
		group := t.mu.brokers[qd.BrokerName]
		if group == nil {
			continue
		}
		bd := t.brokerDataLocked(qd.BrokerName, group)
		r.BrokerDatas = append(r.BrokerDatas, bd)
		for _, addr := range bd.BrokerAddrs {
			if fs, ok := t.mu.filterServers[addr]; ok {
				r.FilterServerTable[addr] = slices.Clone(fs)
			}
		}
	}
	if len(r.BrokerDatas) == 0 {
		return nil, false
	}
	return r, true
}

// brokerDataLocked copies a group into its wire form. t.mu must be held.
func (t *routeTable) brokerDataLocked(name string, g *brokerGroup) body.BrokerData {
	addrs := make(map[int64]string, len(g.addrs))
	for id, a := range g.addrs {
		addrs[id] = a
	}
	return body.BrokerData{Cluster: g.cluster, BrokerName: name, BrokerAddrs: addrs}
}

// clusterInfo returns every broker group and every cluster's brokerNames (sorted).
func (t *routeTable) clusterInfo() *body.ClusterInfo {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ci := &body.ClusterInfo{
		BrokerAddrTable:  make(map[string]body.BrokerData, len(t.mu.brokers)),
		ClusterAddrTable: make(map[string][]string, len(t.mu.clusters)),
	}
	for name, g := range t.mu.brokers {
		ci.BrokerAddrTable[name] = t.brokerDataLocked(name, g)
	}
	for cluster, names := range t.mu.clusters {
		ci.ClusterAddrTable[cluster] = sortedSet(names)
	}
	return ci
}

// allTopics returns every topic with queue data, sorted.
func (t *routeTable) allTopics() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.mu.topics))
	for topic := range t.mu.topics {
		out = append(out, topic)
	}
	slices.Sort(out)
	return out
}

// topicsByCluster returns, sorted, the topics served by at least one broker group of
// the cluster; none for an unknown cluster.
func (t *routeTable) topicsByCluster(cluster string) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	names := t.mu.clusters[cluster]
	out := []string{}
	for topic, qds := range t.mu.topics {
		for name := range qds {
			if _, ok := names[name]; ok {
				out = append(out, topic)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// deleteTopic removes a topic's queue data: all of it when cluster is empty, else
// only that of the cluster's broker groups (the topic goes when none is left). Brokers
// that still hold the topic bring it back at their next changed registration.
func (t *routeTable) deleteTopic(topic, cluster string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cluster == "" {
		delete(t.mu.topics, topic)
		return
	}
	qds := t.mu.topics[topic]
	if qds == nil {
		return
	}
	for name := range t.mu.clusters[cluster] {
		delete(qds, name)
	}
	if len(qds) == 0 {
		delete(t.mu.topics, topic)
	}
}

// queryDataVersion answers a broker asking whether its topic configuration at dv is
// what the table holds for its address: changed is true when it is not (or the address
// is unknown). An unchanged broker counts as alive, as if it had registered at now. It
// also returns the version the table holds, if any.
func (t *routeTable) queryDataVersion(addr string, dv body.DataVersion, now time.Time) (changed bool, held *body.DataVersion) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.mu.live[addr]
	if l == nil {
		return true, nil
	}
	if l.dataVersion == dv {
		l.lastUpdate = now
		changed = false
	} else {
		changed = true
	}
	held = new(body.DataVersion)
	*held = l.dataVersion
	return changed, held
}

// connInUse reports whether any broker's latest registration came on connection
// connID.
func (t *routeTable) connInUse(connID uint64) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, l := range t.mu.live {
		if l.connID == connID {
			return true
		}
	}
	return false
}

// liveCount returns how many broker addresses are registered.
func (t *routeTable) liveCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.mu.live)
}

func sortedSet(s map[string]struct{}) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
