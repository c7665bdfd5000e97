package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// A slave copies its master's metadata every slaveSyncInterval (Java's
// SlaveSynchronize, every 10 s): topic configs (GET_ALL_TOPIC_CONFIG 21), subscription
// groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201) and consumer offsets
// (GET_ALL_CONSUMER_OFFSET 43). The delay levels' progress needs no copy: it is a
// projection of the CommitLog (broker/schedule), which the slave rebuilds from the
// replicated log like every other projection.
//
// A snapshot is applied only while the slave is streaming from that master's log: a
// master that lost its store and restarted empty is refused by replication (package
// ha), and its empty tables must not wipe the slave's either. Topic and group tables
// are replaced when their DataVersion differs from the one last applied; offsets are
// merged, the master's value winning, as Java's putAll does.

// errNotStreaming: the slave is not replicating its master's log, so the master's
// metadata is not known to describe the slave's data.
var errNotStreaming = errors.New("broker: not streaming from the master's log; its metadata is not applied")

// metaSyncTimeout bounds each request of one sync round.
const metaSyncTimeout = 5 * time.Second

// metaSync is a slave's metadata copier.
type metaSync struct {
	b      *Broker
	client *transport.Client
	log    zerolog.Logger

	mu struct {
		sync.Mutex
		addr         string
		topicVersion body.DataVersion
		groupVersion body.DataVersion
		rounds       int // successful rounds, for tests
	}
	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newMetaSync(b *Broker) *metaSync {
	log := b.log.With().Str("component", "slave-sync").Logger()
	return &metaSync{
		b:      b,
		log:    log,
		kick:   make(chan struct{}, 1),
		client: transport.NewClient(transport.ClientOptions{MaxFrameBytes: b.opts.MaxFrameBytes, DialTimeout: haDialTimeout, Logger: log}),
	}
}

// SetMasterAddr sets the master's remoting address; a new one triggers a round at once.
func (m *metaSync) SetMasterAddr(addr string) {
	m.mu.Lock()
	changed := m.mu.addr != addr
	m.mu.addr = addr
	m.mu.Unlock()
	if changed {
		m.log.Info().Str("addr", addr).Msg("master address set")
		m.Trigger()
	}
}

// MasterAddr returns the master's remoting address, "" while unknown.
func (m *metaSync) MasterAddr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.addr
}

// Trigger asks for a round now.
func (m *metaSync) Trigger() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Rounds returns how many rounds applied a snapshot.
func (m *metaSync) Rounds() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.rounds
}

// Start runs a round whenever the master's address is set and every slaveSyncInterval.
func (m *metaSync) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		every := m.b.opts.SlaveSyncInterval
		// A failed round is retried sooner: the first copy matters most (a slave knows
		// no topic before it), and it fails while replication is still connecting.
		retry := min(every, time.Second)
		t := time.NewTimer(every)
		defer t.Stop()
		var lastErr string
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-m.kick:
			}
			err := m.round(ctx)
			next := every
			switch {
			case err == nil:
				lastErr = ""
			case err.Error() != lastErr:
				lastErr = err.Error()
				ev := m.log.Warn()
				if errors.Is(err, errNotStreaming) {
					ev = m.log.Debug() // replication logs why
				}
				ev.Err(err).Msg("metadata sync from master failed; retrying")
				next = retry
			default:
				next = retry
			}
			t.Reset(next)
		}
	}()
}

// Close stops the copier.
func (m *metaSync) Close() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	m.client.Close()
}

