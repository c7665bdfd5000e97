package meta

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/pebblelog"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// errClosed reports use of a closed metadata database.
var errClosed = errors.New("broker: metadata closed")

// DB is the broker's metadata database. It shares the store's disk guard: writes ask it
// first, and on a critically full disk the database opens read-only, so a broker
// restarted on a full disk still serves its topics, groups and offsets. The first write
// after space returns reopens it read-write by itself, as after a write pebble reported
// it cannot undo.
type DB struct {
	dir   string
	log   zerolog.Logger
	guard *diskguard.Guard // nil: unguarded

	// mu is held shared by every use of db and exclusively while db is reopened or
	// closed, so a reader never sees a database closed under it.
	mu       sync.RWMutex
	db       *pebble.DB // nil only after a failed reopen or Close
	readOnly bool       // db was opened read-only (guarded by mu)
	closed   bool
	broken   atomic.Bool // pebble failed a write it cannot undo; reopen before writing
}

// Open opens (creating if needed) the metadata database in dir. Writes ask g first
// (nil: unguarded) and fail with an error wrapping diskguard.ErrFull while the disk is
// critically full.
func Open(dir string, log zerolog.Logger, g *diskguard.Guard) (*DB, error) {
	m := &DB{dir: dir, log: log.With().Str("component", "meta").Logger(), guard: g}
	db, readOnly, err := m.open(false)
	if err != nil {
		return nil, err
	}
	m.db, m.readOnly = db, readOnly
	if readOnly {
		m.log.Warn().Str("dir", dir).Msg("disk critically full: metadata opened read-only; topic, group and offset changes are refused until space returns")
	}
	return m, nil
}

// open opens the pebble database, read-only when the disk is critically full or
// forceReadOnly is set.
func (m *DB) open(forceReadOnly bool) (db *pebble.DB, readOnly bool, err error) {
	defer diskguard.Recover(&err)
	opts := &pebble.Options{Logger: pebblelog.New(m.log, "")}
	readOnly = diskguard.Pebble(opts, m.guard, m.log)
	if forceReadOnly {
		opts.ReadOnly, readOnly = true, true
	}
	db, err = pebble.Open(m.dir, opts)
	if err != nil {
		return nil, false, fmt.Errorf("broker: open metadata %s: %w", m.dir, err)
	}
	return db, readOnly, nil
}

// write runs fn on the database, read-write, holding mu shared. A database opened
// read-only (or broken by a failed write) is reopened read-write first once the guard
// allows metadata writes; until then write fails with an error wrapping
// diskguard.ErrFull. Pebble's fatal report of a write becomes fn's error.
func (m *DB) write(fn func(db *pebble.DB) error) (err error) {
	if err := m.guard.AllowMeta(); err != nil {
		return fmt.Errorf("broker: metadata: %w", err)
	}
	m.mu.RLock()
	if !m.writableLocked() {
		m.mu.RUnlock()
		if err := m.reopen(); err != nil {
			return err
		}
		m.mu.RLock()
		if !m.writableLocked() { // broken again meanwhile by another writer
			m.mu.RUnlock()
			return fmt.Errorf("broker: metadata: %w: not writable yet", diskguard.ErrFull)
		}
	}
	defer m.mu.RUnlock()
	defer func() {
		var f *pebblelog.Fatal
		if errors.As(err, &f) {
			m.broken.Store(true)
		}
	}()
	defer diskguard.Recover(&err)
	return fn(m.db)
}

// writableLocked reports whether db takes writes now. Callers hold mu.
func (m *DB) writableLocked() bool {
	return m.db != nil && !m.readOnly && !m.broken.Load()
}

// reopen replaces a read-only or broken database with a read-write one, holding mu
// exclusively. If the read-write open fails, the database is reopened read-only so that
// reads go on, and the error is returned; the next write tries again.
func (m *DB) reopen() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return errClosed
	case m.writableLocked(): // another writer reopened it
		return nil
	}
	db, readOnly, err := diskguard.Reopen(m.db, m.open)
	m.db, m.readOnly = db, readOnly
	if err != nil {
		return fmt.Errorf("broker: metadata: %w", err)
	}
	m.broken.Store(false)
	m.log.Info().Str("dir", m.dir).Msg("disk space available again: metadata writable")
	return nil
}
