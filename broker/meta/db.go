// Package meta is what the broker persists: topic configs, subscription groups and
// consumer offsets, in one pebble database under <store dir>/meta. Topics and groups are
// each a Table, the one generic table of protobuf values (proto/metapb) with a data
// version; offsets are an Offsets table written in batches. json.go converts between the
// stored values and the JSON bodies of the admin and slave-sync requests.
package meta

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/store/diskguard"
)

// The metadata database holds the broker's durable tables in one pebble instance under
// <store dir>/meta. Values are protobuf messages of proto/metapb; keys are:
//
//	t 0x00 <topic>                                   → metapb.TopicConfig
//	g 0x00 <group>                                   → metapb.SubscriptionGroup
//	o <topic len:1> <topic> <group len:2 BE> <group> <queue id:4 BE> → metapb.ConsumerOffset
//	v 0x00 topics | v 0x00 groups                    → metapb.DataVersion of that table
//
// Offsets are keyed by length-prefixed names, so any byte may appear in a group name
// without two keys colliding, and every offset of a topic shares the prefix
// "o <len> <topic>", which DELETE_TOPIC_IN_BROKER removes with one range deletion.
//
// Topic and group changes are written with fsync (they are rare and a lost topic config
// would hide stored messages); committed offsets are written in batches every second
// without fsync (they arrive with nearly every pull; a crash loses at most the last
// second of progress and the consumer re-reads those messages, which at-least-once
// delivery allows). Close syncs everything.
const (
	prefixTopic   = 't'
	prefixGroup   = 'g'
	prefixOffset  = 'o'
	prefixVersion = 'v'
)

var (
	keyTopicsVersion = []byte{prefixVersion, 0, 't', 'o', 'p', 'i', 'c', 's'}
	keyGroupsVersion = []byte{prefixVersion, 0, 'g', 'r', 'o', 'u', 'p', 's'}
)

// MaxGroupKeyLen bounds a group name in an offset key (two length bytes).
const MaxGroupKeyLen = 1<<16 - 1

// Close syncs and closes the database. A database that cannot be written now (read-only
// or on a critically full disk) is closed without the sync.
func (m *DB) Close() (err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.db == nil {
		return nil
	}
	defer diskguard.Recover(&err)
	if m.readOnly || m.broken.Load() || m.guard.AllowMeta() != nil {
		return m.db.Close()
	}
	if err := m.db.LogData(nil, pebble.Sync); err != nil {
		m.db.Close()
		return fmt.Errorf("broker: sync metadata: %w", err)
	}
	if err := m.db.Close(); err != nil {
		return fmt.Errorf("broker: close metadata: %w", err)
	}
	return nil
}

// Sync makes every write so far durable.
func (m *DB) Sync() error {
	return m.write(func(db *pebble.DB) error {
		if err := db.LogData(nil, pebble.Sync); err != nil {
			return fmt.Errorf("broker: sync metadata: %w", err)
		}
		return nil
	})
}

// write applies one batch of puts and deletes. A nil value deletes the key.
type metaWrite struct {
	key []byte
	val proto.Message // nil: delete
}

func (m *DB) apply(writes []metaWrite, sync bool) error {
	return m.write(func(db *pebble.DB) error { return applyTo(db, writes, sync) })
}

func applyTo(db *pebble.DB, writes []metaWrite, sync bool) error {
	b := db.NewBatch()
	defer b.Close()
	for _, w := range writes {
		if w.val == nil {
			if err := b.Delete(w.key, nil); err != nil {
				return fmt.Errorf("broker: metadata delete: %w", err)
			}
			continue
		}
		v, err := proto.Marshal(w.val)
		if err != nil {
			return fmt.Errorf("broker: encode metadata %q: %w", w.key, err)
		}
		if err := b.Set(w.key, v, nil); err != nil {
			return fmt.Errorf("broker: metadata set: %w", err)
		}
	}
	return commit(b, sync)
}

// commit commits b, with fsync when sync is set.
func commit(b *pebble.Batch, sync bool) error {
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := b.Commit(opts); err != nil {
		return fmt.Errorf("broker: write metadata: %w", err)
	}
	return nil
}

// put stores one value.
func (m *DB) put(key []byte, val proto.Message, sync bool) error {
	return m.apply([]metaWrite{{key: key, val: val}}, sync)
}

// applyRaw writes one batch of already-encoded values: fill calls put for each.
func (m *DB) applyRaw(n int, fill func(put func(k, v []byte) error) error, sync bool) error {
	return m.write(func(db *pebble.DB) error {
		b := db.NewBatchWithSize(n * 64)
		defer b.Close()
		if err := fill(func(k, v []byte) error { return b.Set(k, v, nil) }); err != nil {
			return fmt.Errorf("broker: metadata batch: %w", err)
		}
		return commit(b, sync)
	})
}

// deletePrefix removes every key starting with prefix, with fsync.
func (m *DB) deletePrefix(prefix []byte) error {
	return m.write(func(db *pebble.DB) error {
		if err := db.DeleteRange(prefix, prefixEnd(prefix), pebble.Sync); err != nil {
			return fmt.Errorf("broker: delete metadata range %q: %w", prefix, err)
		}
		return nil
	})
}

// get loads the value of key into msg; found is false when the key is absent.
func (m *DB) get(key []byte, msg proto.Message) (found bool, err error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return false, errClosed
	}
	v, closer, err := m.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("broker: read metadata %q: %w", key, err)
	}
	defer closer.Close()
	if err := proto.Unmarshal(v, msg); err != nil {
		return false, fmt.Errorf("broker: decode metadata %q: %w", key, err)
	}
	return true, nil
}

// scan calls fn for every key with prefix, in key order. key and val are valid only
// during the call.
func (m *DB) scan(prefix []byte, fn func(key, val []byte) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return errClosed
	}
	it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("broker: scan metadata %q: %w", prefix, err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("broker: scan metadata %q: %w", prefix, err)
	}
	return nil
}

// prefixEnd returns the smallest key greater than every key with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // all 0xFF: no upper bound
}

// offsetTopicPrefix returns the prefix shared by every offset key of topic.
func offsetTopicPrefix(topic string) []byte {
	k := make([]byte, 0, 2+len(topic))
	k = append(k, prefixOffset, byte(len(topic)))
	return append(k, topic...)
}

// OffsetKey returns the key of a committed offset. Topics are at most 127 bytes and
// groups at most MaxGroupKeyLen (checked by the callers).
func OffsetKey(topic, group string, queueID int32) []byte {
	k := make([]byte, 0, 2+len(topic)+2+len(group)+4)
	k = append(k, prefixOffset, byte(len(topic)))
	k = append(k, topic...)
	k = binary.BigEndian.AppendUint16(k, uint16(len(group)))
	k = append(k, group...)
	return binary.BigEndian.AppendUint32(k, uint32(queueID))
}

// ParseOffsetKey splits an offset key; ok is false for a key that is not one.
func ParseOffsetKey(k []byte) (topic, group string, queueID int32, ok bool) {
	if len(k) < 2 || k[0] != prefixOffset {
		return "", "", 0, false
	}
	tl := int(k[1])
	rest := k[2:]
	if len(rest) < tl+2 {
		return "", "", 0, false
	}
	topic = string(rest[:tl])
	rest = rest[tl:]
	gl := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) != gl+4 {
		return "", "", 0, false
	}
	group = string(rest[:gl])
	queueID = int32(binary.BigEndian.Uint32(rest[gl:]))
	return topic, group, queueID, true
}
