package meta

import (
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/broker/schedule"
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
	TopicTimer               = schedule.TopicTimer           // timer messages wait here
	RetryGroupTopicPrefix    = "%RETRY%"                     // %RETRY%<group>: the group's retry topic
	DLQGroupTopicPrefix      = "%DLQ%"                       // %DLQ%<group>: the group's dead letters
	replyTopicSuffix         = "_REPLY_TOPIC"                // <cluster>_REPLY_TOPIC: request/reply
	scheduleTopicQueueNums   = 18                            // one queue per delay level
	defaultAdminTopicQueues  = 16                            // TopicConfig.java's default queue count
	dlqQueueNums             = 1                             // DLQ_NUMS_PER_GROUP
	PermRWX                  = body.PermRead | body.PermWrite | body.PermInherit
	PermRW                   = body.PermRead | body.PermWrite
	PermAll                  = body.PermPriority | PermRWX
	MaxNameLen               = 127 // topic names: one length byte in the record
	autoCreateRemarkTemplate = "topic %s not exist, create it first with mqadmin updateTopic or UPDATE_AND_CREATE_TOPIC (17)"
)

// ValidName reports whether s is a valid topic (or cluster, broker) name: 1..127
// characters of [%|a-zA-Z0-9_-] (TopicValidator.java).
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
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

// CheckTopicName returns a rejection naming what is wrong with topic, or nil. The codes
// and texts are Java's validateTopic's (SYSTEM_ERROR).
func CheckTopicName(topic string) error {
	switch {
	case strings.TrimSpace(topic) == "":
		return refusal.New(refusal.BadRequest, "The specified topic is blank.")
	case len(topic) > MaxNameLen:
		return refusal.New(refusal.BadRequest, "The specified topic is longer than topic max length %d (got %d).", MaxNameLen, len(topic))
	case !ValidName(topic):
		return refusal.New(refusal.BadRequest, "The specified topic %q contains illegal characters, allowing only ^[%%|a-zA-Z0-9_-]+$", topic)
	}
	return nil
}

// NotSendableTopics are topics only the broker writes (NOT_ALLOWED_SEND_TOPIC_SET plus
// the transaction topics).
var NotSendableTopics = map[string]bool{
	TopicSchedule:          true,
	TopicTransHalf:         true,
	TopicTransOpHalf:       true,
	TopicTransCheckMaxTime: true,
	TopicTimer:             true,
}

// TopicOptions are the broker options the topic table follows.
type TopicOptions struct {
	ClusterName, BrokerName string
	// AutoCreateTopicEnable: TBW102 carries INHERIT and sends may create topics from it.
	AutoCreateTopicEnable bool
	// DefaultTopicQueueNums: TBW102's queue count, the most an auto-created topic gets.
	DefaultTopicQueueNums int
	// TraceTopic, when set, is created at load with one queue and perm 6 (Apache's
	// traceTopicEnable / msgTraceTopicName). It is a system topic that clients may send
	// to: it is not in NotSendableTopics.
	TraceTopic string
}

// Topics holds the topic configs, persisted in the metadata database.
type Topics struct {
	*Table[*metapb.TopicConfig]
	opts TopicOptions
	// OnChange runs after a deletion or a replacement of the table (a full registration
	// with the NameServers); OnPut after topics were created or updated, with their
	// names and the version that change produced (an incremental registration of just
	// those topics). When OnPut is nil, OnChange runs instead. Both are set once before
	// the broker serves.
	OnChange func()
	OnPut    func(v DataVersion, topics ...string)
	system   map[string]bool // built-in topics: refused by create and delete; fixed at load
}

