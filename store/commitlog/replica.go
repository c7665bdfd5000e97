package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Replication reads a master's log as raw byte runs (ReadRaw) and appends them to a
// slave's log verbatim (AppendRaw), so the slave's segments end up byte-identical to the
// master's: the same records at the same offsets with the same stored fields, and the
// same end-of-file blanks at the same places. A run is either whole records of one
// segment or, where the master rolled to the next segment, the blank's 8-byte header
// alone; the slave writes that blank over the rest of its segment exactly as the master
// did and rolls too.

// ErrNotContiguous reports a raw append that does not start where the log ends.
var ErrNotContiguous = errors.New("store: raw append not at the end of the log")

// crcTable is CRC-32C, which the hardware computes: the replication handshake checksums
// a window of the log with it.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ReadRaw returns the bytes of the log from the record boundary from on: whole records
// of one segment, together at most maxBytes bytes (at least one record, whatever its size),
// or, when the segment ends at from with a blank, that blank's 8-byte header. It
// returns nil when from is the end of the log. The slice is the mapping itself, valid
// until the segment is unmapped; it must not be modified.
//
// from must be a record boundary: a record there must carry from as its
// PHYSICALOFFSET, a blank must reach exactly to the end of its segment.
func (l *Log) ReadRaw(from int64, maxBytes int) ([]byte, error) {
	w := l.writtenThrough(from + 1)
	if from >= w {
		if from > w {
			return nil, fmt.Errorf("%w %d: past the end of the log %d", ErrNoRecord, from, w)
		}
		return nil, nil
	}
	if min := l.Min(); from < min {
		return nil, fmt.Errorf("%w %d: below the oldest stored offset %d", ErrNoRecord, from, min)
	}
	seg := l.files.Find(from)
	if seg == nil {
		return nil, fmt.Errorf("%w %d: no segment holds it", ErrNoRecord, from)
	}
	b := seg.Bytes()[from-seg.Start():]
	end := min(w, seg.End()) - from // bytes of b that are published
	if len(b) < message.MinBlankSize {
		return nil, fmt.Errorf("%w: %d bytes left in segment %s at %d", segment.ErrCorrupt, len(b), seg.Path(), from)
	}
	if binary.BigEndian.Uint32(b[4:]) == message.MagicBlank {
		if size := int64(int32(binary.BigEndian.Uint32(b))); size != seg.End()-from {
			return nil, fmt.Errorf("%w: blank of %d bytes at %d, %d left in segment %s", segment.ErrCorrupt, size, from, seg.End()-from, seg.Path())
		}
		return b[:message.MinBlankSize:message.MinBlankSize], nil
	}
	n := int64(0)
	for n < end {
		if end-n < message.MinBlankSize {
			return nil, fmt.Errorf("%w: %d bytes of a record header at %d in segment %s", segment.ErrCorrupt, end-n, from+n, seg.Path())
		}
		r := b[n:]
		if binary.BigEndian.Uint32(r[4:]) != message.MagicV1 {
			if n > 0 && binary.BigEndian.Uint32(r[4:]) == message.MagicBlank {
				break // the blank goes in a run of its own
			}
			return nil, fmt.Errorf("%w: bad magic at %d in segment %s", segment.ErrCorrupt, from+n, seg.Path())
		}
		size := int64(int32(binary.BigEndian.Uint32(r)))
		if size < message.FixedOverheadV4 || size > end-n {
			return nil, fmt.Errorf("%w: record size %d at %d in segment %s", segment.ErrCorrupt, size, from+n, seg.Path())
		}
		if n == 0 && message.RecordPhysicalOffset(r) != from {
			return nil, fmt.Errorf("%w %d: not a record boundary (the record there says %d)", ErrNoRecord, from, message.RecordPhysicalOffset(r))
		}
		if n > 0 && n+size > int64(maxBytes) {
			break
		}
		n += size
	}
	return b[:n:n], nil
}

