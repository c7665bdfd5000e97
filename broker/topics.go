package broker

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/metapb"
)

// Names of the topics the broker itself uses or reserves (TopicValidator.java, MixAll.java).
const (
	TopicAutoCreate          = "TBW102"                      // template of auto-created topics
	TopicSelfTest            = "SELF_TEST_TOPIC"             // broker self test
	TopicOffsetMovedEvent    = "OFFSET_MOVED_EVENT"          // offset correction events
	TopicSchedule            = "SCHEDULE_TOPIC_XXXX"         // delay messages waiting for their level
	TopicTransHalf           = "RMQ_SYS_TRANS_HALF_TOPIC"    // transaction half messages
	TopicTransOpHalf         = "RMQ_SYS_TRANS_OP_HALF_TOPIC" // transaction resolutions
	TopicTransCheckMaxTime   = "TRANS_CHECK_MAX_TIME_TOPIC"  // half messages checked too often
	TopicBenchmark           = "BenchmarkTest"               // reserved name of Java's benchmark topic
	TopicTrace               = "RMQ_SYS_TRACE_TOPIC"         // message trace records
	RetryGroupTopicPrefix    = "%RETRY%"                     // %RETRY%<group>: the group's retry topic
	DLQGroupTopicPrefix      = "%DLQ%"                       // %DLQ%<group>: the group's dead letters
	replyTopicSuffix         = "_REPLY_TOPIC"                // <cluster>_REPLY_TOPIC: request/reply
	scheduleTopicQueueNums   = 18                            // one queue per delay level
	defaultAdminTopicQueues  = 16                            // TopicConfig.java's default queue count
	dlqQueueNums             = 1                             // DLQ_NUMS_PER_GROUP
	permRWX                  = body.PermRead | body.PermWrite | body.PermInherit
	permRW                   = body.PermRead | body.PermWrite
	permAll                  = body.PermPriority | permRWX
	maxNameLen               = 127 // topic names: one length byte in the record
	autoCreateRemarkTemplate = "topic %s not exist, create it first with mqadmin updateTopic or UPDATE_AND_CREATE_TOPIC (17)"
)

// DataVersion stamps the topic table: the NameServer rebuilds this broker's queue data
// only when a registration carries a version it has not seen.
type DataVersion = body.DataVersion

// validName reports whether s is a valid topic (or cluster, broker) name: 1..127
// characters of [%|a-zA-Z0-9_-] (TopicValidator.java).
func validName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '%', c == '|', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkTopicName returns a rejection naming what is wrong with topic, or nil. The codes
// and texts are Java's validateTopic's (SYSTEM_ERROR).
func checkTopicName(topic string) error {
	switch {
	case strings.TrimSpace(topic) == "":
		return reject(errBadRequest, "The specified topic is blank.")
	case len(topic) > maxNameLen:
		return reject(errBadRequest, "The specified topic is longer than topic max length %d (got %d).", maxNameLen, len(topic))
	case !validName(topic):
		return reject(errBadRequest, "The specified topic %q contains illegal characters, allowing only ^[%%|a-zA-Z0-9_-]+$", topic)
	}
	return nil
}

// notSendableTopics are topics only the broker writes (NOT_ALLOWED_SEND_TOPIC_SET plus
// the transaction topics).
var notSendableTopics = map[string]bool{
	TopicSchedule:          true,
	TopicTransHalf:         true,
	TopicTransOpHalf:       true,
	TopicTransCheckMaxTime: true,
	TopicTimer:             true, // delay.go
}

// topicTable holds the topic configs, persisted in the metadata database. Configs handed
// out are never modified afterwards: a change stores a new one.
type topicTable struct {
	meta *metaDB
	opts Options
	now  func() time.Time
	// onChange runs after every change (registration with the NameServers); set once
	// before the broker serves.
	onChange func()

	mu      sync.RWMutex
	topics  map[string]*metapb.TopicConfig
	version DataVersion
	system  map[string]bool // built-in topics: refused by create and delete
}

