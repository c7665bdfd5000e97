package meta

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/metapb"
)

// DataVersion stamps a table: the NameServer rebuilds this broker's queue data only when
// a registration carries a topic-table version it has not seen, and a slave copies a
// master's table only when its version changed.
type DataVersion = body.DataVersion

// Table is one persisted table of named protobuf values (topic configs, subscription
// groups) with its data version, all held in memory. Values handed out are never
// modified afterwards: a change stores a new one. Every change is written with fsync,
// together with the bumped version, in one batch.
type Table[V proto.Message] struct {
	db         *DB
	prefix     []byte // of every value's key: <prefix byte> 0x00 <name>
	versionKey []byte
	name       func(V) string
	now        func() time.Time

	mu      sync.RWMutex
	rows    map[string]V
	version DataVersion
}

// loadTable reads every value under prefix and the version under versionKey. what names
// a value in decode errors ("topic config").
func loadTable[V proto.Message](db *DB, prefix byte, versionKey []byte, what string,
	newV func() V, name func(V) string, now func() time.Time) (*Table[V], error) {
	t := &Table[V]{db: db, prefix: []byte{prefix, 0}, versionKey: versionKey, name: name, now: now, rows: map[string]V{}}
	err := db.scan(t.prefix, func(k, v []byte) error {
		val := newV()
		if err := proto.Unmarshal(v, val); err != nil {
			return fmt.Errorf("broker: decode %s %q: %w", what, k[2:], err)
		}
		t.rows[name(val)] = val
		return nil
	})
	if err != nil {
		return nil, err
	}
	var dv metapb.DataVersion
	if _, err := db.get(versionKey, &dv); err != nil {
		return nil, err
	}
	t.version = DataVersion{Timestamp: dv.GetTimestampMs(), Counter: dv.GetCounter()}
	return t, nil
}

func (t *Table[V]) key(name string) []byte {
	return append(append([]byte(nil), t.prefix...), name...)
}

func (t *Table[V]) versionWrite(v DataVersion) metaWrite {
	return metaWrite{key: t.versionKey, val: &metapb.DataVersion{TimestampMs: v.Timestamp, Counter: v.Counter}}
}

// nextVersionLocked returns the version after one more change.
func (t *Table[V]) nextVersionLocked() DataVersion {
	return DataVersion{Timestamp: t.now().UnixMilli(), Counter: t.version.Counter + 1}
}

// Get returns the value named name. It must not be modified.
func (t *Table[V]) Get(name string) (V, bool) {
	t.mu.RLock()
	v, ok := t.rows[name]
	t.mu.RUnlock()
	return v, ok
}

// All returns every value, sorted by name, and the table's version.
func (t *Table[V]) All() ([]V, DataVersion) {
	t.mu.RLock()
	out := make([]V, 0, len(t.rows))
	for _, v := range t.rows {
		out = append(out, v)
	}
	ver := t.version
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return t.name(out[i]) < t.name(out[j]) })
	return out, ver
}

// Put creates or replaces values and bumps the version.
func (t *Table[V]) Put(vs ...V) error {
	_, err := t.put(vs...)
	return err
}

// put is Put returning the version the change produced.
func (t *Table[V]) put(vs ...V) (DataVersion, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.putLocked(vs...)
}

// putLocked persists vs and the bumped version in one fsynced batch, then installs them,
// and returns that version. t.mu must be held (or the table not yet shared).
func (t *Table[V]) putLocked(vs ...V) (DataVersion, error) {
	next := t.nextVersionLocked()
	writes := make([]metaWrite, 0, len(vs)+1)
	for _, v := range vs {
		writes = append(writes, metaWrite{key: t.key(t.name(v)), val: v})
	}
	if err := t.db.apply(append(writes, t.versionWrite(next)), true); err != nil {
		return DataVersion{}, err
	}
	for _, v := range vs {
		t.rows[t.name(v)] = v
	}
	t.version = next
	return next, nil
}

// PutIfAbsent stores v unless a value of its name exists, and returns the value the
// table holds; created tells whether it is v.
func (t *Table[V]) PutIfAbsent(v V) (held V, created bool, err error) {
	held, created, _, err = t.putIfAbsent(v)
	return held, created, err
}

// putIfAbsent is PutIfAbsent also returning the version a creation produced.
func (t *Table[V]) putIfAbsent(v V) (held V, created bool, ver DataVersion, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.rows[t.name(v)]; ok { // created meanwhile
		return old, false, DataVersion{}, nil
	}
	if ver, err = t.putLocked(v); err != nil {
		return held, false, DataVersion{}, err
	}
	return v, true, ver, nil
}

// Delete removes the value named name and bumps the version; deleted is false (and
// nothing is written) when there is none.
func (t *Table[V]) Delete(name string) (deleted bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.rows[name]; !ok {
		return false, nil
	}
	next := t.nextVersionLocked()
	if err := t.db.apply([]metaWrite{{key: t.key(name)}, t.versionWrite(next)}, true); err != nil {
		return false, err
	}
	delete(t.rows, name)
	t.version = next
	return true, nil
}

// ReplaceAll makes the table hold exactly want at version v, in one fsynced batch, and
// returns how many values it wrote or deleted (a slave copying its master's table).
func (t *Table[V]) ReplaceAll(want map[string]V, v DataVersion) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var writes []metaWrite
	for name, val := range want {
		if old, ok := t.rows[name]; !ok || !proto.Equal(old, val) {
			writes = append(writes, metaWrite{key: t.key(name), val: val})
		}
	}
	for name := range t.rows {
		if _, ok := want[name]; !ok {
			writes = append(writes, metaWrite{key: t.key(name)})
		}
	}
	changed := len(writes)
	if changed == 0 && t.version == v {
		return 0, nil
	}
	if err := t.db.apply(append(writes, t.versionWrite(v)), true); err != nil {
		return 0, err
	}
	t.rows = want
	t.version = v
	return changed, nil
}
