package meta

import (
	"errors"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Defaults of a new subscription group (SubscriptionGroupConfig.java, docs/protocol.md
// §9.2).
const (
	defaultRetryQueueNums = 1
	defaultRetryMaxTimes  = 16
	// DefaultWhichBrokerWhenConsumeSlowly is the brokerId a slow consumer is sent to.
	DefaultWhichBrokerWhenConsumeSlowly = 1
	// maxGroupLen bounds a consumer group name (RocketMQ 5's limit for groups).
	maxGroupLen = 255
)

// NewGroup returns a subscription group with RocketMQ's defaults. Every field is set
// explicitly because proto3 booleans default to false while RocketMQ's default to true.
func NewGroup(name string) *metapb.SubscriptionGroup {
	return &metapb.SubscriptionGroup{
		GroupName:                      name,
		ConsumeEnable:                  true,
		ConsumeFromMinEnable:           true,
		ConsumeBroadcastEnable:         true,
		RetryQueueNums:                 defaultRetryQueueNums,
		RetryMaxTimes:                  defaultRetryMaxTimes,
		BrokerId:                       0,
		WhichBrokerWhenConsumeSlowly:   DefaultWhichBrokerWhenConsumeSlowly,
		NotifyConsumerIdsChangedEnable: true,
	}
}

// CheckGroupName returns a rejection naming what is wrong with a consumer group name, or
// nil. Clients validate names against [%|a-zA-Z0-9_-]; the broker only refuses what it
// cannot store or print: empty, over 255 bytes, spaces and control or non-ASCII bytes.
func CheckGroupName(group string) error {
	if group == "" {
		return refusal.New(refusal.BadRequest, "the consumer group name is empty")
	}
	if len(group) > maxGroupLen {
		return refusal.New(refusal.BadRequest, "the consumer group name is %d bytes, at most %d allowed", len(group), maxGroupLen)
	}
	for i := 0; i < len(group); i++ {
		if c := group[i]; c <= ' ' || c > '~' {
			return refusal.New(refusal.BadRequest, "the consumer group name %q holds byte 0x%02X at %d; use [%%|a-zA-Z0-9_-]", group, c, i)
		}
	}
	return nil
}

// Groups holds the subscription group configs, persisted in the metadata database.
type Groups struct {
	*Table[*metapb.SubscriptionGroup]
	autoCreate bool
}

// LoadGroups loads the subscription groups; autoCreate is autoCreateSubscriptionGroup.
func LoadGroups(db *DB, autoCreate bool, now func() time.Time) (*Groups, error) {
	tab, err := loadTable(db, prefixGroup, keyGroupsVersion, "subscription group",
		func() *metapb.SubscriptionGroup { return new(metapb.SubscriptionGroup) }, (*metapb.SubscriptionGroup).GetGroupName, now)
	if err != nil {
		return nil, err
	}
	return &Groups{Table: tab, autoCreate: autoCreate}, nil
}

// Ensure returns the config of group, creating it with the defaults when
// autoCreateSubscriptionGroup is on. Otherwise an unknown group is a
// SUBSCRIPTION_GROUP_NOT_EXIST rejection.
func (g *Groups) Ensure(group string) (*metapb.SubscriptionGroup, error) {
	if sg, ok := g.Get(group); ok {
		return sg, nil
	}
	if !g.autoCreate {
		return nil, refusal.New(refusal.GroupNotExist,
			"subscription group %s not exist, create it first with mqadmin updateSubGroup or UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200)", group)
	}
	if err := CheckGroupName(group); err != nil {
		return nil, err
	}
	sg, _, err := g.PutIfAbsent(NewGroup(group))
	if errors.Is(err, diskguard.ErrFull) {
		// A full disk must not stop reads: serve with the default config; the group is
		// recorded by a later request once space returns.
		return NewGroup(group), nil
	}
	return sg, err
}
