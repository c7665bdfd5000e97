package meta

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/metapb"
)

// MaxQueueNums bounds the queues of a topic and a group's retry queues (BenchmarkTest
// has 1024).
const MaxQueueNums = 1024

// TopicToBody converts a topic config to its JSON shape.
func TopicToBody(tc *metapb.TopicConfig) body.TopicConfig {
	ft := body.FilterSingleTag
	if tc.GetTopicFilterType() == metapb.TopicFilterType_MULTI_TAG {
		ft = body.FilterMultiTag
	}
	return body.TopicConfig{
		TopicName:       tc.GetTopicName(),
		ReadQueueNums:   tc.GetReadQueueNums(),
		WriteQueueNums:  tc.GetWriteQueueNums(),
		Perm:            tc.GetPerm(),
		TopicFilterType: ft,
		TopicSysFlag:    tc.GetTopicSysFlag(),
		Order:           tc.GetOrder(),
		Attributes:      tc.GetAttributes(),
	}
}

// TopicFromBody converts a topic config of the JSON tables to its stored form.
func TopicFromBody(name string, tc body.TopicConfig) *metapb.TopicConfig {
	ft := metapb.TopicFilterType_SINGLE_TAG
	if tc.TopicFilterType == body.FilterMultiTag {
		ft = metapb.TopicFilterType_MULTI_TAG
	}
	return &metapb.TopicConfig{
		TopicName:       name,
		ReadQueueNums:   tc.ReadQueueNums,
		WriteQueueNums:  tc.WriteQueueNums,
		Perm:            tc.Perm,
		TopicFilterType: ft,
		TopicSysFlag:    tc.TopicSysFlag,
		Order:           tc.Order,
		Attributes:      tc.Attributes,
	}
}

// TopicTableFromBody converts a GET_ALL_TOPIC_CONFIG table to stored configs, keyed by
// name; a config without a name takes its key, and names this broker could not store or
// serve are left out.
func TopicTableFromBody(w *body.TopicConfigSerializeWrapper) map[string]*metapb.TopicConfig {
	out := make(map[string]*metapb.TopicConfig, len(w.TopicConfigTable))
	for key, tc := range w.TopicConfigTable {
		name := tc.TopicName
		if name == "" {
			name = key
		}
		if CheckTopicName(name) != nil {
			continue
		}
		out[name] = TopicFromBody(name, tc)
	}
	return out
}

// SubGroupJSON is a subscription group in the JSON of SubscriptionGroupConfig.java,
// fields in fastjson's (alphabetical) order.
type SubGroupJSON struct {
	BrokerID                       int64  `json:"brokerId"`
	ConsumeBroadcastEnable         bool   `json:"consumeBroadcastEnable"`
	ConsumeEnable                  bool   `json:"consumeEnable"`
	ConsumeFromMinEnable           bool   `json:"consumeFromMinEnable"`
	GroupName                      string `json:"groupName"`
	NotifyConsumerIDsChangedEnable bool   `json:"notifyConsumerIdsChangedEnable"`
	RetryMaxTimes                  int32  `json:"retryMaxTimes"`
	RetryQueueNums                 int32  `json:"retryQueueNums"`
	WhichBrokerWhenConsumeSlowly   int64  `json:"whichBrokerWhenConsumeSlowly"`
}

// SubGroupWrapperJSON is the body of GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201).
type SubGroupWrapperJSON struct {
	DataVersion            DataVersion             `json:"dataVersion"`
	SubscriptionGroupTable map[string]SubGroupJSON `json:"subscriptionGroupTable"`
}

// GroupToJSON converts a stored group to its JSON shape.
func GroupToJSON(sg *metapb.SubscriptionGroup) SubGroupJSON {
	return SubGroupJSON{
		BrokerID:                       sg.GetBrokerId(),
		ConsumeBroadcastEnable:         sg.GetConsumeBroadcastEnable(),
		ConsumeEnable:                  sg.GetConsumeEnable(),
		ConsumeFromMinEnable:           sg.GetConsumeFromMinEnable(),
		GroupName:                      sg.GetGroupName(),
		NotifyConsumerIDsChangedEnable: sg.GetNotifyConsumerIdsChangedEnable(),
		RetryMaxTimes:                  sg.GetRetryMaxTimes(),
		RetryQueueNums:                 sg.GetRetryQueueNums(),
		WhichBrokerWhenConsumeSlowly:   sg.GetWhichBrokerWhenConsumeSlowly(),
	}
}

// GroupFromJSON converts a group of the JSON shape to its stored form.
func GroupFromJSON(j SubGroupJSON) *metapb.SubscriptionGroup {
	return &metapb.SubscriptionGroup{
		GroupName:                      j.GroupName,
		ConsumeEnable:                  j.ConsumeEnable,
		ConsumeFromMinEnable:           j.ConsumeFromMinEnable,
		ConsumeBroadcastEnable:         j.ConsumeBroadcastEnable,
		RetryQueueNums:                 j.RetryQueueNums,
		RetryMaxTimes:                  j.RetryMaxTimes,
		BrokerId:                       j.BrokerID,
		WhichBrokerWhenConsumeSlowly:   j.WhichBrokerWhenConsumeSlowly,
		NotifyConsumerIdsChangedEnable: j.NotifyConsumerIDsChangedEnable,
	}
}

