package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/store/index"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// FlushMode says when an append counts as durable (docs/architecture.md §4).
type FlushMode string

// Flush modes, with RocketMQ's names (flushDiskType).
const (
	// AsyncFlush acknowledges an append once it is in the mapped file; a background
	// flush writes it to disk every FlushInterval.
	AsyncFlush FlushMode = "ASYNC_FLUSH"
	// SyncFlush lets the caller wait (OnFlushed, WaitFlushed) until the append is on
	// disk; one flusher goroutine group-commits for every waiter.
	SyncFlush FlushMode = "SYNC_FLUSH"
)

// DiskFullPolicy is what gives way when the disk fills.
type DiskFullPolicy string

// Disk-full policies (diskFullPolicy).
const (
	DeleteOldest DiskFullPolicy = "deleteOldest"
	RejectNew    DiskFullPolicy = "rejectNew"
)

// ReadGrace is how long slices returned by reads stay valid at least: retention unmaps a
// deleted segment only after it.
const ReadGrace = 60 * time.Second

// Options configures a Store. Keys keep RocketMQ's names where one exists.
type Options struct {
	// Dir is the store root: commitlog/, consumequeue/, index/, checkpoint, lock.
	Dir string `mapstructure:"storePathRootDir"`
	// CommitLogSegmentBytes is the size of each CommitLog segment (1 GiB). It fixes the
	// on-disk format: a store directory refuses to open with another value.
	CommitLogSegmentBytes int64 `mapstructure:"mappedFileSizeCommitLog"`
	// ConsumeQueueUnits is how many 20-byte units one ConsumeQueue file holds (300000).
	// It fixes the on-disk format.
	ConsumeQueueUnits int `mapstructure:"consumeQueueUnitsPerFile"`
	// FlushMode is ASYNC_FLUSH (default) or SYNC_FLUSH.
	FlushMode FlushMode `mapstructure:"flushDiskType"`
	// FlushInterval is the period of the background flush in ASYNC_FLUSH (500ms).
	FlushInterval time.Duration `mapstructure:"flushIntervalCommitLog"`
	// SyncFlushTimeout bounds how long OnFlushed waits before reporting ErrFlushTimeout,
	// which the broker answers as FLUSH_DISK_TIMEOUT (5s).
	SyncFlushTimeout time.Duration `mapstructure:"syncFlushTimeout"`
	// MaxMessageBytes is the largest message body accepted (4 MiB).
	MaxMessageBytes int `mapstructure:"maxMessageSize"`
	// CheckpointInterval is how often the checkpoint is written (1s). Recovery after a
	// crash re-verifies and re-dispatches at most about this much of the log.
	CheckpointInterval time.Duration `mapstructure:"checkpointInterval"`
	// FileReservedTime is how long CommitLog segments are kept (72h).
	FileReservedTime time.Duration `mapstructure:"fileReservedTime"`
	// DeleteWhenHour is the local hour of day (0-23) when expired segments are deleted
	// (4).
	DeleteWhenHour int `mapstructure:"deleteWhen"`
	// DiskMaxUsedSpaceRatio is the disk usage, in percent, above which expired segments
	// (older than FileReservedTime) are deleted at once rather than waiting for the
	// DeleteWhenHour hour (75).
	DiskMaxUsedSpaceRatio int `mapstructure:"diskMaxUsedSpaceRatio"`
	// DiskWarnRatio is the disk usage above which the oldest segments are deleted at
	// once, expired or not (diskSpaceCleanForciblyRatio, 0.85). Under the rejectNew
	// policy no segment a subscribed group has not consumed is deleted.
	DiskWarnRatio float64 `mapstructure:"diskSpaceCleanForciblyRatio"`
	// DiskMaxRatio is the disk usage above which appends fail with ErrDiskFull
	// (diskSpaceWarningLevelRatio, 0.90). Appends are also refused while less than the
	// metadata reserve (diskguard.DefaultReserve) is free. 1 disables both.
	DiskMaxRatio float64 `mapstructure:"diskSpaceWarningLevelRatio"`
	// DiskFullPolicy says what gives way on a full disk: deleteOldest (RocketMQ's
	// behaviour: the oldest segments go even if unconsumed, with a warning per group
	// and topic) or rejectNew (nothing a subscribed group has not consumed is deleted;
	// sends are refused instead).
	DiskFullPolicy DiskFullPolicy `mapstructure:"diskFullPolicy"`
	// TruncateOnCorruption lets Open cut the CommitLog at a corrupt record that valid
	// records follow, losing them, instead of refusing to open (false).
	TruncateOnCorruption bool `mapstructure:"truncateOnCorruption"`
	// HoldUnconfirmed opens the store with its confirm offset (confirm.go) where the
	// ConsumeQueues were last checkpointed, so that the records after it, which may not
	// have been confirmed, are dispatched only once SetConfirmOffset passes them. A
	// controller-mode master or pending broker under allAckInSyncStateSet sets it.
	HoldUnconfirmed bool `mapstructure:"-"`
	// MaxHashSlotNum and MaxIndexNum size each new key index file: its hash slots
	// (5,000,000) and entries (20,000,000), Apache RocketMQ's keys and defaults. A
	// file keeps the sizes it was created with.
	MaxHashSlotNum int `mapstructure:"maxHashSlotNum"`
	MaxIndexNum    int `mapstructure:"maxIndexNum"`
	// Now is the clock for store timestamps and retention; time.Now by default.
	Now func() time.Time `mapstructure:"-"`
	// Logger receives the store's logs; zerolog.Nop() by default.
	Logger zerolog.Logger `mapstructure:"-"`
}

