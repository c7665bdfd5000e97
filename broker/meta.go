package broker

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
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

// maxGroupKeyLen bounds a group name in an offset key (two length bytes).
const maxGroupKeyLen = 1<<16 - 1

// metaDB is the broker's metadata database.
type metaDB struct {
	db       *pebble.DB
	log      zerolog.Logger
	guard    *diskguard.Guard
	readOnly bool
}

// openMetaDB opens (creating if needed) the metadata database in dir. Writes ask g
// first (nil: unguarded); on a critically full disk it opens read-only and writes fail
// with an error wrapping diskguard.ErrFull.
func openMetaDB(dir string, log zerolog.Logger, g *diskguard.Guard) (*metaDB, error) {
	log = log.With().Str("component", "meta").Logger()
	opts := &pebble.Options{}
	readOnly := diskguard.Pebble(opts, g, log)
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("broker: open metadata %s: %w", dir, err)
	}
	if readOnly {
		log.Warn().Str("dir", dir).Msg("disk critically full: metadata opened read-only; topic, group and offset changes are refused until a restart with space")
	}
	return &metaDB{db: db, log: log, guard: g, readOnly: readOnly}, nil
}

// writable returns nil when a write may go to pebble now.
func (m *metaDB) writable() error {
	if m.readOnly {
		return fmt.Errorf("broker: metadata: %w: opened read-only on a full disk", diskguard.ErrFull)
	}
	if err := m.guard.AllowMeta(); err != nil {
		return fmt.Errorf("broker: metadata: %w", err)
	}
	return nil
}

// Close syncs and closes the database.
func (m *metaDB) Close() (err error) {
	defer diskguard.Recover(&err)
	if m.writable() != nil {
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
func (m *metaDB) Sync() (err error) {
	if err := m.writable(); err != nil {
		return err
	}
	defer diskguard.Recover(&err)
	if err := m.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("broker: sync metadata: %w", err)
	}
	return nil
}

// write applies one batch of puts and deletes. A nil value deletes the key.
type metaWrite struct {
	key []byte
	val proto.Message // nil: delete
}

func (m *metaDB) apply(writes []metaWrite, sync bool) (err error) {
	if err := m.writable(); err != nil {
		return err
	}
	defer diskguard.Recover(&err)
	b := m.db.NewBatch()
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
func (m *metaDB) put(key []byte, val proto.Message, sync bool) error {
	return m.apply([]metaWrite{{key: key, val: val}}, sync)
}

// applyRaw writes one batch of already-encoded values: fill calls put for each.
func (m *metaDB) applyRaw(n int, fill func(put func(k, v []byte) error) error, sync bool) (err error) {
	if err := m.writable(); err != nil {
		return err
	}
	defer diskguard.Recover(&err)
	b := m.db.NewBatchWithSize(n * 64)
	defer b.Close()
	err = fill(func(k, v []byte) error { return b.Set(k, v, nil) })
	if err != nil {
		return fmt.Errorf("broker: metadata batch: %w", err)
	}
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := b.Commit(opts); err != nil {
		return fmt.Errorf("broker: write metadata: %w", err)
	}
	return nil
}

// deletePrefix removes every key starting with prefix, with fsync.
func (m *metaDB) deletePrefix(prefix []byte) (err error) {
	if err := m.writable(); err != nil {
		return err
	}
	defer diskguard.Recover(&err)
	if err := m.db.DeleteRange(prefix, prefixEnd(prefix), pebble.Sync); err != nil {
		return fmt.Errorf("broker: delete metadata range %q: %w", prefix, err)
	}
	return nil
}

// get loads the value of key into msg; found is false when the key is absent.
func (m *metaDB) get(key []byte, msg proto.Message) (found bool, err error) {
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
func (m *metaDB) scan(prefix []byte, fn func(key, val []byte) error) error {
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

// topicKey returns the key of a topic config.
func topicKey(topic string) []byte {
	return append([]byte{prefixTopic, 0}, topic...)
}

// groupKey returns the key of a subscription group.
func groupKey(group string) []byte {
	return append([]byte{prefixGroup, 0}, group...)
}

// offsetTopicPrefix returns the prefix shared by every offset key of topic.
func offsetTopicPrefix(topic string) []byte {
	k := make([]byte, 0, 2+len(topic))
	k = append(k, prefixOffset, byte(len(topic)))
	return append(k, topic...)
}

// offsetKey returns the key of a committed offset. Topics are at most 127 bytes and
// groups at most maxGroupKeyLen (checked by the callers).
func offsetKey(topic, group string, queueID int32) []byte {
	k := make([]byte, 0, 2+len(topic)+2+len(group)+4)
	k = append(k, prefixOffset, byte(len(topic)))
	k = append(k, topic...)
	k = binary.BigEndian.AppendUint16(k, uint16(len(group)))
	k = append(k, group...)
	return binary.BigEndian.AppendUint32(k, uint32(queueID))
}

// parseOffsetKey splits an offset key; ok is false for a key that is not one.
func parseOffsetKey(k []byte) (topic, group string, queueID int32, ok bool) {
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
