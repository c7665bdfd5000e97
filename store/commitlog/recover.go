package commitlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// RecoverOptions says where recovery starts and what it may assume.
type RecoverOptions struct {
	// Flushed is the offset the last checkpoint vouches for: records below it reached
	// the disk. A bad record below it is corruption of acknowledged data.
	Flushed int64
	// From is where verification starts (at most Flushed): the earliest offset some
	// projection must re-dispatch from, so every record handed to a projection is
	// verified.
	From int64
	// TruncateOnCorruption cuts the log at a corrupt record even when valid records
	// follow it, instead of refusing to open.
	TruncateOnCorruption bool
	// Verified, when set, is handed the records as the scan verifies them: contiguous
	// record-aligned ranges [from, to), in order, each once it holds VerifiedChunk
	// bytes (DefaultVerifiedChunk when zero), the last when the scan stops at the
	// log's end or its cut. The caller uses them
	// while their pages are still in the page cache (re-dispatch, docs/scale.md §4.1);
	// a log cut later (TruncateTo, Reject) may end below what it was handed. An error
	// stops recovery with that error.
	Verified      func(from, to int64) error
	VerifiedChunk int64
}

// DefaultVerifiedChunk is what RecoverOptions.Verified is handed at once: small against
// the page cache, large against the cost of a call.
const DefaultVerifiedChunk = 64 << 20

// RecoverResult reports what Recover found.
type RecoverResult struct {
	Start           int64  // where verification began
	End             int64  // the log's end after recovery
	Records         int64  // records verified
	Scanned         int64  // bytes verified
	CutAt           int64  // where invalid data was cut, -1 if the log ended cleanly
	CutReason       string // why the record at CutAt was refused
	Corruption      bool   // the cut dropped valid records that followed (TruncateOnCorruption)
	RemovedSegments int    // segment files removed: torn creations and files past the cut
}

// Recover loads the segment files, verifies every record from o.From on (magic, sizes,
// body CRC, and that PHYSICALOFFSET names the record's own position), and cuts the log
// at the first invalid record.
//
// An invalid record is the torn tail of an interrupted append when nothing valid
// follows it; it is corruption when it lies below o.Flushed or valid records follow it.
// Corruption refuses to open with an error that wraps segment.ErrCorrupt and names the
// file and offset, unless o.TruncateOnCorruption. The bytes past the cut are zeroed and
// later segments removed, so that stale records can never be picked up by a later
// recovery. Everything recovered is msync'd before Recover returns.
func (l *Log) Recover(o RecoverOptions) (RecoverResult, error) {
	res := RecoverResult{CutAt: -1}
	if err := os.MkdirAll(l.o.Dir, 0o755); err != nil {
		return res, fmt.Errorf("commitlog: %w", err)
	}
	if err := l.load(o, &res); err != nil {
		return res, err
	}
	if l.files.Len() == 0 {
		if o.Flushed > 0 && !o.TruncateOnCorruption {
			return res, fmt.Errorf("%w: checkpoint says the commitlog is flushed through %d, but %s holds no segment",
				segment.ErrCorrupt, o.Flushed, l.o.Dir)
		}
		f, err := segment.Create(l.o.Dir, 0, l.o.SegmentBytes)
		if err != nil {
			return res, err
		}
		if err := l.files.Append(f); err != nil {
			return res, err
		}
		l.setEnd(0, f, 0)
		return res, nil
	}
	first, last := l.files.First(), l.files.Last()
	if o.Flushed > last.End() {
		if !o.TruncateOnCorruption {
			return res, fmt.Errorf("%w: checkpoint says the commitlog is flushed through %d, but its segments end at %d",
				segment.ErrCorrupt, o.Flushed, last.End())
		}
		o.Flushed = last.End()
	}
	pos := min(max(o.From, first.Start()), max(o.Flushed, first.Start()))
	res.Start = pos
	for _, f := range l.files.Files() {
		if f.End() > pos {
			f.AdviseSequential()
		}
	}
	end, err := l.scan(pos, o, &res)
	for _, f := range l.files.Files() {
		f.AdviseNormal()
	}
	if err != nil {
		return res, err
	}
	res.End = end
	if err := l.cut(end, &res); err != nil {
		return res, err
	}
	active := l.files.Find(end)
	if active == nil {
		// The log ends exactly at the end of its last segment (a blank filled it and the
		// next file was never created).
		f, err := segment.Create(l.o.Dir, end, l.o.SegmentBytes)
		if err != nil {
			return res, err
		}
		if err := l.files.Append(f); err != nil {
			return res, err
		}
		active = f
	}
	// What was only in the page cache (a killed process leaves it there) is made
	// durable before anything is built on it.
	l.setEnd(end, active, min(max(o.Flushed, first.Start()), end))
	if err := l.Flush(); err != nil {
		return res, err
	}
	return res, nil
}

