package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/rocketgo/rocketgo/store/commitlog"
)

// What replication needs from the store. A master reads its CommitLog as raw runs
// (ReadRaw) and learns of new records from the dispatcher (Grown); a slave appends
// the runs verbatim (AppendRaw), so its log is byte-identical to the master's, and its
// own dispatcher builds its ConsumeQueues and indexes from them as if they had been
// put. Checksum and the log id let the two sides prove, before streaming, that the
// slave's log is a prefix of the master's.
//
// The log id is 16 random bytes fixed when a master first asks for it and kept in
// <Dir>/logid (framed like the format file: "RGID", length, CRC-32C, the id). A slave
// adopts its master's id before it appends anything, so every store holding a copy of
// one log carries that log's id, and a slave that meets a master with another id knows
// it is not looking at its log.

// LogIDLen is the size of a log id.
const LogIDLen = 16

// ErrNotContiguous reports a raw append that does not start where the log ends.
var ErrNotContiguous = commitlog.ErrNotContiguous

const logIDName = "logid"

var logIDMagic = [4]byte{'R', 'G', 'I', 'D'}

// logIDMu serializes the creation and adoption of log ids: the file is small and rarely
// written, and two handshakes at once must not both create one.
var logIDMu sync.Mutex

// ReadRaw returns the CommitLog's bytes from the record boundary from on: whole records
// of one segment, at most maxBytes together (at least one record), or the 8-byte header
// of the end-of-file blank when the segment ends at from; nil at the end of the log.
// The slice is the mapping, valid for at least ReadGrace (and never after Close); it
// must not be modified.
func (s *Store) ReadRaw(from int64, maxBytes int) ([]byte, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return s.cl.ReadRaw(from, maxBytes)
}

// AppendRaw appends a run read from a master's log with ReadRaw at offset, which must be
// the end of this log (ErrNotContiguous otherwise). The records are verified (an
// invalid one is refused with an error wrapping ErrCorruption or message.ErrTruncated and
// nothing is written), copied verbatim, and dispatched like any append. It returns the
// log's new end. Only a slave calls it, from one goroutine; Put on the same store
// meanwhile would make the two logs differ, and the offset check refuses whichever
// comes second.
func (s *Store) AppendRaw(offset int64, b []byte) (int64, error) {
	if err := s.admit(len(b)); err != nil {
		return 0, err
	}
	// Held shared so that Close cannot unmap the segments under the copy: a replica's
	// sealed log does not refuse this writer by itself.
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	end, err := s.cl.AppendRaw(offset, b)
	if err != nil {
		return end, s.appendFailed(err)
	}
	s.guard.Consume(int64(len(b)))
	return end, nil
}

// SetReplica makes the store a replica of another store's log: Put and PutBatch fail
// with ErrClosed from then on, so that only AppendRaw writes and nothing a slave does
// on its own (a delivery, a transaction check) can make its log differ from its
// master's. It lasts until the store is closed; a store reopened without it takes
// appends again (a slave promoted to master).
func (s *Store) SetReplica() {
	s.cl.Seal()
}

// ResetEmpty makes an empty store's CommitLog start at start, a multiple of the segment
// size, instead of 0: a new slave whose master no longer holds the beginning of its log
// starts at the master's oldest segment. It fails if anything was ever appended.
func (s *Store) ResetEmpty(start int64) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	return s.cl.ResetEmpty(start)
}

// Checksum returns the CRC-32C of the CommitLog's bytes in [from, to), which must lie in
// one segment and between MinPhysicalOffset and MaxPhysicalOffset.
func (s *Store) Checksum(from, to int64) (uint32, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	return s.cl.Checksum(from, to)
}

// SegmentBytes returns the CommitLog segment size.
func (s *Store) SegmentBytes() int64 { return s.o.CommitLogSegmentBytes }

// Grown returns a channel that is closed once the log has grown past offset after,
// which the dispatcher notes shortly after every append, whether or not the confirm
// offset lets it dispatch the records yet. A master's replication sender waits on it
// instead of polling. The channel is never closed if the store closes first; callers
// select on their own stop signal too.
func (s *Store) Grown(after int64) <-chan struct{} {
	g := &s.d.grown
	done := make(chan struct{})
	if g.pos.Load() > after {
		close(done)
		return done
	}
	g.waitMu.Lock()
	g.waiters = append(g.waiters, tailWaiter{target: after + 1, done: done})
	g.waitMu.Unlock()
	// The dispatcher may have noted more between the check and the registration.
	if g.pos.Load() > after {
		g.complete(g.pos.Load())
	}
	return done
}

// LogID returns the id of the log this store holds, creating one if create is set and
// there is none yet; ok is false when there is none and create is not set.
func (s *Store) LogID(create bool) (id [LogIDLen]byte, ok bool, err error) {
	logIDMu.Lock()
	defer logIDMu.Unlock()
	id, ok, err = readLogID(s.o.Dir)
	if err != nil || ok || !create {
		return id, ok, err
	}
	if _, err := rand.Read(id[:]); err != nil {
		return id, false, fmt.Errorf("store: generate log id: %w", err)
	}
	if err := writeFileAtomic(s.o.Dir, logIDName, appendFrame(nil, logIDMagic, id[:])); err != nil {
		return id, false, err
	}
	s.log.Info().Str("log_id", hex.EncodeToString(id[:])).Msg("log id created")
	return id, true, nil
}

// AdoptLogID records id as the id of this store's log: a slave takes its master's id
// before it appends the first replicated record. It fails if the store already has
// another id.
func (s *Store) AdoptLogID(id [LogIDLen]byte) error {
	logIDMu.Lock()
	defer logIDMu.Unlock()
	have, ok, err := readLogID(s.o.Dir)
	if err != nil {
		return err
	}
	if ok {
		if have != id {
			return fmt.Errorf("store: log id is %x, cannot adopt %x", have, id)
		}
		return nil
	}
	if err := writeFileAtomic(s.o.Dir, logIDName, appendFrame(nil, logIDMagic, id[:])); err != nil {
		return err
	}
	s.log.Info().Str("log_id", hex.EncodeToString(id[:])).Msg("log id adopted")
	return nil
}

// readLogID reads <dir>/logid; ok is false when there is no such file.
func readLogID(dir string) (id [LogIDLen]byte, ok bool, err error) {
	path := filepath.Join(dir, logIDName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, fmt.Errorf("store: read %s: %w", path, err)
	}
	payload, valid := parseFrame(b, logIDMagic)
	if !valid || len(payload) != LogIDLen {
		return id, false, fmt.Errorf("%w: %s is unreadable", ErrCorruption, path)
	}
	copy(id[:], payload)
	return id, true, nil
}
