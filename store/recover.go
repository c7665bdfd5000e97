package store

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/store/commitlog"
	"github.com/rocketgo/rocketgo/store/consumequeue"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Names of the store's own projections in the checkpoint.
const (
	appliedConsumeQueue = "consumequeue"
	appliedIndex        = "index"
)

// RecoveryStats reports how Open recovered the store.
type RecoveryStats struct {
	// Clean is true when the last run shut down cleanly (or the store is new).
	Clean bool
	// Duration is the time Open spent recovering, re-dispatch included.
	Duration time.Duration
	// CheckpointFlushed is the flushed offset of the checkpoint recovery started from.
	CheckpointFlushed int64
	// VerifiedFrom is where record verification started; EndOffset is the log's end
	// after recovery.
	VerifiedFrom int64
	EndOffset    int64
	// BytesScanned and RecordsVerified measure the verification pass.
	BytesScanned    int64
	RecordsVerified int64
	// RedispatchedFrom is where re-dispatch to the ConsumeQueues and the index started;
	// RedispatchedBytes is how much of the log it covered.
	RedispatchedFrom  int64
	RedispatchedBytes int64
	// ReindexedFrom is where the key index resumes; it catches up in the background
	// after Open returns.
	ReindexedFrom int64
	// TruncatedAt is where invalid data was cut from the log, -1 if none was;
	// TruncateReason says what was wrong with the record there.
	TruncatedAt    int64
	TruncateReason string
	// Corruption is true when the cut also dropped valid records (TruncateOnCorruption).
	Corruption bool
	// RemovedSegments counts CommitLog files removed (past the cut, or torn creations).
	RemovedSegments int
	// Queues is the number of ConsumeQueues found; TrimmedUnits how many of their
	// units were past the trusted offset and rebuilt.
	Queues       int
	TrimmedUnits int64
	// IndexTruncated is true when the key index was ahead of the log and was cut back.
	IndexTruncated bool
}

// recover brings the CommitLog and every projection to a consistent state: verify the
// log from the checkpoint, cut it at the first invalid record, trim projections past the
// trusted offsets, and re-dispatch the rest, synchronously, before Open returns.
func (s *Store) recover() error {
	began := time.Now()
	cp, last, err := openCheckpoint(s.o.Dir)
	if err != nil {
		return err
	}
	s.cp = cp
	st := RecoveryStats{Clean: !abortExists(s.o.Dir), TruncatedAt: -1}
	// The marker goes first: a crash during recovery must make the next Open recover
	// again.
	if err := createAbort(s.o.Dir); err != nil {
		return err
	}
	flushed := last.GetFlushedOffset()
	cqApplied := last.GetApplied()[appliedConsumeQueue]
	idxApplied := s.idx.Applied()
	st.CheckpointFlushed = flushed
	// Verification covers what will be re-dispatched to the ConsumeQueues and anything
	// not known flushed. The key index may resume further back (it lags under load);
	// what it re-reads below the flushed offset was verified when it was appended.
	mark, err := readTruncateMark(s.o.Dir)
	if err != nil {
		return err
	}
	ro := commitlog.RecoverOptions{
		Flushed:              flushed,
		From:                 min(flushed, cqApplied),
		TruncateOnCorruption: s.o.TruncateOnCorruption,
	}
	if s.o.HoldUnconfirmed {
		s.d.confirm.Store(cqApplied) // confirm.go
	}
	// Re-dispatch follows the verification chunk by chunk (fused.go), unless a
	// truncate mark will cut the log below what the scan verifies.
	var fd *fusedDispatch
	if mark < 0 {
		fd = &fusedDispatch{s: s, trusted: cqApplied}
		ro.Verified, ro.VerifiedChunk = fd.verified, fusedChunk
	}
	res, err := s.cl.Recover(ro)
	st.VerifiedFrom, st.EndOffset = res.Start, res.End
	st.BytesScanned, st.RecordsVerified = res.Scanned, res.Records
	st.TruncatedAt, st.TruncateReason, st.Corruption = res.CutAt, res.CutReason, res.Corruption
	st.RemovedSegments = res.RemovedSegments
	if err != nil {
		return err
	}
	if mark >= 0 { // truncate.go
		cut, err := s.cl.TruncateTo(mark)
		if err != nil {
			return err
		}
		if cut.CutAt >= 0 {
			res.End = cut.End
			st.EndOffset, st.TruncatedAt, st.TruncateReason = cut.End, cut.CutAt, cut.CutReason
			st.RemovedSegments += cut.RemovedSegments
			s.log.Warn().Int64("offset", cut.CutAt).Msg("commitlog cut where it diverged from the new master's")
		}
	}
	end, logMin := res.End, s.cl.Min()

	trusted := min(cqApplied, end)
	start := max(trusted, logMin)
	resume := start // where the re-dispatch below goes on
	if fd != nil && fd.opened && fd.trusted == trusted {
		st.Queues, st.TrimmedUnits = fd.queues, fd.trimmed
		resume = s.d.pos.Load()
	} else {
		if fd != nil && fd.opened {
			// The log ended below what the ConsumeQueues were trusted to: open them
			// again, trimmed to its end, and re-dispatch as if nothing had been.
			s.closeQueues()
		}
		if st.Queues, st.TrimmedUnits, err = s.openQueues(trusted, logMin); err != nil {
			return err
		}
		s.d.cqFrom = trusted
		s.d.pos.Store(start)
	}

	if idxApplied > end {
		if err := s.idx.Truncate(end); err != nil {
			return err
		}
		st.IndexTruncated = true
		idxApplied = end
	}
	for {
		err := s.dispatchBelow(resume, end, s.d.confirm.Load())
		if err == nil {
			break
		}
		if !errors.Is(err, consumequeue.ErrGap) && !errors.Is(err, consumequeue.ErrMismatch) && !errors.Is(err, errUnservable) {
			return fmt.Errorf("store: re-dispatch [%d, %d): %w", start, end, err)
		}
		// A record whose queue offset does not follow its queue, or whose topic
		// cannot be a queue: its header is damaged (v1 has no checksum over it). Cut
		// there as recovery would at any invalid record.
		bad := s.d.pos.Load()
		cut, err := s.cl.Reject(bad, err, commitlog.RecoverOptions{Flushed: flushed, TruncateOnCorruption: s.o.TruncateOnCorruption})
		st.RemovedSegments += cut.RemovedSegments
		if err != nil {
			return err
		}
		end, st.EndOffset = bad, bad
		st.TruncatedAt, st.TruncateReason, st.Corruption = cut.CutAt, cut.CutReason, st.Corruption || cut.Corruption
		if idxApplied > end {
			if err := s.idx.Truncate(end); err != nil {
				return err
			}
			st.IndexTruncated = true
			idxApplied = end
		}
	}
	st.RedispatchedFrom, st.RedispatchedBytes = start, end-start
	// The key index catches up in the background: nothing but QueryByKey waits for
	// it.
	s.ix.from = idxApplied
	ixStart := max(idxApplied, logMin)
	s.ix.pos.Store(ixStart)
	st.ReindexedFrom = ixStart
	for _, q := range s.allQueues() {
		s.cl.SetQueueOffset(q.Topic(), q.QueueID(), q.Max())
	}
	if err := s.countHeldQueueOffsets(end); err != nil { // confirm.go
		return err
	}
	if err := s.checkpoint(); err != nil {
		return err
	}
	if mark >= 0 {
		if err := clearTruncateMark(s.o.Dir); err != nil {
			return err
		}
	}
	st.Duration = time.Since(began)
	s.recovery = st
	ev := s.log.Info()
	if !st.Clean {
		ev = s.log.Warn()
	}
	ev.Bool("clean", st.Clean).Dur("took", st.Duration).Int64("verified_from", st.VerifiedFrom).
		Int64("end", st.EndOffset).Int64("scanned_bytes", st.BytesScanned).Int64("truncated_at", st.TruncatedAt).
		Int("queues", st.Queues).Int64("trimmed_units", st.TrimmedUnits).Msg("store recovered")
	return nil
}