// LoadTopics loads the topic configs and adds the built-in topics that are missing.
// TBW102's perm follows AutoCreateTopicEnable on every start (7 when on, 6 when off),
// so turning auto-creation off takes effect without editing the stored config.
func LoadTopics(db *DB, o TopicOptions, now func() time.Time) (*Topics, error) {
	tab, err := loadTable(db, prefixTopic, keyTopicsVersion, "topic config",
		func() *metapb.TopicConfig { return new(metapb.TopicConfig) }, (*metapb.TopicConfig).GetTopicName, now)
	if err != nil {
		return nil, err
	}
	t := &Topics{Table: tab, opts: o, system: map[string]bool{}}
	tbwPerm := int32(PermRW)
	if o.AutoCreateTopicEnable {
		tbwPerm = PermRWX
	}
	nq := int32(o.DefaultTopicQueueNums)
	builtins := []*metapb.TopicConfig{
		NewTopicConfig(TopicAutoCreate, nq, nq, tbwPerm),
		NewTopicConfig(TopicSelfTest, 1, 1, PermRW),
		NewTopicConfig(TopicOffsetMovedEvent, 1, 1, PermRW),
		NewTopicConfig(TopicSchedule, scheduleTopicQueueNums, scheduleTopicQueueNums, PermRW),
		NewTopicConfig(o.ClusterName, defaultAdminTopicQueues, defaultAdminTopicQueues, PermRWX),
		NewTopicConfig(o.BrokerName, 1, 1, PermRWX),
		NewTopicConfig(o.ClusterName+replyTopicSuffix, 1, 1, PermRW),
	}
	if o.TraceTopic != "" {
		builtins = append(builtins, NewTopicConfig(o.TraceTopic, 1, 1, PermRW))
	}
	var changed []*metapb.TopicConfig
	for _, tc := range builtins {
		t.system[tc.GetTopicName()] = true
		old, ok := tab.rows[tc.GetTopicName()]
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
		if _, err := tab.putLocked(changed...); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// NewTopicConfig returns a SINGLE_TAG, unordered topic config.
func NewTopicConfig(name string, read, write, perm int32) *metapb.TopicConfig {
	return &metapb.TopicConfig{TopicName: name, ReadQueueNums: read, WriteQueueNums: write, Perm: perm}
}

// IsSystem reports whether topic is one of the broker's own topics, which admin requests
// may not create over or delete.
func (t *Topics) IsSystem(topic string) bool { return t.system[topic] }

// Put creates or replaces a topic config, bumps the version and triggers registration.
func (t *Topics) Put(tc *metapb.TopicConfig) error {
	v, err := t.Table.put(tc)
	if err == nil {
		t.put(v, tc.GetTopicName())
	}
	return err
}

// Delete removes a topic config, bumps the version and triggers registration. Deleting
// an unknown topic is not an error.
func (t *Topics) Delete(topic string) error {
	deleted, err := t.Table.Delete(topic)
	if deleted {
		t.changed()
	}
	return err
}

// ReplaceAll makes the table hold exactly want at version v (Table.ReplaceAll) and
// triggers registration when a config changed. The queues of a dropped topic stay on
// disk: the CommitLog keeps their records and retention removes them in time.
func (t *Topics) ReplaceAll(want map[string]*metapb.TopicConfig, v DataVersion) (int, error) {
	changed, err := t.Table.ReplaceAll(want, v)
	if changed > 0 {
		t.changed()
	}
	return changed, err
}

// changed runs the change hook outside the lock.
func (t *Topics) changed() {
	if t.OnChange != nil {
		t.OnChange()
	}
}

// put runs the hook for topics created or updated at version v, outside the lock.
func (t *Topics) put(v DataVersion, topics ...string) {
	if t.OnPut != nil {
		t.OnPut(v, topics...)
		return
	}
	t.changed()
}

// EnsureRetry returns %RETRY%group, creating it with queues queues (at least 1) and perm
// 6 when missing.
func (t *Topics) EnsureRetry(group string, queues int32) (*metapb.TopicConfig, error) {
	return t.Ensure(RetryGroupTopicPrefix+group, max(queues, 1))
}

// EnsureDLQ returns %DLQ%group, creating it with one queue and perm 6 when missing.
func (t *Topics) EnsureDLQ(group string) (*metapb.TopicConfig, error) {
	return t.Ensure(DLQGroupTopicPrefix+group, dlqQueueNums)
}

// Ensure returns topic, creating it with queues read and write queues and perm 6.
func (t *Topics) Ensure(topic string, queues int32) (*metapb.TopicConfig, error) {
	if tc, ok := t.Get(topic); ok {
		return tc, nil
	}
	if err := CheckTopicName(topic); err != nil {
		return nil, err
	}
	return t.create(NewTopicConfig(topic, queues, queues, PermRW))
}

// create stores tc unless its topic was created meanwhile, and returns the config held.
func (t *Topics) create(tc *metapb.TopicConfig) (*metapb.TopicConfig, error) {
	held, created, v, err := t.putIfAbsent(tc)
	if err != nil {
		return nil, err
	}
	if created {
		t.put(v, tc.GetTopicName())
	}
	return held, nil
}

// AutoCreate creates topic from the template defaultTopic on a send (docs/protocol.md
// §3.6): the template must exist and carry the INHERIT bit (TBW102 has it only while
// autoCreateTopicEnable is on); the new topic gets min(requested, template write queues)
// queues, the template's perm without INHERIT, and its filter type. It returns a
// TOPIC_NOT_EXIST rejection telling how to create the topic when it cannot.
func (t *Topics) AutoCreate(topic, defaultTopic string, requested, topicSysFlag int32) (*metapb.TopicConfig, error) {
	if tc, ok := t.Get(topic); ok {
		return tc, nil
	}
	// With autoCreateTopicEnable off no template creates topics, whatever its perm:
	// Java only strips TBW102's INHERIT bit, which the cluster and broker-name topics
	// (perm 7) would otherwise bypass.
	tmpl, ok := t.Get(defaultTopic)
	if !ok || !t.opts.AutoCreateTopicEnable || tmpl.GetPerm()&body.PermInherit == 0 {
		return nil, refusal.New(refusal.TopicNotExist, autoCreateRemarkTemplate, topic)
	}
	queues := min(requested, tmpl.GetWriteQueueNums())
	if queues <= 0 {
		queues = min(int32(t.opts.DefaultTopicQueueNums), tmpl.GetWriteQueueNums())
	}
	return t.create(&metapb.TopicConfig{
		TopicName:       topic,
		ReadQueueNums:   queues,
		WriteQueueNums:  queues,
		Perm:            tmpl.GetPerm() &^ body.PermInherit,
		TopicFilterType: tmpl.GetTopicFilterType(),
		TopicSysFlag:    topicSysFlag,
	})
}

// WrapperOf returns the named topics that exist in the JSON shape of the registration
// body, stamped with version v (an incremental registration, docs/scale.md §1.1).
func (t *Topics) WrapperOf(v DataVersion, topics []string) *body.TopicConfigSerializeWrapper {
	w := &body.TopicConfigSerializeWrapper{TopicConfigTable: make(map[string]body.TopicConfig, len(topics)), DataVersion: v}
	for _, name := range topics {
		if tc, ok := t.Get(name); ok {
			w.TopicConfigTable[name] = TopicToBody(tc)
		}
	}
	return w
}

// Wrapper returns the whole table in the JSON shape of GET_ALL_TOPIC_CONFIG and of the
// registration body.
func (t *Topics) Wrapper() *body.TopicConfigSerializeWrapper {
	all, v := t.All()
	w := &body.TopicConfigSerializeWrapper{TopicConfigTable: make(map[string]body.TopicConfig, len(all)), DataVersion: v}
	for _, tc := range all {
		w.TopicConfigTable[tc.GetTopicName()] = TopicToBody(tc)
	}
	return w
}
