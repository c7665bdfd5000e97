// Package metasync owns a slave's copy of its master's metadata: topic configs,
// subscription groups and consumer offsets, fetched over remoting and applied to the
// slave's broker/meta tables. The broker root starts it on a slave and serves the
// master's side (GET_ALL_CONSUMER_OFFSET 43 among the admin requests).
package metasync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/acl"

	"github.com/rs/zerolog"

	"crypto/tls"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
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
// are replaced when their meta.DataVersion differs from the one last applied; offsets are
// merged, the master's value winning as Java's putAll does — except offsets consumers
// committed on this slave that the master has not reached yet (pending.go). Besides the
// periodic copy, a slave polls its master's versions every VersionPollInterval and
// copies at once when they change (watch.go); the master waits for that before it
// answers a change (acks.go).

// errNotStreaming: the slave is not replicating its master's log, so the master's
// metadata is not known to describe the slave's data.
var errNotStreaming = errors.New("broker: not streaming from the master's log; its metadata is not applied")

// requestTimeout bounds each request of one sync round.
const requestTimeout = 5 * time.Second

// Options are what a Sync needs of its broker.
type Options struct {
	// Topics, Groups and Offsets are the slave's tables the master's are copied into.
	Topics  *meta.Topics
	Groups  *meta.Groups
	Offsets *meta.Offsets
	// Streaming reports whether the slave is replicating its master's log, and if not
	// the last replication error ("" when none).
	Streaming func() (ok bool, lastErr string)
	// BrokerID is the slave's brokerId, reported to the master with its versions.
	BrokerID int64
	// Interval is slaveSyncInterval; MaxFrameBytes and DialTimeout configure the client.
	Interval      time.Duration
	MaxFrameBytes int
	DialTimeout   time.Duration
	Logger        zerolog.Logger
	// TLS, when set, makes the copier's calls to the master go over TLS (tls.enable).
	TLS *tls.Config
	// Credentials sign every request to the master (innerClientAuthenticationCredentials),
	// so a master with aclEnable still answers its slaves.
	Credentials acl.Credentials
}

// Sync is a slave's metadata copier.
type Sync struct {
	o      Options
	client *transport.Client
	log    zerolog.Logger

	mu struct {
		sync.Mutex
		addr         string
		topicVersion body.DataVersion
		groupVersion body.DataVersion
		rounds       int                     // successful rounds, for tests
		pending      map[meta.OffsetID]int64 // offsets committed here, not yet on the master (pending.go)
	}
	roundMu sync.Mutex // one round at a time: the periodic loop and the version watch
	kick    chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a stopped copier with no master address.
func New(o Options) *Sync {
	log := o.Logger.With().Str("component", "slave-sync").Logger()
	return &Sync{
		o:      o,
		log:    log,
		kick:   make(chan struct{}, 1),
		client: transport.NewClient(transport.ClientOptions{MaxFrameBytes: o.MaxFrameBytes, DialTimeout: o.DialTimeout, TLS: o.TLS, Logger: log}),
	}
}

// SetMasterAddr sets the master's remoting address; a new one triggers a round at once.
func (m *Sync) SetMasterAddr(addr string) {
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
func (m *Sync) MasterAddr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.addr
}

// Trigger asks for a round now.
func (m *Sync) Trigger() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Rounds returns how many rounds applied a snapshot.
func (m *Sync) Rounds() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.rounds
}

// Start runs a round whenever the master's address is set and every slaveSyncInterval.
func (m *Sync) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(2)
	go m.watch(ctx)
	go func() {
		defer m.wg.Done()
		every := m.o.Interval
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
func (m *Sync) Close() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	m.client.Close()
}

// round copies the three tables once and relays the offsets committed here that the
// master lacks.
func (m *Sync) round(ctx context.Context) error {
	m.roundMu.Lock()
	defer m.roundMu.Unlock()
	addr := m.MasterAddr()
	if addr == "" {
		return nil
	}
	if ok, lastErr := m.o.Streaming(); !ok {
		return fmt.Errorf("%w (%s)", errNotStreaming, orDefault(lastErr, "not connected yet"))
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
	lacks, err := m.applyOffsets(offsets)
	if err != nil {
		return err
	}
	if err := m.relay(ctx, addr, lacks); err != nil {
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
func (m *Sync) fetch(ctx context.Context, addr string, c int32) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req := codec.NewRequest(c, nil, nil)
	req.ExtFields = m.o.Credentials.SignExt(req.ExtFields, nil)
	resp, err := m.client.Invoke(ctx, addr, req)
	if err != nil {
		return nil, fmt.Errorf("request %d from master %s: %w", c, addr, err)
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("request %d from master %s: code %d: %s", c, addr, resp.Code, resp.Remark)
	}
	return resp.Body, nil
}

// applyTopics replaces the topic table with the master's when its version changed.
func (m *Sync) applyTopics(data []byte) error {
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
	want := meta.TopicTableFromBody(w)
	changed, err := m.o.Topics.ReplaceAll(want, w.DataVersion)
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

// applyGroups replaces the group table with the master's when its version changed.
func (m *Sync) applyGroups(data []byte) error {
	want, v, err := meta.DecodeGroupTable(data)
	if err != nil {
		return fmt.Errorf("master's subscription groups: %w", err)
	}
	m.mu.Lock()
	same := m.mu.groupVersion == v
	m.mu.Unlock()
	if same {
		return nil
	}
	changed, err := m.o.Groups.ReplaceAll(want, v)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.mu.groupVersion = v
	m.mu.Unlock()
	if changed > 0 {
		m.log.Info().Int("changed", changed).Int("groups", len(want)).Msg("subscription groups copied from master")
	}
	return nil
}

// ApplyOffsets merges the master's committed offsets into this slave's; offsets
// committed here that the master has not reached yet are kept (pending.go).
func (m *Sync) ApplyOffsets(data []byte) error {
	_, err := m.applyOffsets(data)
	return err
}

// applyOffsets is ApplyOffsets; it also returns the pending offsets the master lacks.
func (m *Sync) applyOffsets(data []byte) (*meta.ConsumerOffsetsJSON, error) {
	var w meta.ConsumerOffsetsJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("master's consumer offsets: %w", err)
	}
	lacks := m.keepPending(&w)
	n, err := m.o.Offsets.MergeOffsets(&w)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		m.log.Debug().Int("changed", n).Msg("consumer offsets copied from master")
	}
	return lacks, nil
}