// openQueues opens every ConsumeQueue on disk, trimmed to the units of records below
// trusted and advanced to the log's first offset logMin, and returns how many there
// are and how many units were trimmed.
func (s *Store) openQueues(trusted, logMin int64) (queues int, trimmed int64, err error) {
	refs, err := consumequeue.List(s.cqDir)
	if err != nil {
		return 0, 0, err
	}
	for _, r := range refs {
		q, qs, err := consumequeue.Open(s.cqDir, r.Topic, r.QueueID, int64(s.o.ConsumeQueueUnits), trusted, s.grave)
		if err != nil {
			return 0, 0, err
		}
		q.AdvanceMin(logMin)
		s.addQueue(q)
		trimmed += qs.TrimmedUnits
	}
	return len(refs), trimmed, nil
}

func (s *Store) addQueue(q *consumequeue.Queue) {
	s.queues.Lock()
	defer s.queues.Unlock()
	qs := s.queues.m[q.Topic()]
	if qs == nil {
		qs = make(map[int32]*consumequeue.Queue)
		s.queues.m[q.Topic()] = qs
	}
	qs[q.QueueID()] = q
}

// allQueues returns a snapshot of every ConsumeQueue.
func (s *Store) allQueues() []*consumequeue.Queue {
	s.queues.RLock()
	defer s.queues.RUnlock()
	var out []*consumequeue.Queue
	for _, qs := range s.queues.m {
		for _, q := range qs {
			out = append(out, q)
		}
	}
	return out
}

// checkpoint records how far the store is durable: it reads the flushed and dispatched
// offsets, msyncs every ConsumeQueue (so every unit for a record below the dispatched
// offset is on disk) and syncs the index, and only then writes the checkpoint. An idle
// store does no I/O: nothing is synced or written when nothing moved.
func (s *Store) checkpoint() error {
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	applied := map[string]int64{
		appliedConsumeQueue: s.d.pos.Load(),
		appliedIndex:        s.idx.Applied(),
	}
	for _, ps := range *s.d.projList.Load() {
		applied[ps.name] = ps.applied.Load()
	}
	cp := &metapb.Checkpoint{FlushedOffset: s.cl.Flushed(), Applied: applied}
	if last := s.lastCheckpoint; last != nil && last.FlushedOffset == cp.FlushedOffset && maps.Equal(last.Applied, applied) {
		return nil
	}
	for _, q := range s.allQueues() {
		if err := q.Flush(); err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
	}
	if err := s.idx.Sync(); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	cp.TimestampMs = time.Now().UnixMilli()
	if err := s.cp.write(cp); err != nil {
		return err
	}
	s.lastCheckpoint = cp
	return nil
}

// checkpointLoop writes a checkpoint every CheckpointInterval.
func (s *Store) checkpointLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.CheckpointInterval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if err := s.checkpoint(); err != nil {
			if err.Error() != lastErr && !errors.Is(err, diskguard.ErrFull) {
				s.log.Error().Err(err).Msg("checkpoint failed")
			}
			lastErr = err.Error()
			continue
		}
		lastErr = ""
	}
}
