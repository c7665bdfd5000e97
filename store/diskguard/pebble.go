package diskguard

import (
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
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
//   - Fatalf, pebble's report of a write it cannot undo, panics with a *FatalError
//     that the caller's write path turns back into an error with Recover;
//   - when the disk is Critical at open, the database opens read-only (pebble writes
//     nothing then: no WAL, MANIFEST or OPTIONS file), so a broker restarted on a full
//     disk comes up and serves reads. readOnly reports it; the caller reopens it
//     read-write once AllowMeta lets it.
//
// g may be nil (no guard): only the logging parts apply.
func Pebble(opts *pebble.Options, g *Guard, log zerolog.Logger) (readOnly bool) {
	opts.Logger = PebbleLogger{Log: log}
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

// FatalError is the panic value of PebbleLogger.Fatalf.
type FatalError struct{ Msg string }

func (e *FatalError) Error() string { return "pebble: " + e.Msg }

// Recover, deferred by a function that calls into pebble, turns a *FatalError panic
// into *err; any other panic goes on.
func Recover(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if fe, ok := r.(*FatalError); ok {
		*err = fe
		return
	}
	panic(r)
}

// PebbleLogger routes pebble's log lines to zerolog: Infof at debug level, Errorf at
// error level; Fatalf logs and panics with a *FatalError (pebble's contract is that
// Fatalf does not return), which Recover catches on the caller's write path.
type PebbleLogger struct{ Log zerolog.Logger }

// Infof logs at debug level.
func (p PebbleLogger) Infof(format string, args ...any) { p.Log.Debug().Msgf(format, args...) }

// Errorf logs at error level.
func (p PebbleLogger) Errorf(format string, args ...any) { p.Log.Error().Msgf(format, args...) }

// Fatalf logs and panics with a *FatalError.
func (p PebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.Log.Error().Msg(msg)
	panic(&FatalError{Msg: msg})
}