// round copies the three tables once.
func (m *metaSync) round(ctx context.Context) error {
	addr := m.MasterAddr()
	if addr == "" {
		return nil
	}
	if st, _ := m.b.ReplicationStatus(); !st.Connected {
		return fmt.Errorf("%w (%s)", errNotStreaming, orDefault(st.LastError, "not connected yet"))
	}
	topics, err := m.fetch(ctx, addr, code.GetAllTopicConfig)
	if err != nil {
		return err
	}
	groups, err := m.fetch(ctx, addr, code.GetAllSubscriptionGroupConfig)
	if err != nil {
		return err
	}
	offsets, err := m.fetch(ctx, addr, code.GetAllConsumerOffset)
	if err != nil {
		return err
	}
	if err := m.applyTopics(topics); err != nil {
		return err
	}
	if err := m.applyGroups(groups); err != nil {
		return err
	}
	if err := m.applyOffsets(offsets); err != nil {
		return err
	}
	m.mu.Lock()
	m.mu.rounds++
	m.mu.Unlock()
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fetch asks the master for one table and returns the body.
func (m *metaSync) fetch(ctx context.Context, addr string, c int16) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, metaSyncTimeout)
	defer cancel()
	resp, err := m.client.Invoke(ctx, addr, codec.NewRequest(c, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("request %d from master %s: %w", c, addr, err)
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("request %d from master %s: code %d: %s", c, addr, resp.Code, resp.Remark)
	}
	return resp.Body, nil
}

// applyTopics replaces the topic table with the master's when its version changed.
func (m *metaSync) applyTopics(data []byte) error {
	w, err := body.DecodeTopicConfigSerializeWrapper(data)
	if err != nil {
		return fmt.Errorf("master's topic configs: %w", err)
	}
	m.mu.Lock()
	same := m.mu.topicVersion == w.DataVersion
	m.mu.Unlock()
	if same {
		return nil
	}
	want := make(map[string]*metapb.TopicConfig, len(w.TopicConfigTable))
	for key, tc := range w.TopicConfigTable {
		name := tc.TopicName
		if name == "" {
			name = key
		}
		if checkTopicName(name) != nil {
			continue // nothing this broker could store or serve
		}
		want[name] = topicFromBody(name, tc)
	}
	changed, err := m.b.topics.replaceAll(want, w.DataVersion)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.mu.topicVersion = w.DataVersion
	m.mu.Unlock()
	if changed > 0 {
		m.log.Info().Int("changed", changed).Int("topics", len(want)).Msg("topic configs copied from master")
	}
	return nil
}

// topicFromBody converts a topic config of the JSON tables to its stored form.
func topicFromBody(name string, tc body.TopicConfig) *metapb.TopicConfig {
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
	}
}

// replaceAll makes the table hold exactly want at version v, in one fsynced batch, and
// returns how many configs it wrote or deleted. The queues of a dropped topic stay on
// disk: the CommitLog keeps their records and retention removes them in time.
func (t *topicTable) replaceAll(want map[string]*metapb.TopicConfig, v DataVersion) (int, error) {
	t.mu.Lock()
	var writes []metaWrite
	for name, tc := range want {
		if old, ok := t.topics[name]; !ok || !proto.Equal(old, tc) {
			writes = append(writes, metaWrite{key: topicKey(name), val: tc})
		}
	}
	for name := range t.topics {
		if _, ok := want[name]; !ok {
			writes = append(writes, metaWrite{key: topicKey(name)})
		}
	}
	changed := len(writes)
	if changed == 0 && t.version == v {
		t.mu.Unlock()
		return 0, nil
	}
	writes = append(writes, metaWrite{key: keyTopicsVersion, val: &metapb.DataVersion{TimestampMs: v.Timestamp, Counter: v.Counter}})
	if err := t.meta.apply(writes, true); err != nil {
		t.mu.Unlock()
		return 0, err
	}
	t.topics = want
	t.version = v
	t.mu.Unlock()
	if changed > 0 {
		t.changed()
	}
	return changed, nil
}

