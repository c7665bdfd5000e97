package namesrv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sync"
)

// orderTopicNamespace is NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG: its keys are topics,
// its values "brokerName:queueNums;..." order configurations, which
// GET_ROUTEINFO_BY_TOPIC carries as orderTopicConf when orderMessageEnable is on.
const orderTopicNamespace = "ORDER_TOPIC_CONFIG"

// maxKVFileBytes bounds kvConfig.json: the table lives in memory and is rewritten whole
// on every change, so a change that would make it larger is refused, and so is a file
// beyond it at load.
const maxKVFileBytes = 64 << 20

// kvTable is KVConfigManager: namespace → key → value, persisted whole to one JSON file
// after every change, the layout of Apache's kvConfig.json
// (KVConfigSerializeWrapper):
//
//	{"configTable":{"<namespace>":{"<key>":"<value>",...},...}}
//
// Unlike Java, which logs a failed write and answers SUCCESS, a change that cannot be
// written is not made and the request fails: what the table answers is always what a
// restart will load. Changes are serialized and copy the table: the new table is
// written to disk before it replaces the old one, so readers never wait for an fsync.
type kvTable struct {
	path    string     // "" keeps the table in memory only
	limit   int        // the most bytes the file may hold: maxKVFileBytes
	writeMu sync.Mutex // serializes put and remove, and so the file's rewrites
	mu      struct {
		sync.RWMutex
		table map[string]map[string]string // replaced, never modified, once published
	}
}

// kvFile is the JSON layout of kvConfig.json.
type kvFile struct {
	ConfigTable map[string]map[string]string `json:"configTable"`
}

// openKV loads the table from path; a missing file is an empty table. A file that is
// not a KVConfigSerializeWrapper is refused (the NameServer does not start) rather
// than overwritten at the next change.
func openKV(path string) (*kvTable, error) {
	t := &kvTable{path: path, limit: maxKVFileBytes}
	t.mu.table = map[string]map[string]string{}
	if path == "" {
		return t, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("namesrv: kvConfigPath: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKVFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("namesrv: kvConfigPath: %w", err)
	}
	table, err := decodeKVFile(raw)
	if err != nil {
		return nil, fmt.Errorf("namesrv: kvConfigPath %s: %w", path, err)
	}
	t.mu.table = table
	return t, nil
}

// decodeKVFile parses kvConfig.json. An empty or whitespace-only file is an empty
// table (Java's file2String then fromJson yields null, and the table stays empty).
func decodeKVFile(raw []byte) (map[string]map[string]string, error) {
	if len(raw) > maxKVFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxKVFileBytes)
	}
	table := map[string]map[string]string{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return table, nil
	}
	var f kvFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("not a KV config table: %v", err)
	}
	for ns, kv := range f.ConfigTable {
		if kv == nil {
			continue // "ns":null holds nothing
		}
		table[ns] = kv
	}
	return table, nil
}

// get returns the value of namespace/key.
func (t *kvTable) get(namespace, key string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.mu.table[namespace][key]
	return v, ok
}

// list returns a copy of a namespace's entries, or false when the namespace has never
// been written (Java keeps a namespace once created, even when its last key is
// deleted; so does this table).
func (t *kvTable) list(namespace string) (map[string]string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	kv, ok := t.mu.table[namespace]
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(kv))
	for k, v := range kv {
		out[k] = v
	}
	return out, true
}

// put sets namespace/key to value and persists the table.
func (t *kvTable) put(namespace, key, value string) error {
	return t.change(func(next map[string]map[string]string) bool {
		kv := maps.Clone(next[namespace])
		if kv == nil {
			kv = map[string]string{}
		}
		kv[key] = value
		next[namespace] = kv
		return true
	})
}

// remove deletes namespace/key (absent is not an error, as in Java) and persists the
// table.
func (t *kvTable) remove(namespace, key string) error {
	return t.change(func(next map[string]map[string]string) bool {
		kv, ok := next[namespace]
		if _, had := kv[key]; !ok || !had {
			return false
		}
		kv = maps.Clone(kv)
		delete(kv, key)
		next[namespace] = kv
		return true
	})
}

// change applies edit to a copy of the table (namespaces shared until edit clones the
// one it changes), writes the copy and publishes it. edit reports whether it changed
// anything; nothing is written when it did not.
func (t *kvTable) change(edit func(next map[string]map[string]string) bool) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.RLock()
	next := maps.Clone(t.mu.table)
	t.mu.RUnlock()
	if !edit(next) {
		return nil
	}
	if err := t.persist(next); err != nil {
		return err
	}
	t.mu.Lock()
	t.mu.table = next
	t.mu.Unlock()
	return nil
}

// persist writes table to a temporary file next to path, syncs it and renames it over
// path, so a crash leaves either the old or the new table. t.writeMu must be held.
func (t *kvTable) persist(table map[string]map[string]string) error {
	raw, err := json.Marshal(kvFile{ConfigTable: table})
	if err != nil {
		return err
	}
	if len(raw) > t.limit {
		// The table must stay loadable (openKV refuses more), and bounded in memory.
		return fmt.Errorf("KV config table would be %d bytes, more than %d", len(raw), t.limit)
	}
	if t.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o755); err != nil {
		return fmt.Errorf("persist KV config: %w", err)
	}
	tmp := t.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("persist KV config: %w", err)
	}
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, t.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("persist KV config to %s: %w", t.path, err)
	}
	return nil
}
