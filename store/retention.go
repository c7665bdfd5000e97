package store

import (
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// diskRecheck is the shortest interval between two statfs calls made because an append
// found the disk full; the retention loop also checks once per retentionTick.
const (
	diskRecheck   = 100 * time.Millisecond
	retentionTick = time.Second
)

// diskState tracks the disk usage of the store directory. Appends consult only the full
// flag (one atomic load); while it is set, a failing append re-checks statfs at most
// every diskRecheck, so writes resume by themselves as soon as space returns.
type diskState struct {
	full      atomic.Bool
	usage     atomic.Uint64 // math.Float64bits of the last measured usage ratio
	lastCheck atomic.Int64  // unix nanoseconds of the last statfs
	logged    atomic.Bool   // the full state has been logged
}

// admit returns ErrDiskFull while the disk is above DiskMaxRatio.
func (d *diskState) admit(s *Store) error {
	if !d.full.Load() {
		return nil
	}
	now := time.Now().UnixNano()
	last := d.lastCheck.Load()
	if now-last >= int64(diskRecheck) && d.lastCheck.CompareAndSwap(last, now) {
		s.refreshDisk(false)
		if !d.full.Load() {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is %.1f%% used, above diskMaxRatio %.1f%%; writes resume below it",
		ErrDiskFull, s.o.Dir, 100*math.Float64frombits(d.usage.Load()), 100*s.o.DiskMaxRatio)
}

// markFull is called when an allocation failed with ENOSPC whatever statfs said.
func (d *diskState) markFull() {
	d.full.Store(true)
	d.usage.Store(math.Float64bits(1))
	d.lastCheck.Store(time.Now().UnixNano())
}

// diskUsage returns the used fraction of the file system holding dir, counting the
// blocks reserved for root as used (what an unprivileged writer can still get is what
// matters).
func diskUsage(dir string) (float64, int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("store: statfs %s: %w", dir, err)
	}
	total := float64(st.Blocks) * float64(st.Bsize)
	if total <= 0 {
		return 0, 0, nil
	}
	avail := float64(st.Bavail) * float64(st.Bsize)
	return (total - avail) / total, int64(total), nil
}

// refreshDisk measures the usage and updates the full flag, logging transitions.
func (s *Store) refreshDisk(initial bool) float64 {
	usage, _, err := diskUsage(s.o.Dir)
	if err != nil {
		s.log.Warn().Err(err).Msg("disk usage")
		return math.Float64frombits(s.disk.usage.Load())
	}
	s.disk.usage.Store(math.Float64bits(usage))
	s.disk.lastCheck.Store(time.Now().UnixNano())
	full := usage >= s.o.DiskMaxRatio
	s.disk.full.Store(full)
	switch {
	case full && !s.disk.logged.Swap(true):
		s.log.Error().Float64("usage", usage).Float64("limit", s.o.DiskMaxRatio).Str("dir", s.o.Dir).
			Msg("disk full; appends refused")
	case !full && s.disk.logged.Swap(false) && !initial:
		s.log.Info().Float64("usage", usage).Msg("disk usage below the limit; appends resume")
	}
	return usage
}

// retentionLoop reaps buried segments, watches the disk and deletes old segments.
func (s *Store) retentionLoop() {
	defer s.wg.Done()
	t := time.NewTicker(retentionTick)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.grave.Reap(time.Now())
		s.refreshDisk(false)
		s.runRetention()
	}
}

// runRetention deletes CommitLog segments: at once, oldest first, while the disk usage
// (not counting segments already deleted and waiting out their read grace) is above
// DiskWarnRatio; otherwise, during the DeleteWhenHour hour, every segment older than
// FileReservedTime. The segment being written, and any segment not yet dispatched, is
// never deleted. The ConsumeQueue files and index entries below the new minimum go too.
func (s *Store) runRetention() (removed int) {
	now := s.o.Now()
	dispatched := s.d.pos.Load()
	usage, total, err := diskUsage(s.o.Dir)
	pressure := func() bool {
		if err != nil || total == 0 {
			return false
		}
		freed := float64(s.grave.Pending()) / float64(total)
		return usage-freed >= s.o.DiskWarnRatio
	}
	hour := now.Hour() == s.o.DeleteWhenHour
	names, newMin := s.cl.DeleteHead(time.Now(), func(seg, next *segment.File) bool {
		if seg.End() > dispatched {
			return false
		}
		if pressure() {
			return true
		}
		return hour && s.segmentEndTime(seg, next).Add(s.o.FileReservedTime).Before(now)
	})
	if len(names) == 0 {
		return 0
	}
	s.log.Info().Strs("segments", names).Int64("min_offset", newMin).Float64("usage", usage).
		Msg("retention deleted segments")
	for _, q := range s.allQueues() {
		q.DeleteBefore(newMin, time.Now())
	}
	if err := s.idx.DeleteBefore(newMin); err != nil {
		s.log.Warn().Err(err).Msg("index retention")
	}
	return len(names)
}

// segmentEndTime returns when seg stopped receiving records: the store time of the first
// record of the next segment (an upper bound of seg's last record's, which needs no scan
// of seg), or seg's modification time when the next segment holds no record yet.
func (s *Store) segmentEndTime(seg, next *segment.File) time.Time {
	if rec, err := s.cl.Record(next.Start()); err == nil {
		return time.UnixMilli(message.RecordStoreTimestamp(rec))
	}
	if fi, err := os.Stat(seg.Path()); err == nil {
		return fi.ModTime()
	}
	return s.o.Now()
}