// setEnd makes end the write position in active, with everything below flushed on
// disk.
func (l *Log) setEnd(end int64, active *segment.File, flushed int64) {
	l.mu.Lock()
	l.mu.active = active
	l.mu.wpos = end
	l.mu.Unlock()
	l.cuts.Add(1)
	l.written.Store(end)
	l.staged.Store(end) // nothing staged: a truncation must not leave it past the end
	l.fl.flushed.Store(flushed)
}

// load opens the segment files: contiguous, aligned, of the configured size. A last file
// of the wrong size is a creation interrupted before fallocate finished, holding nothing;
// it is removed.
func (l *Log) load(o RecoverOptions, res *RecoverResult) error {
	starts, err := segment.List(l.o.Dir)
	if err != nil {
		return err
	}
	for i, start := range starts {
		path := filepath.Join(l.o.Dir, segment.Name(start))
		if start%l.o.SegmentBytes != 0 {
			return fmt.Errorf("%w: commitlog segment %s does not start at a multiple of the segment size %d",
				segment.ErrCorrupt, path, l.o.SegmentBytes)
		}
		if last := l.files.Last(); last != nil && last.End() != start {
			if !o.TruncateOnCorruption {
				return fmt.Errorf("%w: commitlog segment %s is missing (the segment before %s ends at %d)",
					segment.ErrCorrupt, filepath.Join(l.o.Dir, segment.Name(last.End())), path, last.End())
			}
			for _, s := range starts[i:] {
				if err := os.Remove(filepath.Join(l.o.Dir, segment.Name(s))); err != nil {
					return fmt.Errorf("commitlog: %w", err)
				}
				res.RemovedSegments++
			}
			res.Corruption = true
			break
		}
		f, err := segment.Open(l.o.Dir, start, l.o.SegmentBytes)
		if err != nil && i == len(starts)-1 && errors.Is(err, segment.ErrCorrupt) {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("commitlog: remove torn segment: %w", err)
			}
			res.RemovedSegments++
			break
		}
		if err != nil {
			return err
		}
		if err := l.files.Append(f); err != nil {
			f.Close()
			return err
		}
	}
	return nil
}

// scan verifies records from pos and returns the offset just past the last valid one,
// handing o.Verified what it verified as it goes.
func (l *Log) scan(pos int64, o RecoverOptions, res *RecoverResult) (int64, error) {
	chunk := pos // start of what o.Verified has not been handed yet
	hand := func(min int64) error {
		if o.Verified == nil || pos-chunk < max(min, 1) {
			return nil
		}
		from := chunk
		chunk = pos
		return o.Verified(from, pos)
	}
	if o.VerifiedChunk <= 0 {
		o.VerifiedChunk = DefaultVerifiedChunk
	}
	end, err := l.scanFrom(&pos, o, res, hand)
	if err != nil {
		return end, err
	}
	return end, hand(0)
}

// scanFrom is scan's loop; *pos moves past every valid record and hand is offered the
// records verified so far after each.
func (l *Log) scanFrom(posp *int64, o RecoverOptions, res *RecoverResult, hand func(min int64) error) (int64, error) {
	for {
		if err := hand(o.VerifiedChunk); err != nil {
			return *posp, err
		}
		pos := *posp
		seg := l.files.Find(pos)
		if seg == nil {
			return pos, nil // at the end of the last segment
		}
		rel := pos - seg.Start()
		b := seg.Bytes()[rel:]
		size, err := message.VerifyRecord(b)
		switch {
		case err == nil:
			if got := message.RecordPhysicalOffset(b); got != pos {
				err = fmt.Errorf("%w: PHYSICALOFFSET %d", message.ErrCorrupt, got)
			} else if rel+int64(size)+message.MinBlankSize > seg.Size() {
				err = fmt.Errorf("%w: record of %d bytes leaves no room for the end-of-file blank", message.ErrCorrupt, size)
			}
		case errors.Is(err, message.ErrBlank):
			if int64(size) == seg.Size()-rel {
				res.Scanned += int64(size)
				*posp = seg.End()
				continue
			}
			err = fmt.Errorf("%w: blank of %d bytes, %d left in the segment", message.ErrCorrupt, size, seg.Size()-rel)
		}
		if err == nil {
			*posp += int64(size)
			res.Records++
			res.Scanned += int64(size)
			continue
		}
		zeroEnd := len(b) >= 8 && binary.BigEndian.Uint64(b) == 0
		after, hasAfter := l.findValidAfter(pos)
		if pos < o.Flushed || hasAfter {
			res.CutAt, res.CutReason = pos, err.Error()
			why := fmt.Sprintf("a valid record follows at %d", after)
			if pos < o.Flushed {
				why = fmt.Sprintf("it lies below the checkpoint's flushed offset %d", o.Flushed)
			}
			if !o.TruncateOnCorruption {
				return pos, fmt.Errorf("%w: commitlog segment %s, offset %d (byte %d of the file): %v; %s. "+
					"Refusing to open: set truncateOnCorruption to cut the log there and lose what follows",
					segment.ErrCorrupt, seg.Path(), pos, rel, err, why)
			}
			res.Corruption = true
			l.log.Error().Err(err).Str("segment", seg.Path()).Int64("offset", pos).Str("reason", why).
				Msg("corrupt commitlog record; truncating as configured")
			return pos, nil
		}
		if !zeroEnd {
			res.CutAt, res.CutReason = pos, err.Error()
			l.log.Warn().Err(err).Str("segment", seg.Path()).Int64("offset", pos).Msg("torn record at the log tail cut")
		}
		return pos, nil
	}
}