// applyGroups replaces the group table with the master's when its version changed.
func (m *metaSync) applyGroups(data []byte) error {
	var w subGroupWrapperJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("master's subscription groups: %w", err)
	}
	m.mu.Lock()
	same := m.mu.groupVersion == w.DataVersion
	m.mu.Unlock()
	if same {
		return nil
	}
	want := make(map[string]*metapb.SubscriptionGroup, len(w.SubscriptionGroupTable))
	for key, j := range w.SubscriptionGroupTable {
		if j.GroupName == "" {
			j.GroupName = key
		}
		if checkGroupName(j.GroupName) != nil {
			continue
		}
		want[j.GroupName] = &metapb.SubscriptionGroup{
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
	changed, err := m.b.groups.replaceAll(want, w.DataVersion)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.mu.groupVersion = w.DataVersion
	m.mu.Unlock()
	if changed > 0 {
		m.log.Info().Int("changed", changed).Int("groups", len(want)).Msg("subscription groups copied from master")
	}
	return nil
}

// replaceAll makes the table hold exactly want at version v, in one fsynced batch, and
// returns how many configs it wrote or deleted.
func (g *groupTable) replaceAll(want map[string]*metapb.SubscriptionGroup, v DataVersion) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var writes []metaWrite
	for name, sg := range want {
		if old, ok := g.groups[name]; !ok || !proto.Equal(old, sg) {
			writes = append(writes, metaWrite{key: groupKey(name), val: sg})
		}
	}
	for name := range g.groups {
		if _, ok := want[name]; !ok {
			writes = append(writes, metaWrite{key: groupKey(name)})
		}
	}
	changed := len(writes)
	if changed == 0 && g.version == v {
		return 0, nil
	}
	writes = append(writes, metaWrite{key: keyGroupsVersion, val: &metapb.DataVersion{TimestampMs: v.Timestamp, Counter: v.Counter}})
	if err := g.meta.apply(writes, true); err != nil {
		return 0, err
	}
	g.groups = want
	g.version = v
	return changed, nil
}

// consumerOffsetsJSON is the body of GET_ALL_CONSUMER_OFFSET (43):
// {"offsetTable":{"topic@group":{"0":12,"1":7}}} (ConsumerOffsetSerializeWrapper, with
// the queue ids as quoted keys, which fastjson reads too).
type consumerOffsetsJSON struct {
	OffsetTable map[string]map[string]int64 `json:"offsetTable"`
}

// handleGetAllConsumerOffset serves GET_ALL_CONSUMER_OFFSET (43): every committed offset,
// which a slave copies.
func (b *Broker) handleGetAllConsumerOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	w := consumerOffsetsJSON{OffsetTable: map[string]map[string]int64{}}
	for id, off := range b.offsets.snapshot() {
		key := id.topic + "@" + id.group
		qs := w.OffsetTable[key]
		if qs == nil {
			qs = map[string]int64{}
			w.OffsetTable[key] = qs
		}
		qs[strconv.Itoa(int(id.queueID))] = off
	}
	data, err := json.Marshal(w)
	if err != nil {
		return errorResponse(req, fmt.Errorf("encode consumer offsets: %w", err))
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = data
	return resp
}

// snapshot returns a copy of every committed offset.
func (o *offsetTable) snapshot() map[offsetID]int64 {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make(map[offsetID]int64, len(o.offsets))
	for id, off := range o.offsets {
		out[id] = off
	}
	return out
}

// applyOffsets merges the master's committed offsets into this slave's.
func (m *metaSync) applyOffsets(data []byte) error {
	var w consumerOffsetsJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("master's consumer offsets: %w", err)
	}
	n := 0
	for key, qs := range w.OffsetTable {
		// Topic names cannot hold '@' (validName); group names can.
		topic, group, ok := strings.Cut(key, "@")
		if !ok || checkOffsetNames(group, topic, 0) != nil {
			continue
		}
		for q, off := range qs {
			id, err := strconv.ParseInt(q, 10, 32)
			if err != nil || id < 0 || off < 0 {
				continue
			}
			if cur, ok := m.b.offsets.Get(group, topic, int32(id)); ok && cur == off {
				continue
			}
			if err := m.b.offsets.Commit(group, topic, int32(id), off); err != nil {
				return err
			}
			n++
		}
	}
	if n > 0 {
		m.log.Debug().Int("changed", n).Msg("consumer offsets copied from master")
	}
	return nil
}
