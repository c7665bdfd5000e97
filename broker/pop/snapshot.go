package pop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
)

// The snapshot shortens recovery; deleting it costs time, not data (docs/pop.md §4):
//
//	+--------+-----+--------+----------------------------------------------------------+
//	| "RGPS" | len | crc32c | payload (len bytes)                                      |
//	|   4    |  4  |   4    |                                                          |
//	+--------+-----+--------+----------------------------------------------------------+
//	payload: logOffset 8 | nQueues 4 | nQueues × queue
//	queue:   groupLen 2, group | topicLen 2, topic | queueId 4 | next 8 | n 4 |
//	         n × (offset 8 | popTime 8 | visibleAt 8 | attempts 4 | flags 1 (bit 0 FIFO))
//
// logOffset is the CommitLog offset the state covers: every POP record below it is in
// the state, none at or above it. Recovery applies the records from logOffset on.
const (
	snapMagic = "RGPS"
	snapName  = "snapshot"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes the state to Dir once the log is flushed past the offset it covers,
// so a snapshot never claims records a crash could lose.
func (s *Service) Snapshot() error {
	if s.o.Dir == "" {
		return nil
	}
	s.mu.Lock()
	// Live, every POP record appended so far is in the state; before Start (and on a
	// slave, which never starts) the state holds what the projection was fed.
	at := s.fed.Load()
	if s.live.Load() {
		at = s.o.Store.MaxPhysicalOffset()
	}
	if at <= s.snapAt {
		s.mu.Unlock()
		return nil
	}
	payload := encodeState(s.st, at)
	s.mu.Unlock()
	if err := s.o.Store.WaitFlushed(context.Background(), at); err != nil {
		return fmt.Errorf("pop: snapshot waits for the flush: %w", err)
	}
	if err := writeFileAtomic(s.o.Dir, snapName, frame(payload)); err != nil {
		return err
	}
	s.mu.Lock()
	s.snapAt = max(s.snapAt, at)
	s.mu.Unlock()
	return nil
}

// loadSnapshot reads the snapshot, if any; a damaged one is an error naming the file
// (delete it to rebuild from the log).
func (s *Service) loadSnapshot() error {
	if s.o.Dir == "" {
		return nil
	}
	path := filepath.Join(s.o.Dir, snapName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pop: %w", err)
	}
	st, at, err := decodeSnapshot(b)
	if err != nil {
		return fmt.Errorf("pop: snapshot %s: %w (delete it to rebuild the POP state from the log)", path, err)
	}
	s.st, s.snapAt = st, at
	return nil
}

func frame(payload []byte) []byte {
	b := make([]byte, 0, 12+len(payload))
	b = append(b, snapMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

func encodeState(st *state, at int64) []byte {
	keys := make([]qkey, 0, len(st.queues))
	for k := range st.queues {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.group != b.group {
			return a.group < b.group
		}
		if a.topic != b.topic {
			return a.topic < b.topic
		}
		return a.queueID < b.queueID
	})
	b := binary.BigEndian.AppendUint64(nil, uint64(at))
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		q := st.queues[k]
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.group)))
		b = append(b, k.group...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.topic)))
		b = append(b, k.topic...)
		b = binary.BigEndian.AppendUint32(b, uint32(k.queueID))
		b = binary.BigEndian.AppendUint64(b, uint64(q.next))
		offs := make([]int64, 0, len(q.inflight))
		for off := range q.inflight {
			offs = append(offs, off)
		}
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		b = binary.BigEndian.AppendUint32(b, uint32(len(offs)))
		for _, off := range offs {
			e := q.inflight[off]
			b = binary.BigEndian.AppendUint64(b, uint64(off))
			b = binary.BigEndian.AppendUint64(b, uint64(e.popTime))
			b = binary.BigEndian.AppendUint64(b, uint64(e.visibleAt))
			b = binary.BigEndian.AppendUint32(b, uint32(e.attempts))
			var flags byte
			if e.fifo {
				flags = 1
			}
			b = append(b, flags)
		}
	}
	return b
}

// decodeSnapshot parses a framed snapshot. It never panics; counts are checked
// against the bytes left before anything is allocated.
func decodeSnapshot(b []byte) (*state, int64, error) {
	if len(b) < 12 || string(b[:4]) != snapMagic {
		return nil, 0, errors.New("not a POP snapshot")
	}
	n := binary.BigEndian.Uint32(b[4:])
	if uint64(n) != uint64(len(b)-12) {
		return nil, 0, fmt.Errorf("length %d, file holds %d", n, len(b)-12)
	}
	payload := b[12:]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return nil, 0, errors.New("checksum mismatch")
	}
	d := decoder{b: payload}
	at := d.i64()
	nq := int(d.u32())
	if nq*22 > d.left() {
		return nil, 0, fmt.Errorf("%d queues in %d bytes", nq, d.left())
	}
	st := newState()
	for i := 0; i < nq && d.err == nil; i++ {
		k := qkey{group: d.str(), topic: d.str(), queueID: int32(d.u32())}
		q := newQueueState(d.i64())
		ne := int(d.u32())
		if ne*29 > d.left() {
			return nil, 0, fmt.Errorf("%d entries in %d bytes", ne, d.left())
		}
		for j := 0; j < ne; j++ {
			off := d.i64()
			q.inflight[off] = &entry{popTime: d.i64(), visibleAt: d.i64(), attempts: int32(d.u32()), fifo: d.u8()&1 != 0}
		}
		st.queues[k] = q
	}
	if d.err != nil {
		return nil, 0, d.err
	}
	if d.left() != 0 {
		return nil, 0, fmt.Errorf("%d trailing bytes", d.left())
	}
	return st, at, nil
}

// writeFileAtomic writes dir/name through a temporary file, fsync and rename.
func writeFileAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pop: %w", err)
	}
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("pop: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("pop: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pop: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pop: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("pop: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
