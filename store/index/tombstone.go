package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	"github.com/rocketgo/rocketgo/internal/atomicfile"
)

// tombstoneFile holds the deleted topics (doc.go).
const tombstoneFile = "tombstones"

const tombMagic = 0x42544752 // "RGTB" little-endian

// tombstones maps a deleted topic to the offset below which its entries are hidden.
type tombstones struct {
	mu sync.RWMutex
	m  map[string]int64
}

// hidden returns the offset below which topic's entries are hidden, 0 if none.
func (t *tombstones) hidden(topic []byte) int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[string(topic)]
}

func (t *tombstones) load(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, tombstoneFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	m, err := decodeTombstones(b)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.m = m
	t.mu.Unlock()
	return nil
}

var errBadTombstones = errors.New("index: bad tombstone file")

func decodeTombstones(b []byte) (map[string]int64, error) {
	if len(b) < 12 || binary.LittleEndian.Uint32(b) != tombMagic {
		return nil, fmt.Errorf("%w: header", errBadTombstones)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadTombstones)
	}
	n := binary.LittleEndian.Uint32(body[4:])
	p := body[8:]
	m := make(map[string]int64, min(int(n), len(p)/10))
	for i := uint32(0); i < n; i++ {
		if len(p) < 10 {
			return nil, fmt.Errorf("%w: entry %d truncated", errBadTombstones, i)
		}
		off := int64(binary.LittleEndian.Uint64(p))
		l := int(binary.LittleEndian.Uint16(p[8:]))
		if len(p) < 10+l {
			return nil, fmt.Errorf("%w: entry %d truncated", errBadTombstones, i)
		}
		m[string(p[10:10+l])] = off
		p = p[10+l:]
	}
	return m, nil
}

func encodeTombstones(m map[string]int64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, tombMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m)))
	for topic, off := range m {
		b = binary.LittleEndian.AppendUint64(b, uint64(off))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(topic)))
		b = append(b, topic...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// set records topic's tombstone and rewrites the file (durable when it returns).
func (t *tombstones) set(dir, topic string, off int64) error {
	if len(topic) > 0xffff {
		return fmt.Errorf("index: delete topic: name of %d bytes", len(topic))
	}
	return t.update(dir, "delete topic "+topic, func(_ string, v int64) (int64, bool) { return v, true },
		func(m map[string]int64) bool { m[topic] = off; return true })
}

// dropBelow removes the tombstones at or below minPhys: none of the records they hide
// is stored any more.
func (t *tombstones) dropBelow(dir string, minPhys int64) error {
	return t.update(dir, "drop tombstones", func(_ string, v int64) (int64, bool) { return v, v > minPhys }, nil)
}

// lowerAbove lowers the tombstones past off to off: the log was cut there, and what a
// tombstone hid past it is gone.
func (t *tombstones) lowerAbove(dir string, off int64) error {
	return t.update(dir, fmt.Sprintf("lower tombstones to %d", off),
		func(_ string, v int64) (int64, bool) { return min(v, off), true }, nil)
}

// update rewrites the tombstones durably: each is kept as keep maps it (dropped when
// keep says false), then add may add to the new map. Nothing is written when nothing
// changed. what names the operation in an error.
func (t *tombstones) update(dir, what string, keep func(topic string, off int64) (int64, bool), add func(map[string]int64) bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[string]int64, len(t.m)+1)
	changed := false
	for k, v := range t.m {
		nv, ok := keep(k, v)
		if ok {
			m[k] = nv
		}
		changed = changed || !ok || nv != v
	}
	if add != nil && add(m) {
		changed = true
	}
	if !changed {
		return nil
	}
	if err := t.write(dir, m); err != nil {
		return fmt.Errorf("index: %s: %w", what, err)
	}
	t.m = m
	return nil
}

func (t *tombstones) write(dir string, m map[string]int64) error {
	if len(m) == 0 {
		err := os.Remove(filepath.Join(dir, tombstoneFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return syncDir(dir)
	}
	return atomicfile.WriteFile(filepath.Join(dir, tombstoneFile), encodeTombstones(m), 0o644)
}
