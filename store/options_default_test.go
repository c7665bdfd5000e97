package store

import (
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/store/index"
)

// TestOpenDefaultsIndexSizes: Options built by hand, without the key index sizes
// (maxHashSlotNum, maxIndexNum), open with Apache's defaults instead of being refused.
func TestOpenDefaultsIndexSizes(t *testing.T) {
	o := Options{
		Dir:                   filepath.Join(t.TempDir(), "store"),
		CommitLogSegmentBytes: 1 << 20,
		ConsumeQueueUnits:     1000,
		FlushMode:             AsyncFlush,
		FlushInterval:         DefaultOptions().FlushInterval,
		SyncFlushTimeout:      DefaultOptions().SyncFlushTimeout,
		MaxMessageBytes:       DefaultOptions().MaxMessageBytes,
		CheckpointInterval:    DefaultOptions().CheckpointInterval,
		FileReservedTime:      DefaultOptions().FileReservedTime,
		DiskWarnRatio:         1,
		DiskMaxRatio:          1,
		Logger:                zerolog.Nop(),
	}
	s, err := Open(o)
	if err != nil {
		t.Fatalf("open without the index sizes: %v", err)
	}
	defer s.Close()
	if s.o.MaxHashSlotNum != index.DefaultSlots || s.o.MaxIndexNum != index.DefaultEntries {
		t.Fatalf("index sizes %d / %d, want %d / %d", s.o.MaxHashSlotNum, s.o.MaxIndexNum, index.DefaultSlots, index.DefaultEntries)
	}
}
