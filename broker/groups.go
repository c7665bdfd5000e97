package broker

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/proto/metapb"

	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Defaults of a new subscription group (SubscriptionGroupConfig.java, PROTOCOL.md §9.2).
const (
	defaultRetryQueueNums               = 1
	defaultRetryMaxTimes                = 16
	defaultWhichBrokerWhenConsumeSlowly = 1
	// maxGroupLen bounds a consumer group name (RocketMQ 5's limit for groups).
	maxGroupLen = 255
)

// newGroup returns a subscription group with RocketMQ's defaults. Every field is set
// explicitly because proto3 booleans default to false while RocketMQ's default to true.
func newGroup(name string) *metapb.SubscriptionGroup {
	return &metapb.SubscriptionGroup{
		GroupName:                      name,
		ConsumeEnable:                  true,
		ConsumeFromMinEnable:           true,
		ConsumeBroadcastEnable:         true,
		RetryQueueNums:                 defaultRetryQueueNums,
		RetryMaxTimes:                  defaultRetryMaxTimes,
		BrokerId:                       0,
		WhichBrokerWhenConsumeSlowly:   defaultWhichBrokerWhenConsumeSlowly,
		NotifyConsumerIdsChangedEnable: true,
	}
}

// checkGroupName returns a rejection naming what is wrong with a consumer group name, or
// nil. Clients validate names against [%|a-zA-Z0-9_-]; the broker only refuses what it
// cannot store or print: empty, over 255 bytes, spaces and control or non-ASCII bytes.
func checkGroupName(group string) error {
	if group == "" {
		return reject(errBadRequest, "the consumer group name is empty")
	}
	if len(group) > maxGroupLen {
		return reject(errBadRequest, "the consumer group name is %d bytes, at most %d allowed", len(group), maxGroupLen)
	}
	for i := 0; i < len(group); i++ {
		if c := group[i]; c <= ' ' || c > '~' {
			return reject(errBadRequest, "the consumer group name %q holds byte 0x%02X at %d; use [%%|a-zA-Z0-9_-]", group, c, i)
		}
	}
	return nil
}

// groupTable holds the subscription group configs, persisted in the metadata database.
// Configs handed out are never modified afterwards.
type groupTable struct {
	meta       *metaDB
	autoCreate bool
	now        func() time.Time

	mu      sync.RWMutex
	groups  map[string]*metapb.SubscriptionGroup
	version DataVersion
}

// loadGroupTable loads the subscription groups.
func loadGroupTable(m *metaDB, autoCreate bool, now func() time.Time) (*groupTable, error) {
	g := &groupTable{meta: m, autoCreate: autoCreate, now: now, groups: map[string]*metapb.SubscriptionGroup{}}
	err := m.scan([]byte{prefixGroup, 0}, func(k, v []byte) error {
		sg := new(metapb.SubscriptionGroup)
		if err := proto.Unmarshal(v, sg); err != nil {
			return fmt.Errorf("broker: decode subscription group %q: %w", k[2:], err)
		}
		g.groups[sg.GetGroupName()] = sg
		return nil
	})
	if err != nil {
		return nil, err
	}
	var dv metapb.DataVersion
	if _, err := m.get(keyGroupsVersion, &dv); err != nil {
		return nil, err
	}
	g.version = DataVersion{Timestamp: dv.GetTimestampMs(), Counter: dv.GetCounter()}
	return g, nil
}

// Get returns the config of group. The config must not be modified.
func (g *groupTable) Get(group string) (*metapb.SubscriptionGroup, bool) {
	g.mu.RLock()
	sg, ok := g.groups[group]
	g.mu.RUnlock()
	return sg, ok
}

// Ensure returns the config of group, creating it with the defaults when
// autoCreateSubscriptionGroup is on. Otherwise an unknown group is a
// SUBSCRIPTION_GROUP_NOT_EXIST rejection.
func (g *groupTable) Ensure(group string) (*metapb.SubscriptionGroup, error) {
	if sg, ok := g.Get(group); ok {
		return sg, nil
	}
	if !g.autoCreate {
		return nil, reject(errGroupNotExist,
			"subscription group %s not exist, create it first with mqadmin updateSubGroup or UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200)", group)
	}
	if err := checkGroupName(group); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if sg, ok := g.groups[group]; ok {
		return sg, nil
	}
	sg := newGroup(group)
	if err := g.putLocked(sg); err != nil {
		if errors.Is(err, diskguard.ErrFull) {
			// A full disk must not stop reads: serve with the default config; the
			// group is recorded by a later request once space returns.
			return sg, nil
		}
		return nil, err
	}
	return sg, nil
}

// Put creates or replaces a group config.
func (g *groupTable) Put(sg *metapb.SubscriptionGroup) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.putLocked(sg)
}

// putLocked persists sg with the bumped version (fsynced) and installs it. g.mu must be
// held.
func (g *groupTable) putLocked(sg *metapb.SubscriptionGroup) error {
	next := DataVersion{Timestamp: g.now().UnixMilli(), Counter: g.version.Counter + 1}
	err := g.meta.apply([]metaWrite{
		{key: groupKey(sg.GetGroupName()), val: sg},
		{key: keyGroupsVersion, val: &metapb.DataVersion{TimestampMs: next.Timestamp, Counter: next.Counter}},
	}, true)
	if err != nil {
		return err
	}
	g.groups[sg.GetGroupName()] = sg
	g.version = next
	return nil
}

// All returns every group config, sorted by name, and the table's version.
func (g *groupTable) All() ([]*metapb.SubscriptionGroup, DataVersion) {
	g.mu.RLock()
	out := make([]*metapb.SubscriptionGroup, 0, len(g.groups))
	for _, sg := range g.groups {
		out = append(out, sg)
	}
	v := g.version
	g.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].GetGroupName() < out[j].GetGroupName() })
	return out, v
}
