package store

import (
	"errors"

	"github.com/rocketgo/rocketgo/store/commitlog"
	"github.com/rocketgo/rocketgo/store/segment"
)

// Errors of the store. Callers test them with errors.Is; the wrapped text says what,
// where and by how much.
var (
	// ErrClosed reports use of a closed store.
	ErrClosed = commitlog.ErrClosed
	// ErrMessageTooLarge reports a body over MaxMessageBytes, or a record (batch) that
	// cannot fit one CommitLog segment.
	ErrMessageTooLarge = errors.New("store: message too large")
	// ErrPropertiesTooLarge reports properties over 32767 bytes.
	ErrPropertiesTooLarge = errors.New("store: properties too large")
	// ErrInvalidRecord reports bytes handed to Put that are not one well-formed v1
	// record (or, for PutBatch, records of one topic and queue).
	ErrInvalidRecord = errors.New("store: invalid record")
	// ErrDiskFull reports an append refused because the disk usage is above
	// DiskMaxRatio (or a new segment could not be allocated). The message names the
	// usage. Appends resume by themselves once usage drops.
	ErrDiskFull = errors.New("store: disk full")
	// ErrWriteFailed reports a log that refuses every write after a failed write or
	// msync (sticky; the broker must stop accepting writes).
	ErrWriteFailed = commitlog.ErrWriteFailed
	// ErrFlushTimeout reports a SYNC_FLUSH wait that exceeded SyncFlushTimeout; the
	// record is stored but not known durable (FLUSH_DISK_TIMEOUT).
	ErrFlushTimeout = commitlog.ErrFlushTimeout
	// ErrNotFound reports a read of something the store does not hold: no record at a
	// physical offset, no such queue, a message already deleted.
	ErrNotFound = errors.New("store: not found")
	// ErrCorruption is the store's single corruption marker: Open returns an error
	// wrapping it when files hold what the store cannot have written (a bad record
	// with valid data after it, a missing segment, a file of the wrong size).
	ErrCorruption = segment.ErrCorrupt
	// ErrLocked reports a store directory already opened by this or another process.
	ErrLocked = errors.New("store: directory locked")
	// ErrFormatMismatch reports options that contradict the format recorded in the
	// store directory; the message names both values.
	ErrFormatMismatch = errors.New("store: format mismatch")
)