// loadTopicTable loads the topic configs and adds the built-in topics that are missing.
// TBW102's perm follows AutoCreateTopicEnable on every start (7 when on, 6 when off),
// so turning auto-creation off takes effect without editing the stored config.
func loadTopicTable(m *metaDB, o Options, now func() time.Time) (*topicTable, error) {
	t := &topicTable{meta: m, opts: o, now: now, topics: map[string]*metapb.TopicConfig{}, system: map[string]bool{}}
	err := m.scan([]byte{prefixTopic, 0}, func(k, v []byte) error {
		tc := new(metapb.TopicConfig)
		if err := proto.Unmarshal(v, tc); err != nil {
			return fmt.Errorf("broker: decode topic config %q: %w", k[2:], err)
		}
		t.topics[tc.GetTopicName()] = tc
		return nil
	})
	if err != nil {
		return nil, err
	}
	var dv metapb.DataVersion
	if _, err := m.get(keyTopicsVersion, &dv); err != nil {
		return nil, err
	}
	t.version = DataVersion{Timestamp: dv.GetTimestampMs(), Counter: dv.GetCounter()}

	tbwPerm := int32(permRW)
	if o.AutoCreateTopicEnable {
		tbwPerm = permRWX
	}
	nq := int32(o.DefaultTopicQueueNums)
	builtins := []*metapb.TopicConfig{
		newTopicConfig(TopicAutoCreate, nq, nq, tbwPerm),
		newTopicConfig(TopicSelfTest, 1, 1, permRW),
		newTopicConfig(TopicOffsetMovedEvent, 1, 1, permRW),
		newTopicConfig(TopicSchedule, scheduleTopicQueueNums, scheduleTopicQueueNums, permRW),
		newTopicConfig(o.ClusterName, defaultAdminTopicQueues, defaultAdminTopicQueues, permRWX),
		newTopicConfig(o.BrokerName, 1, 1, permRWX),
		newTopicConfig(o.ClusterName+replyTopicSuffix, 1, 1, permRW),
	}
	var changed []*metapb.TopicConfig
	for _, tc := range builtins {
		t.system[tc.GetTopicName()] = true
		old, ok := t.topics[tc.GetTopicName()]
		switch {
		case !ok:
			changed = append(changed, tc)
		case tc.GetTopicName() == TopicAutoCreate && old.GetPerm() != tbwPerm:
			upd := proto.Clone(old).(*metapb.TopicConfig)
			upd.Perm = tbwPerm
			changed = append(changed, upd)
		}
	}
	for _, name := range []string{TopicTransHalf, TopicTransOpHalf, TopicTransCheckMaxTime, TopicBenchmark, TopicTrace, TopicTimer} {
		t.system[name] = true
	}
	if len(changed) > 0 {
		if err := t.putLocked(changed...); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// newTopicConfig returns a SINGLE_TAG, unordered topic config.
func newTopicConfig(name string, read, write, perm int32) *metapb.TopicConfig {
	return &metapb.TopicConfig{TopicName: name, ReadQueueNums: read, WriteQueueNums: write, Perm: perm}
}

// Get returns the config of topic. The config must not be modified.
func (t *topicTable) Get(topic string) (*metapb.TopicConfig, bool) {
	t.mu.RLock()
	tc, ok := t.topics[topic]
	t.mu.RUnlock()
	return tc, ok
}

// All returns every topic config, sorted by name, and the table's version.
func (t *topicTable) All() ([]*metapb.TopicConfig, DataVersion) {
	t.mu.RLock()
	out := make([]*metapb.TopicConfig, 0, len(t.topics))
	for _, tc := range t.topics {
		out = append(out, tc)
	}
	v := t.version
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].GetTopicName() < out[j].GetTopicName() })
	return out, v
}

// IsSystem reports whether topic is one of the broker's own topics, which admin requests
// may not create over or delete.
func (t *topicTable) IsSystem(topic string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.system[topic]
}

// Put creates or replaces a topic config, bumps the version and triggers registration.
func (t *topicTable) Put(tc *metapb.TopicConfig) error {
	t.mu.Lock()
	err := t.putLocked(tc)
	t.mu.Unlock()
	if err == nil {
		t.changed()
	}
	return err
}

// putLocked persists configs and the bumped version in one fsynced batch, then installs
// them. t.mu must be held (or the table not yet shared).
func (t *topicTable) putLocked(tcs ...*metapb.TopicConfig) error {
	next := t.nextVersionLocked()
	writes := make([]metaWrite, 0, len(tcs)+1)
	for _, tc := range tcs {
		writes = append(writes, metaWrite{key: topicKey(tc.GetTopicName()), val: tc})
	}
	writes = append(writes, metaWrite{key: keyTopicsVersion, val: &metapb.DataVersion{TimestampMs: next.Timestamp, Counter: next.Counter}})
	if err := t.meta.apply(writes, true); err != nil {
		return err
	}
	for _, tc := range tcs {
		t.topics[tc.GetTopicName()] = tc
	}
	t.version = next
	return nil
}

// nextVersionLocked returns the version after one more change.
func (t *topicTable) nextVersionLocked() DataVersion {
	return DataVersion{Timestamp: t.now().UnixMilli(), Counter: t.version.Counter + 1}
}

