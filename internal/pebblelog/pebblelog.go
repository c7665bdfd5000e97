// Package pebblelog adapts zerolog to pebble's Logger, for every pebble database of the
// process (the broker's metadata, the schedule index, the store's message index).
package pebblelog

import (
	"fmt"

	"github.com/rs/zerolog"
)

// Logger sends pebble's log lines to zerolog: pebble's informational lines at debug
// level, its errors at error level.
type Logger struct {
	log    zerolog.Logger
	prefix string // of the panic message: "" or "<owner>: "
}

// New returns the adapter for log. owner, when set, starts the panic message of Fatalf
// ("index" gives "index: pebble: ...").
func New(log zerolog.Logger, owner string) Logger {
	l := Logger{log: log}
	if owner != "" {
		l.prefix = owner + ": "
	}
	return l
}

// Infof logs one of pebble's informational lines at debug level.
func (l Logger) Infof(format string, args ...any) { l.log.Debug().Msgf(format, args...) }

// Errorf logs one of pebble's errors.
func (l Logger) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }

// Fatalf is pebble's report of a broken invariant (its files are corrupt or a write
// failed). Pebble expects it not to return: after logging it panics with a *Fatal
// rather than exiting the process, so deferred cleanup still runs and a write path
// that expects it (a write on a full disk, store/diskguard.Recover) can turn it back
// into an error.
func (l Logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error().Msg(msg)
	panic(&Fatal{Msg: l.prefix + "pebble: " + msg})
}

// Fatal is the panic value of Logger.Fatalf.
type Fatal struct{ Msg string }

func (f *Fatal) Error() string { return f.Msg }
