package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/diskguard"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// retentionTick is the period of the retention loop; appends measure the disk on their
// own (diskguard), so the tick only bounds how late expired segments go.
const retentionTick = time.Second

// newGuard returns the disk guard of the store directory. Space of deleted segments
// still mapped for their readers counts as free at once. diskSpaceWarningLevelRatio 1
// turns the send refusal and the metadata reserve off (test stores on a full disk).
func (s *Store) newGuard() *diskguard.Guard {
	o := diskguard.Options{
		Dir:         s.o.Dir,
		RefuseRatio: s.o.DiskMaxRatio,
		Credit:      s.grave.Pending,
		Logger:      s.log,
	}
	if s.o.DiskMaxRatio >= 1 {
		o.RefuseRatio, o.Reserve = 2, 1
	}
	return diskguard.New(o)
}

// DiskGuard returns the guard the store decides on, for the other writers on the same
// disk (the broker's metadata and schedule databases) to ask before they write.
func (s *Store) DiskGuard() *diskguard.Guard { return s.guard }

// admit returns ErrDiskFull while the disk is too full for an append of n bytes.
func (s *Store) admit(n int) error {
	if err := s.guard.AllowAppend(int64(n)); err != nil {
		return fmt.Errorf("%w: %s", ErrDiskFull, strings.TrimPrefix(err.Error(), diskguard.ErrFull.Error()+": "))
	}
	return nil
}

// appendFailed turns an ENOSPC from the log into ErrDiskFull and re-measures the disk.
func (s *Store) appendFailed(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		s.guard.Refresh()
		return fmt.Errorf("%w: %v", ErrDiskFull, err)
	}
	return err
}

// diskUsage returns the used fraction of the file system holding dir, counting the
// blocks reserved for root as used (what an unprivileged writer can still get is what
// matters), and its size.
func diskUsage(dir string) (float64, int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("store: statfs %s: %w", dir, err)
	}
	total := float64(st.Blocks) * float64(st.Bsize)
	if total <= 0 {
		return 0, 0, nil
	}
	avail := float64(st.Bavail) * float64(st.Bsize)
	return (total - avail) / total, int64(total), nil
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
		s.guard.Refresh()
		s.runRetention()
	}
}

// runRetention deletes CommitLog segments, oldest first:
//
//   - while the disk usage (segments deleted and waiting out their read grace count as
//     free) is above DiskWarnRatio (diskSpaceCleanForciblyRatio), at once, expired or
//     not;
//   - above DiskMaxUsedSpaceRatio percent, or during the DeleteWhenHour hour, those
//     older than FileReservedTime.
//
// The segment being written, and any segment not yet dispatched, is never deleted;
// under the rejectNew policy neither is one holding a message a subscribed group has
// not consumed. The ConsumeQueue files and index entries below the new minimum go too,
// and every group that lost unconsumed messages is named in a warning.
func (s *Store) runRetention() (removed int) {
	now := s.o.Now()
	dispatched := s.d.pos.Load()
	progress := s.consumerProgress()
	forcibly := func() bool { return s.guard.Usage() >= s.o.DiskWarnRatio }
	expiredNow := now.Hour() == s.o.DeleteWhenHour || s.guard.Usage()*100 >= float64(s.o.DiskMaxUsedSpaceRatio)
	names, newMin := s.cl.DeleteHead(time.Now(), func(seg, next *segment.File) bool {
		if seg.End() > dispatched {
			return false
		}
		if s.o.DiskFullPolicy == RejectNew && s.unconsumedBelow(progress, seg.End()) {
			s.noteHeld(seg.Path())
			return false
		}
		if forcibly() {
			return true
		}
		return expiredNow && s.segmentEndTime(seg, next).Add(s.o.FileReservedTime).Before(now)
	})
	if len(names) == 0 {
		return 0
	}
	s.log.Info().Strs("segments", names).Int64("min_offset", newMin).Float64("usage", s.guard.Usage()).
		Msg("retention deleted segments")
	for _, q := range s.allQueues() {
		q.DeleteBefore(newMin, time.Now())
	}
	s.reportLost(progress)
	if err := s.idx.DeleteBefore(newMin); err != nil {
		s.log.Warn().Err(err).Msg("index retention")
	}
	s.guard.Refresh()
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
