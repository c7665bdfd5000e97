package conf

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// NewLogger builds the one logger of a process: human-readable lines on w (stderr when
// nil) at the named level ("debug", "info", "warn", "error"). Components narrow it with
// their own "component" field.
func NewLogger(w io.Writer, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("conf: log level %q: want debug, info, warn or error", level)
	}
	if w == nil {
		w = os.Stderr
	}
	// Durations print with their unit ("37.1ms"), not as bare milliseconds. The setting is
	// process-wide, which is right for the one logger a process builds.
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
	out := zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339Nano, NoColor: true}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}