// Reject cuts the recovered log at pos, the start of a record that passed verification
// but that the store found inconsistent while re-dispatching it (its queue offset does
// not follow its queue's: the v1 record has no checksum over its header fields). The
// rule is Recover's: a record at or past o.Flushed with nothing valid after it is a torn
// tail and is cut; otherwise it is corruption, refused with an error naming the file
// and offset unless o.TruncateOnCorruption. Only before Start.
func (l *Log) Reject(pos int64, why error, o RecoverOptions) (RecoverResult, error) {
	res := RecoverResult{CutAt: pos, CutReason: why.Error(), End: pos}
	seg := l.files.Find(pos)
	if seg == nil || pos >= l.written.Load() {
		return res, fmt.Errorf("commitlog: reject %d: not a record of the log", pos)
	}
	if after, hasAfter := l.findValidAfter(pos); pos < o.Flushed || hasAfter {
		what := fmt.Sprintf("a valid record follows at %d", after)
		if pos < o.Flushed {
			what = fmt.Sprintf("it lies below the checkpoint's flushed offset %d", o.Flushed)
		}
		if !o.TruncateOnCorruption {
			return res, fmt.Errorf("%w: commitlog segment %s, offset %d (byte %d of the file): %v; %s. "+
				"Refusing to open: set truncateOnCorruption to cut the log there and lose what follows",
				segment.ErrCorrupt, seg.Path(), pos, pos-seg.Start(), why, what)
		}
		res.Corruption = true
		l.log.Error().Err(why).Str("segment", seg.Path()).Int64("offset", pos).Str("reason", what).
			Msg("inconsistent commitlog record; truncating as configured")
	} else {
		l.log.Warn().Err(why).Str("segment", seg.Path()).Int64("offset", pos).Msg("inconsistent record at the log tail cut")
	}
	if err := l.cut(pos, &res); err != nil {
		return res, err
	}
	l.setEnd(pos, l.files.Find(pos), min(l.fl.flushed.Load(), pos))
	return res, nil
}

var magicV1 = binary.BigEndian.AppendUint32(nil, message.MagicV1)

// findValidAfter looks for any valid record that starts after pos: in the rest of pos's
// segment (a record whose PHYSICALOFFSET names its own position and whose CRC holds), or
// at the start of any later segment.
func (l *Log) findValidAfter(pos int64) (int64, bool) {
	seg := l.files.Find(pos)
	if seg == nil {
		return 0, false
	}
	data := seg.Bytes()
	for _, r := range seg.DataRanges(pos - seg.Start() + 1) {
		from := r[0]
		for from < r[1] {
			i := bytes.Index(data[from:r[1]], magicV1)
			if i < 0 {
				break
			}
			at := from + int64(i) - 4 // the magic follows TOTALSIZE
			from += int64(i) + 1
			if at <= pos-seg.Start() {
				continue
			}
			if validAt(data[at:], seg.Start()+at) {
				return seg.Start() + at, true
			}
		}
	}
	for _, f := range l.files.Files() {
		if f.Start() > seg.Start() && validAt(f.Bytes(), f.Start()) {
			return f.Start(), true
		}
	}
	return 0, false
}

func validAt(b []byte, pos int64) bool {
	_, err := message.VerifyRecord(b)
	return err == nil && message.RecordPhysicalOffset(b) == pos
}

// cut makes end the log's end: the rest of its segment is zeroed and later segments are
// removed.
func (l *Log) cut(end int64, res *RecoverResult) error {
	for last := l.files.Last(); last != nil && last.Start() > end; last = l.files.Last() {
		l.files.RemoveLast()
		removeFile(last)
		res.RemovedSegments++
	}
	seg := l.files.Find(end)
	if seg == nil {
		return nil
	}
	rel := end - seg.Start()
	seg.ZeroFrom(rel)
	if err := seg.Sync(rel, seg.Size()); err != nil {
		return fmt.Errorf("commitlog: sync cut: %w", err)
	}
	return nil
}
