package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// truncateFile names the marker that makes the next Open cut the CommitLog: one line,
// the decimal offset to cut at. A replica that must drop the part of its log its new
// master does not share (docs/failover.md §4) writes it and reopens its store; recovery
// then cuts the log there and trims the ConsumeQueues, the key index and the
// projections after it, as after a torn tail.
const truncateFile = "truncate"

// MarkTruncate makes the next Open of the store in dir cut its CommitLog at offset (a
// record boundary; nothing happens when the log ends before it). The marker is
// fsynced, and removed once the cut is recovered.
func MarkTruncate(dir string, offset int64) error {
	if offset < 0 {
		return fmt.Errorf("store: truncate offset %d is negative", offset)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, truncateFile)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, err = f.WriteString(strconv.FormatInt(offset, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = segment.SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("store: write %s: %w", path, err)
	}
	return nil
}

// readTruncateMark returns the offset a marker asks to cut at, -1 without a marker.
func readTruncateMark(dir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, truncateFile))
	if errors.Is(err, os.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("store: %w", err)
	}
	off, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || off < 0 {
		return -1, fmt.Errorf("store: %s holds %q, not an offset", filepath.Join(dir, truncateFile), strings.TrimSpace(string(b)))
	}
	return off, nil
}

// clearTruncateMark removes the marker once the cut is durable.
func clearTruncateMark(dir string) error {
	err := os.Remove(filepath.Join(dir, truncateFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
