package metasync

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Offsets consumers commit on a slave (docs/operations.md §3.3). While the master is
// down, consumers read from the slave and commit their progress there. Java's slave
// takes such commits too, but its next copy from the returned master overwrites them
// with the master's older offsets, and a consumer that restarts then reads again what it
// had consumed. Here an offset committed on the slave is pending until the master holds
// at least as much:
//
//   - a copy from the master does not lower a pending offset (ApplyOffsets keeps it);
//   - each round relays the pending offsets the master lacks (RELAY_CONSUMER_OFFSETS,
//     2501), which the master applies only where they are larger than its own, so a
//     consumer that already committed further on the master is never moved back;
//   - once the master's copy shows an offset at least as large, it is no longer pending
//     and the master's value wins again (an administrator's reset on the master reaches
//     the slave as before).
//
// Pending offsets live in memory: a slave that restarts before its master returns keeps
// the offsets (they are in its table) but no longer protects them from the master's copy;
// consumers that are still running commit them to the master themselves.

// NoteCommit records that a consumer committed offset on this slave.
func (m *Sync) NoteCommit(group, topic string, queueID int32, offset int64) {
	id := meta.OffsetID{Topic: topic, Group: group, QueueID: queueID}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.pending == nil {
		m.mu.pending = map[meta.OffsetID]int64{}
	}
	if old, ok := m.mu.pending[id]; !ok || offset > old {
		m.mu.pending[id] = offset
	}
}

// Pending returns how many committed offsets the master does not hold yet.
func (m *Sync) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mu.pending)
}

// keepPending lifts the master's offsets in w to the pending ones where the master's
// are smaller, forgets the pending ones the master has reached, and returns what the
// master lacks, in w's JSON shape.
func (m *Sync) keepPending(w *meta.ConsumerOffsetsJSON) *meta.ConsumerOffsetsJSON {
	m.mu.Lock()
	defer m.mu.Unlock()
	lacks := &meta.ConsumerOffsetsJSON{OffsetTable: map[string]map[string]int64{}}
	for id, off := range m.mu.pending {
		key, q := id.Topic+"@"+id.Group, strconv.Itoa(int(id.QueueID))
		if cur, ok := w.OffsetTable[key][q]; ok && cur >= off {
			delete(m.mu.pending, id)
			continue
		}
		for _, t := range []*meta.ConsumerOffsetsJSON{w, lacks} {
			if t.OffsetTable == nil {
				t.OffsetTable = map[string]map[string]int64{}
			}
			if t.OffsetTable[key] == nil {
				t.OffsetTable[key] = map[string]int64{}
			}
			t.OffsetTable[key][q] = off
		}
	}
	return lacks
}

// relay hands the master the offsets it lacks.
func (m *Sync) relay(ctx context.Context, addr string, lacks *meta.ConsumerOffsetsJSON) error {
	if len(lacks.OffsetTable) == 0 {
		return nil
	}
	data, err := json.Marshal(lacks)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := m.client.Invoke(ctx, addr, codec.NewRequest(code.RelayConsumerOffsets, nil, data))
	if err != nil {
		return fmt.Errorf("relay consumer offsets to master %s: %w", addr, err)
	}
	if resp.Code != code.Success {
		return fmt.Errorf("relay consumer offsets to master %s: code %d: %s", addr, resp.Code, resp.Remark)
	}
	m.log.Info().Int("topicGroups", len(lacks.OffsetTable)).Msg("offsets committed on this slave relayed to the master")
	return nil
}