// AppendRaw appends a run read from a master's log with ReadRaw at offset pos, which
// must be where this log ends (ErrNotContiguous otherwise). Every record is verified
// (magic, sizes, body CRC, PHYSICALOFFSET naming its own position) and must fit the
// active segment as the master's layout requires; a blank header must claim exactly the
// rest of the active segment, which then becomes a blank and the log rolls. Nothing is
// patched: the bytes land as they are. It returns the log's new end.
func (l *Log) AppendRaw(pos int64, b []byte) (int64, error) {
	if len(b) < message.MinBlankSize {
		return 0, fmt.Errorf("%w: raw run of %d bytes", message.ErrTruncated, len(b))
	}
	if binary.BigEndian.Uint32(b[4:]) == message.MagicBlank {
		return l.appendBlank(pos, b)
	}
	if w := l.written.Load(); pos != w {
		return 0, fmt.Errorf("%w: run at %d, log ends at %d", ErrNotContiguous, pos, w)
	}
	count, err := verifyRun(pos, b)
	if err != nil {
		return 0, err
	}
	n := int64(len(b))
	l.mu.Lock()
	if err := l.replicableLocked(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	if pos != l.mu.wpos {
		wpos := l.mu.wpos
		l.mu.Unlock()
		return 0, fmt.Errorf("%w: run at %d, log ends at %d", ErrNotContiguous, pos, wpos)
	}
	seg := l.mu.active
	rel := pos - seg.Start()
	if rel+n+message.MinBlankSize > l.o.SegmentBytes {
		l.mu.Unlock()
		return 0, fmt.Errorf("%w: run of %d bytes at %d does not leave room for the end-of-file blank of segment %s",
			message.ErrCorrupt, n, pos, seg.Path())
	}
	l.prep.ensureLocked(seg, rel, n)
	l.awaitZerosLocked(seg, pos, pos+n)
	dst := seg.Bytes()[rel : rel+n]
	// The same order as Append: everything but each record's first 8 bytes, then the
	// headers, so a crash mid-copy leaves whole records followed by headerless ones.
	for i, off := 0, 0; i < count; i++ {
		size := int(binary.BigEndian.Uint32(b[off:]))
		copy(dst[off+headerLen:off+size], b[off+headerLen:off+size])
		off += size
	}
	for i, off := 0, 0; i < count; i++ {
		rec := b[off:]
		size := int(binary.BigEndian.Uint32(rec))
		copy(dst[off:off+headerLen], rec[:headerLen])
		l.noteRecordLocked(rec[:size])
		off += size
	}
	l.publishUnlock(seg, rel, n, count)
	return pos + n, nil
}

// replicableLocked is writableLocked for the replication writer, which a sealed log
// still accepts: a slave's store seals its log against ordinary appends (Store.
// SetReplica) so that only replication writes to it. The store makes sure nothing
// replicates after Close.
func (l *Log) replicableLocked() error {
	if l.mu.failed != nil {
		return l.mu.failed
	}
	if l.mu.active == nil {
		return fmt.Errorf("%w: log not recovered", ErrClosed)
	}
	return nil
}

// verifyRun checks that b is whole, valid records whose PHYSICALOFFSET fields count up
// from pos, and returns how many there are.
func verifyRun(pos int64, b []byte) (int, error) {
	count := 0
	for off := 0; off < len(b); count++ {
		size, err := message.VerifyRecord(b[off:])
		if err != nil {
			if errors.Is(err, message.ErrBlank) {
				err = fmt.Errorf("%w: a blank must come alone, found one after %d records", message.ErrCorrupt, count)
			}
			return 0, fmt.Errorf("raw record %d at %d: %w", count, pos+int64(off), err)
		}
		if got := message.RecordPhysicalOffset(b[off:]); got != pos+int64(off) {
			return 0, fmt.Errorf("raw record %d at %d: %w: PHYSICALOFFSET %d", count, pos+int64(off), message.ErrCorrupt, got)
		}
		off += size
	}
	return count, nil
}

// noteRecordLocked keeps the append-side queue offsets in step with a replicated record,
// so that a slave's log hands out the next queue offsets the master would.
func (l *Log) noteRecordLocked(rec []byte) {
	topic := message.RecordTopicBytes(rec)
	t := l.mu.topics[string(topic)]
	if t == nil {
		t = &topicState{queues: make(map[int32]int64)}
		l.mu.topics[string(topic)] = t
	}
	t.puts++
	tx := message.TxType(message.RecordSysFlag(rec))
	if tx == message.TxPreparedType || tx == message.TxRollbackType {
		return
	}
	if next := message.RecordQueueOffset(rec) + 1; next > t.queues[message.RecordQueueID(rec)] {
		t.queues[message.RecordQueueID(rec)] = next
	}
}

// appendBlank applies a replicated end-of-file blank: it must be the 8-byte header alone
// and claim exactly the rest of the active segment from pos.
func (l *Log) appendBlank(pos int64, b []byte) (int64, error) {
	if len(b) != message.MinBlankSize {
		return 0, fmt.Errorf("%w: blank run of %d bytes, want its %d-byte header alone", message.ErrCorrupt, len(b), message.MinBlankSize)
	}
	claimed := int64(int32(binary.BigEndian.Uint32(b)))
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.replicableLocked(); err != nil {
		return 0, err
	}
	if pos != l.mu.wpos {
		return 0, fmt.Errorf("%w: blank at %d, log ends at %d", ErrNotContiguous, pos, l.mu.wpos)
	}
	seg := l.mu.active
	rel := pos - seg.Start()
	if claimed != seg.Size()-rel {
		return 0, fmt.Errorf("%w: blank of %d bytes at %d, but %d bytes are left in segment %s",
			message.ErrCorrupt, claimed, pos, seg.Size()-rel, seg.Path())
	}
	next, err := l.rollLocked(seg, rel)
	if err != nil {
		return 0, err
	}
	l.written.Store(next.Start())
	return next.Start(), nil
}

// Checksum returns the CRC-32C of the log's bytes in [from, to), which must lie in one
// segment and within [Min, Written].
func (l *Log) Checksum(from, to int64) (uint32, error) {
	if from >= to || from < l.Min() || to > l.written.Load() {
		return 0, fmt.Errorf("%w: checksum range [%d, %d) outside the log [%d, %d)", ErrNoRecord, from, to, l.Min(), l.written.Load())
	}
	seg := l.files.Find(from)
	if seg == nil || to > seg.End() {
		return 0, fmt.Errorf("%w: checksum range [%d, %d) is not inside one segment", ErrNoRecord, from, to)
	}
	return crc32.Checksum(seg.Bytes()[from-seg.Start():to-seg.Start()], crcTable), nil
}

// ResetEmpty moves an empty log (nothing ever appended, one segment at offset 0) to
// start at start, a multiple of the segment size: a slave whose master no longer holds
// the beginning of its log starts replicating at the master's oldest segment. The old
// segment, and a next one prepared ahead, are removed.
func (l *Log) ResetEmpty(start int64) error {
	if start <= 0 || start%l.o.SegmentBytes != 0 {
		return fmt.Errorf("commitlog: reset to %d: not a positive multiple of the segment size %d", start, l.o.SegmentBytes)
	}
	l.fl.syncMu.Lock()
	defer l.fl.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.replicableLocked(); err != nil {
		return err
	}
	fs := l.files.Files()
	if l.mu.wpos != 0 || l.written.Load() != 0 || len(fs) != 1 || fs[0].Start() != 0 || l.mu.puts != 0 {
		return fmt.Errorf("commitlog: reset to %d: the log is not empty (ends at %d, %d segments)", start, l.mu.wpos, len(fs))
	}
	now := l.o.Now()
	// The preparer's lock is held until the new segment is the set's last: the preparer
	// creates the next segment after the set's last under that lock (nextSegment), and
	// must not make one after the old segment once the prepared one is taken here.
	l.prep.mu.Lock()
	prepared := l.prep.next
	l.prep.next = nil
	if prepared != nil {
		// Unlinked now, unmapped after the grace: the preparer may still be populating it.
		_ = l.o.Grave.Bury(prepared, now)
	}
	f, err := segment.Create(l.o.Dir, start, l.o.SegmentBytes)
	if err != nil {
		l.prep.mu.Unlock()
		return fmt.Errorf("commitlog: reset to %d: %w", start, err)
	}
	old := l.files.RemoveLast()
	if err := l.files.Append(f); err != nil {
		_ = l.files.Append(old)
		l.prep.mu.Unlock()
		removeFile(f)
		return fmt.Errorf("commitlog: reset to %d: %w", start, err)
	}
	l.prep.mu.Unlock()
	if err := l.o.Grave.Bury(old, now); err != nil {
		l.log.Warn().Err(err).Str("segment", old.Path()).Msg("remove segment")
	}
	if err := segment.SyncDir(l.o.Dir); err != nil {
		return err
	}
	l.mu.active = f
	l.mu.wpos = start
	l.cuts.Add(1)
	l.written.Store(start)
	l.staged.Store(start)
	l.fl.flushed.Store(start)
	l.prep.populated.Store(start)
	l.prep.zeroed.Store(start)
	l.prep.wake()
	l.log.Info().Int64("offset", start).Msg("empty log moved to start at the master's oldest segment")
	return nil
}
