package conf

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/natefinch/lumberjack.v2"
)

// LogOptions choose a process's log format and destination (docs/metrics.md, Logs).
type LogOptions struct {
	Level  string // debug, info, warn, error
	Format string // console (human-readable lines) or json (one object a line)
	// File, when set, receives the log instead of stderr, rotated at MaxSizeMB and
	// keeping MaxBackups old files.
	File       string
	MaxSizeMB  int
	MaxBackups int
}

// RegisterLogFlags adds -loglevel, -logformat, -logFile, -logMaxSizeMB and
// -logMaxBackups to fs.
func RegisterLogFlags(fs *flag.FlagSet) *LogOptions {
	o := &LogOptions{}
	fs.StringVar(&o.Level, "loglevel", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.Format, "logformat", "console", "log format: console or json")
	fs.StringVar(&o.File, "logFile", "", "log to this file (rotated) instead of stderr")
	fs.IntVar(&o.MaxSizeMB, "logMaxSizeMB", 100, "rotate the log file at this size in MiB")
	fs.IntVar(&o.MaxBackups, "logMaxBackups", 10, "rotated log files kept")
	return o
}

// OpenLogger builds the process logger o describes; stderr is the destination without
// a file. The closer closes the log file (a no-op without one).
func OpenLogger(stderr io.Writer, o LogOptions) (zerolog.Logger, io.Closer, error) {
	var w io.Writer = stderr
	var c io.Closer = io.NopCloser(nil)
	if o.File != "" {
		if o.MaxSizeMB < 1 || o.MaxBackups < 0 {
			return zerolog.Nop(), nil, fmt.Errorf("conf: logMaxSizeMB %d must be positive, logMaxBackups %d not negative", o.MaxSizeMB, o.MaxBackups)
		}
		lj := &lumberjack.Logger{Filename: o.File, MaxSize: o.MaxSizeMB, MaxBackups: o.MaxBackups}
		w, c = lj, lj
	}
	switch o.Format {
	case "console", "":
		log, err := NewLogger(w, o.Level)
		return log, c, err
	case "json":
		lvl, err := zerolog.ParseLevel(o.Level)
		if err != nil || o.Level == "" {
			return zerolog.Nop(), nil, fmt.Errorf("conf: log level %q: want debug, info, warn or error", o.Level)
		}
		if w == nil {
			w = os.Stderr
		}
		zerolog.DurationFieldFormat = zerolog.DurationFormatString
		zerolog.TimeFieldFormat = time.RFC3339Nano
		return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), c, nil
	}
	return zerolog.Nop(), nil, fmt.Errorf("conf: logformat %q: want console or json", o.Format)
}