// Delete removes a topic config, bumps the version and triggers registration. Deleting
// an unknown topic is not an error.
func (t *topicTable) Delete(topic string) error {
	t.mu.Lock()
	if _, ok := t.topics[topic]; !ok {
		t.mu.Unlock()
		return nil
	}
	next := t.nextVersionLocked()
	err := t.meta.apply([]metaWrite{
		{key: topicKey(topic)},
		{key: keyTopicsVersion, val: &metapb.DataVersion{TimestampMs: next.Timestamp, Counter: next.Counter}},
	}, true)
	if err == nil {
		delete(t.topics, topic)
		t.version = next
	}
	t.mu.Unlock()
	if err == nil {
		t.changed()
	}
	return err
}

// changed runs the change hook outside the lock.
func (t *topicTable) changed() {
	if t.onChange != nil {
		t.onChange()
	}
}

// EnsureRetry returns %RETRY%group, creating it with queues queues (at least 1) and perm
// 6 when missing.
func (t *topicTable) EnsureRetry(group string, queues int32) (*metapb.TopicConfig, error) {
	return t.ensure(RetryGroupTopicPrefix+group, max(queues, 1))
}

// EnsureDLQ returns %DLQ%group, creating it with one queue and perm 6 when missing.
func (t *topicTable) EnsureDLQ(group string) (*metapb.TopicConfig, error) {
	return t.ensure(DLQGroupTopicPrefix+group, dlqQueueNums)
}

// ensure returns topic, creating it with queues read and write queues and perm 6.
func (t *topicTable) ensure(topic string, queues int32) (*metapb.TopicConfig, error) {
	if tc, ok := t.Get(topic); ok {
		return tc, nil
	}
	if err := checkTopicName(topic); err != nil {
		return nil, err
	}
	t.mu.Lock()
	if tc, ok := t.topics[topic]; ok { // created meanwhile
		t.mu.Unlock()
		return tc, nil
	}
	tc := newTopicConfig(topic, queues, queues, permRW)
	err := t.putLocked(tc)
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	t.changed()
	return tc, nil
}

// autoCreate creates topic from the template defaultTopic on a send (PROTOCOL.md §3.6):
// the template must exist and carry the INHERIT bit (TBW102 has it only while
// autoCreateTopicEnable is on); the new topic gets min(requested, template write queues)
// queues, the template's perm without INHERIT, and its filter type. It returns a
// TOPIC_NOT_EXIST rejection telling how to create the topic when it cannot.
func (t *topicTable) autoCreate(topic, defaultTopic string, requested, topicSysFlag int32) (*metapb.TopicConfig, error) {
	if tc, ok := t.Get(topic); ok {
		return tc, nil
	}
	// With autoCreateTopicEnable off no template creates topics, whatever its perm:
	// Java only strips TBW102's INHERIT bit, which the cluster and broker-name topics
	// (perm 7) would otherwise bypass.
	tmpl, ok := t.Get(defaultTopic)
	if !ok || !t.opts.AutoCreateTopicEnable || tmpl.GetPerm()&body.PermInherit == 0 {
		return nil, reject(errTopicNotExist, autoCreateRemarkTemplate, topic)
	}
	queues := min(requested, tmpl.GetWriteQueueNums())
	if queues <= 0 {
		queues = min(int32(t.opts.DefaultTopicQueueNums), tmpl.GetWriteQueueNums())
	}
	t.mu.Lock()
	if tc, ok := t.topics[topic]; ok {
		t.mu.Unlock()
		return tc, nil
	}
	tc := &metapb.TopicConfig{
		TopicName:       topic,
		ReadQueueNums:   queues,
		WriteQueueNums:  queues,
		Perm:            tmpl.GetPerm() &^ body.PermInherit,
		TopicFilterType: tmpl.GetTopicFilterType(),
		TopicSysFlag:    topicSysFlag,
	}
	err := t.putLocked(tc)
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	t.changed()
	return tc, nil
}

// toBody converts a topic config to its JSON shape.
func topicToBody(tc *metapb.TopicConfig) body.TopicConfig {
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
	}
}

// Wrapper returns the whole table in the JSON shape of GET_ALL_TOPIC_CONFIG and of the
// registration body.
func (t *topicTable) Wrapper() *body.TopicConfigSerializeWrapper {
	all, v := t.All()
	w := &body.TopicConfigSerializeWrapper{TopicConfigTable: make(map[string]body.TopicConfig, len(all)), DataVersion: v}
	for _, tc := range all {
		w.TopicConfigTable[tc.GetTopicName()] = topicToBody(tc)
	}
	return w
}