// DecodeSubGroup parses an UPDATE_AND_CREATE_SUBSCRIPTIONGROUP body; fields it leaves
// out get RocketMQ's defaults, as fastjson leaves Java's field initialisers in place.
func DecodeSubGroup(data []byte) (*metapb.SubscriptionGroup, error) {
	j := GroupToJSON(NewGroup(""))
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, refusal.New(refusal.BadRequest, "subscription group body is not a SubscriptionGroupConfig JSON object: %v", err)
	}
	if err := CheckGroupName(j.GroupName); err != nil {
		return nil, err
	}
	if j.RetryQueueNums < 0 || j.RetryQueueNums > MaxQueueNums {
		return nil, refusal.New(refusal.BadRequest, "retryQueueNums %d of group %s outside 0..%d", j.RetryQueueNums, j.GroupName, MaxQueueNums)
	}
	if j.RetryMaxTimes < -1 {
		return nil, refusal.New(refusal.BadRequest, "retryMaxTimes %d of group %s below -1", j.RetryMaxTimes, j.GroupName)
	}
	return GroupFromJSON(j), nil
}

// EncodeGroups returns the body of GET_ALL_SUBSCRIPTIONGROUP_CONFIG:
// {"dataVersion":{...},"subscriptionGroupTable":{"g":{...}}} as strict JSON, which the Go
// admin client parses with encoding/json.
func (g *Groups) EncodeGroups() ([]byte, error) {
	all, v := g.All()
	w := SubGroupWrapperJSON{DataVersion: v, SubscriptionGroupTable: make(map[string]SubGroupJSON, len(all))}
	for _, sg := range all {
		w.SubscriptionGroupTable[sg.GetGroupName()] = GroupToJSON(sg)
	}
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode subscription groups: %w", err)
	}
	return data, nil
}

// DecodeGroupTable parses a GET_ALL_SUBSCRIPTIONGROUP_CONFIG body into stored groups,
// keyed by name; a group without a name takes its key, and names this broker could not
// store are left out.
func DecodeGroupTable(data []byte) (map[string]*metapb.SubscriptionGroup, DataVersion, error) {
	var w SubGroupWrapperJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, DataVersion{}, err
	}
	out := make(map[string]*metapb.SubscriptionGroup, len(w.SubscriptionGroupTable))
	for key, j := range w.SubscriptionGroupTable {
		if j.GroupName == "" {
			j.GroupName = key
		}
		if CheckGroupName(j.GroupName) != nil {
			continue
		}
		out[j.GroupName] = GroupFromJSON(j)
	}
	return out, w.DataVersion, nil
}

// ConsumerOffsetsJSON is the body of GET_ALL_CONSUMER_OFFSET (43):
// {"offsetTable":{"topic@group":{"0":12,"1":7}}} (ConsumerOffsetSerializeWrapper, with
// the queue ids as quoted keys, which fastjson reads too).
type ConsumerOffsetsJSON struct {
	OffsetTable map[string]map[string]int64 `json:"offsetTable"`
}

// EncodeOffsets returns every committed offset as the body of GET_ALL_CONSUMER_OFFSET.
func (o *Offsets) EncodeOffsets() ([]byte, error) {
	w := ConsumerOffsetsJSON{OffsetTable: map[string]map[string]int64{}}
	for id, off := range o.Snapshot() {
		key := id.Topic + "@" + id.Group
		qs := w.OffsetTable[key]
		if qs == nil {
			qs = map[string]int64{}
			w.OffsetTable[key] = qs
		}
		qs[strconv.Itoa(int(id.QueueID))] = off
	}
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode consumer offsets: %w", err)
	}
	return data, nil
}

// MergeOffsets commits the offsets of a GET_ALL_CONSUMER_OFFSET body, the body's value
// winning, as Java's putAll does, and returns how many changed. Entries this broker
// could not store are skipped.
func (o *Offsets) MergeOffsets(w *ConsumerOffsetsJSON) (int, error) {
	n := 0
	for key, qs := range w.OffsetTable {
		// Topic names cannot hold '@' (ValidName); group names can.
		topic, group, ok := strings.Cut(key, "@")
		if !ok || CheckOffsetNames(group, topic, 0) != nil {
			continue
		}
		for q, off := range qs {
			id, err := strconv.ParseInt(q, 10, 32)
			if err != nil || id < 0 || off < 0 {
				continue
			}
			if cur, ok := o.Get(group, topic, int32(id)); ok && cur == off {
				continue
			}
			if err := o.Commit(group, topic, int32(id), off); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
