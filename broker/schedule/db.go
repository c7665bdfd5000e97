package schedule

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/pebblelog"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Keys of the schedule index (see the package doc for why each exists):
//
//	'A'                                  → applied offset (8 bytes, big-endian)
//	'L' <level:1>                        → next queue offset to deliver (8 bytes)
//	'T' <deliver ms:8 BE> <phys:8 BE>    → (empty): a pending timer
//
// Timer keys sort by due time, then by CommitLog offset, so the due timers are a
// prefix of the 'T' range.
const (
	prefixApplied = 'A'
	prefixLevel   = 'L'
	prefixTimer   = 'T'
	timerKeyLen   = 17
)

var keyApplied = []byte{prefixApplied}

func levelKey(level int) []byte { return []byte{prefixLevel, byte(level)} }

// timerKey is the index key of the timer record at phys due at ms.
func timerKey(ms, phys int64) []byte {
	k := make([]byte, timerKeyLen)
	k[0] = prefixTimer
	binary.BigEndian.PutUint64(k[1:], uint64(max(ms, 0)))
	binary.BigEndian.PutUint64(k[9:], uint64(max(phys, 0)))
	return k
}

// parseTimerKey reads a timer key; ok is false for anything else.
func parseTimerKey(k []byte) (ms, phys int64, ok bool) {
	if len(k) != timerKeyLen || k[0] != prefixTimer {
		return 0, 0, false
	}
	ms = int64(binary.BigEndian.Uint64(k[1:]))
	phys = int64(binary.BigEndian.Uint64(k[9:]))
	return ms, phys, ms >= 0 && phys >= 0
}

// timerRangeEnd is the upper bound of every timer key.
var timerRangeEnd = []byte{prefixTimer + 1}

func putInt64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func getInt64(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("schedule: index value of %d bytes, want 8", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// openDB opens the index in dir through the disk guard g (nil: unguarded), read-only
// on a critically full disk or when forceReadOnly is set; readOnly reports which.
func openDB(dir string, log zerolog.Logger, g *diskguard.Guard, forceReadOnly bool) (db *pebble.DB, readOnly bool, err error) {
	defer diskguard.Recover(&err)
	opts := &pebble.Options{
		Logger: pebblelog.New(log, ""),
		// The index is small and written in one batch a second.
		MemTableSize: 1 << 20,
	}
	readOnly = diskguard.Pebble(opts, g, log)
	if forceReadOnly {
		opts.ReadOnly, readOnly = true, true
	}
	db, err = pebble.Open(dir, opts)
	if err != nil {
		return nil, false, fmt.Errorf("schedule: open index %s: %w", dir, err)
	}
	if readOnly && !forceReadOnly {
		log.Warn().Str("dir", dir).Msg("disk critically full: schedule index opened read-only; deliveries are recorded once space returns")
	}
	return db, readOnly, nil
}

// commitBatch commits b without syncing, turning pebble's fatal report into an error.
func commitBatch(b *pebble.Batch) (err error) {
	defer diskguard.Recover(&err)
	return b.Commit(pebble.NoSync)
}

// reopen replaces an index opened read-only on a full disk, or broken by a failed
// commit, with a read-write one, carrying the uncommitted batch over so that no timer
// or cancel recorded meanwhile is lost. Only the goroutine owning db and batch (the
// loop, or the caller before Start) calls it; on failure the index stays read-only.
func (s *Scheduler) reopen() error {
	pending := append([]byte(nil), s.batch.Repr()...)
	s.batch.Close()
	db, readOnly, err := diskguard.Reopen(s.db, func(ro bool) (*pebble.DB, bool, error) {
		return openDB(s.o.Dir, s.log, s.o.Guard, ro)
	})
	if db == nil {
		// Nothing to read from: the process cannot go on with its schedule.
		panic(fmt.Sprintf("schedule: reopen index %s: %v", s.o.Dir, err))
	}
	s.db, s.readOnly = db, readOnly
	s.batch = db.NewIndexedBatch()
	if len(pending) > batchHeaderLen {
		carry := db.NewBatch()
		defer carry.Close()
		if rerr := carry.SetRepr(pending); rerr != nil {
			return fmt.Errorf("schedule: carry the pending batch over: %w", rerr)
		}
		if rerr := s.batch.Apply(carry, nil); rerr != nil {
			return fmt.Errorf("schedule: carry the pending batch over: %w", rerr)
		}
	}
	if err != nil {
		return err
	}
	s.broken = false
	s.log.Info().Str("dir", s.o.Dir).Msg("disk space available again: schedule index writable")
	return nil
}

// batchHeaderLen is the size of a pebble batch's header (sequence number and count).
const batchHeaderLen = 12

// loadState reads the applied offset and the per-level progress (zero when absent).
func loadState(db *pebble.DB, levels int) (applied int64, progress []int64, err error) {
	get := func(k []byte) (int64, error) {
		v, c, err := db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return getInt64(v)
	}
	if applied, err = get(keyApplied); err != nil {
		return 0, nil, fmt.Errorf("schedule: read applied offset: %w", err)
	}
	progress = make([]int64, levels)
	for l := 1; l <= levels; l++ {
		if progress[l-1], err = get(levelKey(l)); err != nil {
			return 0, nil, fmt.Errorf("schedule: read level %d progress: %w", l, err)
		}
	}
	return applied, progress, nil
}

// truncateDB forgets the timers whose records start at or past off, and records off
// as the applied offset. It scans every timer key: it runs only when the log was cut
// behind the index, after a machine crash.
func truncateDB(db *pebble.DB, off int64) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTimer}, UpperBound: timerRangeEnd})
	if err != nil {
		return err
	}
	b := db.NewBatch()
	defer b.Close()
	for it.First(); it.Valid(); it.Next() {
		if _, phys, ok := parseTimerKey(it.Key()); !ok || phys >= off {
			if err := b.Delete(it.Key(), nil); err != nil {
				it.Close()
				return err
			}
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := b.Set(keyApplied, putInt64(off), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

// keyAfter returns the smallest key greater than k.
func keyAfter(k []byte) []byte { return append(append(make([]byte, 0, len(k)+1), k...), 0) }

// maxTimerKey is greater than every timer key of a due time up to ms.
func maxTimerKey(ms int64) []byte { return timerKey(ms, math.MaxInt64) }
