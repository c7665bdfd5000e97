package diskguard

import (
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/pebblelog"
)

// enospcPause is how long a pebble write that met ENOSPC waits before its one retry.
// pebble retries a failed flush at once and forever; the pause turns that busy loop
// into a few attempts a second.
const enospcPause = 250 * time.Millisecond

// Pebble prepares opts for a pebble database on the guarded disk, so that a full disk
// never crashes or floods the process:
//
//   - the file system is wrapped so an ENOSPC re-measures the disk (the guard goes
//     Critical, refusing sends and pausing metadata writes) and waits enospcPause
//     before pebble's write is retried once;
//   - background errors (a failed flush or compaction, which pebble retries) are logged
//     once per distinct message, not once per retry;
//   - the logger is opts.Logger when set, else pebblelog's for log: its Fatalf,
//     pebble's report of a write it cannot undo, panics with a *pebblelog.Fatal that
//     the caller's write path turns back into an error with Recover;
//   - when the disk is Critical at open, the database opens read-only (pebble writes
//     nothing then: no WAL, MANIFEST or OPTIONS file), so a broker restarted on a full
//     disk comes up and serves reads. readOnly reports it; the caller reopens it
//     read-write once AllowMeta lets it.
//
// g may be nil (no guard): only the logging parts apply.
func Pebble(opts *pebble.Options, g *Guard, log zerolog.Logger) (readOnly bool) {
	if opts.Logger == nil {
		opts.Logger = pebblelog.New(log, "")
	}
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if g != nil {
		opts.FS = vfs.OnDiskFull(opts.FS, func() {
			g.Refresh()
			time.Sleep(enospcPause)
		})
	}
	var mu sync.Mutex
	var last string
	opts.EventListener = &pebble.EventListener{BackgroundError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if msg := err.Error(); msg != last {
			last = msg
			log.Error().Err(err).Msg("pebble background write failed; retrying while space is short")
		}
	}}
	if g != nil && g.Level() == Critical {
		opts.ReadOnly = true
		return true
	}
	return false
}

// Recover, deferred by a function that calls into pebble, turns pebble's fatal report
// (the *pebblelog.Fatal panic of the logger Pebble sets) into *err; any other panic goes
// on.
func Recover(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(*pebblelog.Fatal); ok {
		*err = f
		return
	}
	panic(r)
}

// OpenFunc opens a pebble database prepared by Pebble: read-only when forceReadOnly is
// set or the disk is critically full; readOnly reports which.
type OpenFunc func(forceReadOnly bool) (db *pebble.DB, readOnly bool, err error)

// Reopen closes old (opened read-only on a full disk, or broken by a write pebble
// reported fatal) and opens the database again read-write, for a writer that found the
// disk has room again. The caller holds whatever keeps readers off old. When the disk
// is critically full again the database comes back read-only and err wraps ErrFull;
// when the read-write open fails it is opened read-only so reads go on, and err says
// why. db is nil only when even that failed.
func Reopen(old *pebble.DB, open OpenFunc) (db *pebble.DB, readOnly bool, err error) {
	if old != nil {
		// A broken database reports its failure again on close; the files are what
		// the new open reads, so the error adds nothing.
		_ = closeDB(old)
	}
	db, readOnly, err = open(false)
	switch {
	case err == nil && readOnly:
		return db, true, fmt.Errorf("%w: reopened read-only", ErrFull)
	case err == nil:
		return db, false, nil
	}
	if rdb, _, rerr := open(true); rerr == nil {
		return rdb, true, err
	}
	return nil, false, err
}

// closeDB closes db, turning pebble's fatal report into an error.
func closeDB(db *pebble.DB) (err error) {
	defer Recover(&err)
	return db.Close()
}
