package meta

import (
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
)

// CommitMax records offset for (group, topic, queueID) only when it is larger than the
// offset held, and reports whether it did. A slave's relay of offsets committed while
// the master was down goes through it, so it can never move a consumer back behind what
// the consumer has committed on the master since.
func (o *Offsets) CommitMax(group, topic string, queueID int32, offset int64) (bool, error) {
	if err := CheckOffsetNames(group, topic, queueID); err != nil {
		return false, err
	}
	if len(topic) > MaxNameLen || len(group) > MaxGroupKeyLen {
		return false, refusal.New(refusal.BadRequest, "cannot store an offset for topic of %d bytes and group of %d bytes", len(topic), len(group))
	}
	id := OffsetID{topic, group, queueID}
	o.mu.Lock()
	defer o.mu.Unlock()
	if old, ok := o.offsets[id]; ok && old >= offset {
		return false, nil
	}
	o.offsets[id] = offset
	o.dirty[id] = offset
	return true, nil
}

// MergeOffsetsMax applies CommitMax to every offset of w (the GET_ALL_CONSUMER_OFFSET
// JSON) and returns how many it raised. Malformed entries are skipped.
func (o *Offsets) MergeOffsetsMax(w *ConsumerOffsetsJSON) (int, error) {
	n := 0
	for key, qs := range w.OffsetTable {
		topic, group, ok := strings.Cut(key, "@")
		if !ok {
			continue
		}
		for q, off := range qs {
			id, err := strconv.ParseInt(q, 10, 32)
			if err != nil || id < 0 || off < 0 || CheckOffsetNames(group, topic, int32(id)) != nil {
				continue
			}
			raised, err := o.CommitMax(group, topic, int32(id), off)
			if err != nil {
				return n, err
			}
			if raised {
				n++
			}
		}
	}
	return n, nil
}

// Version returns the table's data version.
func (t *Table[V]) Version() DataVersion {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.version
}