// DefaultOptions returns RocketMQ's defaults; Dir is "data" (relative to the working
// directory).
func DefaultOptions() Options {
	return Options{
		Dir:                   "data",
		CommitLogSegmentBytes: 1 << 30,
		ConsumeQueueUnits:     300000,
		FlushMode:             AsyncFlush,
		FlushInterval:         500 * time.Millisecond,
		SyncFlushTimeout:      5 * time.Second,
		MaxMessageBytes:       4 << 20,
		CheckpointInterval:    time.Second,
		FileReservedTime:      72 * time.Hour,
		DeleteWhenHour:        4,
		DiskMaxUsedSpaceRatio: 75,
		DiskWarnRatio:         0.85,
		DiskMaxRatio:          0.90,
		DiskFullPolicy:        DeleteOldest,
		MaxHashSlotNum:        index.DefaultSlots,
		MaxIndexNum:           index.DefaultEntries,
		Now:                   time.Now,
		Logger:                zerolog.Nop(),
	}
}

// minSegmentBytes is the smallest CommitLog segment accepted: it must hold at least one
// record with a small body and the end-of-file blank.
const minSegmentBytes = 4096

// maxConsumeQueueUnits bounds a ConsumeQueue file to 1 GB.
const maxConsumeQueueUnits = 50_000_000

// Validate checks every option and names the first invalid one.
func (o Options) Validate() error {
	page := segment.PageSize
	switch {
	case o.Dir == "":
		return errors.New("store: storePathRootDir is empty")
	case o.CommitLogSegmentBytes < minSegmentBytes || o.CommitLogSegmentBytes%page != 0:
		return fmt.Errorf("store: mappedFileSizeCommitLog %d must be a multiple of %d and at least %d",
			o.CommitLogSegmentBytes, page, minSegmentBytes)
	case o.ConsumeQueueUnits <= 0 || o.ConsumeQueueUnits > maxConsumeQueueUnits:
		return fmt.Errorf("store: consumeQueueUnitsPerFile %d must be in [1, %d]", o.ConsumeQueueUnits, maxConsumeQueueUnits)
	case o.FlushMode != AsyncFlush && o.FlushMode != SyncFlush:
		return fmt.Errorf("store: flushDiskType %q is neither %s nor %s", o.FlushMode, AsyncFlush, SyncFlush)
	case o.FlushInterval <= 0:
		return fmt.Errorf("store: flushIntervalCommitLog %s must be positive", o.FlushInterval)
	case o.SyncFlushTimeout <= 0:
		return fmt.Errorf("store: syncFlushTimeout %s must be positive", o.SyncFlushTimeout)
	case o.MaxMessageBytes <= 0:
		return fmt.Errorf("store: maxMessageSize %d must be positive", o.MaxMessageBytes)
	case o.CheckpointInterval <= 0:
		return fmt.Errorf("store: checkpointInterval %s must be positive", o.CheckpointInterval)
	case o.FileReservedTime <= 0:
		return fmt.Errorf("store: fileReservedTime %s must be positive", o.FileReservedTime)
	case o.DeleteWhenHour < 0 || o.DeleteWhenHour > 23:
		return fmt.Errorf("store: deleteWhen %d is not an hour 0-23", o.DeleteWhenHour)
	case o.DiskMaxUsedSpaceRatio < 10 || o.DiskMaxUsedSpaceRatio > 100:
		return fmt.Errorf("store: diskMaxUsedSpaceRatio %d must be a percentage in [10, 100]", o.DiskMaxUsedSpaceRatio)
	case !(o.DiskWarnRatio > 0 && o.DiskWarnRatio <= 1):
		return fmt.Errorf("store: diskSpaceCleanForciblyRatio %g must be in (0, 1]", o.DiskWarnRatio)
	case !(o.DiskMaxRatio > 0 && o.DiskMaxRatio <= 1) || o.DiskMaxRatio < o.DiskWarnRatio:
		return fmt.Errorf("store: diskSpaceWarningLevelRatio %g must be in (0, 1] and not below diskSpaceCleanForciblyRatio %g", o.DiskMaxRatio, o.DiskWarnRatio)
	case o.DiskFullPolicy != DeleteOldest && o.DiskFullPolicy != RejectNew:
		return fmt.Errorf("store: diskFullPolicy %q is neither %s nor %s", o.DiskFullPolicy, DeleteOldest, RejectNew)
	case o.MaxHashSlotNum <= 0 || o.MaxHashSlotNum > index.MaxSlots:
		return fmt.Errorf("store: maxHashSlotNum %d must be in [1, %d]", o.MaxHashSlotNum, index.MaxSlots)
	case o.MaxIndexNum <= 0 || o.MaxIndexNum > index.MaxEntries:
		return fmt.Errorf("store: maxIndexNum %d must be in [1, %d]", o.MaxIndexNum, index.MaxEntries)
	}
	return nil
}

// pathSafeTopic reports whether topic can name a ConsumeQueue directory: bytes of
// RocketMQ's topic alphabet [%|a-zA-Z0-9_-] (and '.'), never "." or "..". Anything else
// could escape the consumequeue directory or be refused by the file system.
func pathSafeTopic(topic []byte) bool {
	if len(topic) == 0 || string(topic) == "." || string(topic) == ".." {
		return false
	}
	for _, c := range topic {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '%' || c == '|' || c == '_' || c == '-' || c == '.':
		default:
			return false
		}
	}
	return true
}
