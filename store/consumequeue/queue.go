package consumequeue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// UnitSize is the size of one ConsumeQueue unit: commitlog offset (8), record size (4),
// tags code (8).
const UnitSize = 20

// Errors of this package.
var (
	// ErrClosed reports use of a destroyed or closed queue.
	ErrClosed = errors.New("consumequeue: closed")
	// ErrGap reports a record whose queue offset is past the queue's end: the log and
	// the queue disagree, which only a damaged record causes.
	ErrGap = errors.New("consumequeue: queue offset gap")
	// ErrMismatch reports a record whose queue offset names a unit that points at
	// another record.
	ErrMismatch = errors.New("consumequeue: queue offset taken by another record")
)

// Unit is one ConsumeQueue entry: where the record of a logical offset lives in the
// CommitLog, its size, and the hash of its tags. Readers skip a unit of size 0 (none is
// written; one read back is damage that recovery had no reason to trim).
type Unit struct {
	Offset   int64 // CommitLog physical offset of the record
	Size     int32 // record size, > 0
	TagsCode int64 // TagsHash(TAGS), 0 without tags
}

// isZero reports an all-zero unit: never written.
func (u Unit) isZero() bool { return u.Offset == 0 && u.Size == 0 && u.TagsCode == 0 }

// Queue is the ConsumeQueue of one (topic, queue id): a dense array of units indexed by
// logical offset, stored in fixed-size files under consumequeue/<topic>/<queueId>/.
//
// One goroutine (the dispatcher) appends; any number read concurrently. Max is
// published after the unit is written, so a reader that loads Max and then reads units
// below it sees complete units. Retention (DeleteBefore) may run concurrently with both.
type Queue struct {
	topic     string
	queueID   int32
	fileBytes int64
	files     *segment.Set
	grave     *segment.Grave

	min atomic.Int64 // logical offset of the first live unit
	max atomic.Int64 // logical offset of the next unit to write

	lastPhysEnd int64 // writer only: offset+size of the last real unit
	populated   int64 // writer only: absolute byte position up to which pages were handed to a prefault (prefault.go); they may not all be in yet

	flushMu sync.Mutex
	flushed int64 // byte position (absolute) known msync'd
	// unsynced are the directories whose new entries (the queue's directories, its
	// files) Flush must fsync before it returns: they are created unsynced on the
	// writer's path (see makeDir). Guarded by flushMu.
	unsynced []string
	closed   atomic.Bool
}

// Dir returns the directory of the queue's files under root.
func Dir(root, topic string, queueID int32) string {
	return filepath.Join(root, topic, strconv.Itoa(int(queueID)))
}

// Create returns a new, empty queue whose files will live in Dir(root, topic, queueID).
// The directory is made when the first unit is written.
func Create(root, topic string, queueID int32, unitsPerFile int64, grave *segment.Grave) *Queue {
	fb := unitsPerFile * UnitSize
	return &Queue{
		topic:     topic,
		queueID:   queueID,
		fileBytes: fb,
		files:     segment.NewSet(Dir(root, topic, queueID), fb),
		grave:     grave,
	}
}

// Topic returns the queue's topic.
func (q *Queue) Topic() string { return q.topic }

// QueueID returns the queue's id.
func (q *Queue) QueueID() int32 { return q.queueID }

// Min returns the smallest logical offset still stored.
func (q *Queue) Min() int64 { return q.min.Load() }

// Max returns the logical offset the next unit will take: the count of units ever
// written, including those removed by retention.
func (q *Queue) Max() int64 { return q.max.Load() }

// Unit returns the unit at logical offset off; ok is false outside [Min, Max).
func (q *Queue) Unit(off int64) (u Unit, ok bool) {
	if off < q.min.Load() || off >= q.max.Load() {
		return Unit{}, false
	}
	return q.unitAt(off)
}

// unitAt reads the unit at off without range checks against min/max.
func (q *Queue) unitAt(off int64) (Unit, bool) {
	pos := off * UnitSize
	f := q.files.Find(pos)
	if f == nil {
		return Unit{}, false
	}
	b := f.Bytes()[pos-f.Start():]
	return Unit{
		Offset:   int64(binary.BigEndian.Uint64(b)),
		Size:     int32(binary.BigEndian.Uint32(b[8:])),
		TagsCode: int64(binary.BigEndian.Uint64(b[12:])),
	}, true
}

func putUnit(b []byte, u Unit) {
	binary.BigEndian.PutUint64(b, uint64(u.Offset))
	binary.BigEndian.PutUint32(b[8:], uint32(u.Size))
	binary.BigEndian.PutUint64(b[12:], uint64(u.TagsCode))
}

// LastPhysicalEnd returns the CommitLog offset just past the record of the last real unit
// written, 0 if none. Writer only.
func (q *Queue) LastPhysicalEnd() int64 { return q.lastPhysEnd }

// Append writes u at logical offset queueOffset, which must be Max: the log assigns
// queue offsets densely. A queueOffset below Max is a unit the queue already holds (a
// re-dispatch) and is skipped, written false, if the unit there points at the same
// record (ErrMismatch otherwise). Past Max it is ErrGap, except for a queue that has no
// file yet, which simply starts there (a store whose log starts after offset 0). Writer
// only.
func (q *Queue) Append(queueOffset int64, u Unit) (written bool, err error) {
	if q.closed.Load() {
		return false, ErrClosed
	}
	next := q.max.Load()
	switch {
	case queueOffset < next:
		if have, ok := q.Unit(queueOffset); ok && have.Offset != u.Offset {
			return false, fmt.Errorf("%w: %s/%d offset %d holds the record at %d, not %d",
				ErrMismatch, q.topic, q.queueID, queueOffset, have.Offset, u.Offset)
		}
		return false, nil
	case queueOffset > next:
		if q.files.Len() > 0 || next != q.min.Load() {
			return false, fmt.Errorf("%w: %s/%d ends at %d, the record at %d says %d",
				ErrGap, q.topic, q.queueID, next, u.Offset, queueOffset)
		}
		q.min.Store(queueOffset)
		q.max.Store(queueOffset)
		next = queueOffset
	}
	if err := q.write(next, u); err != nil {
		return false, err
	}
	q.lastPhysEnd = u.Offset + int64(u.Size)
	q.max.Store(next + 1)
	return true, nil
}

// write stores u at logical offset off, creating the file that holds it if needed.
func (q *Queue) write(off int64, u Unit) error {
	pos := off * UnitSize
	f := q.files.Last()
	if f == nil || pos >= f.End() {
		var err error
		if f, err = q.newFile(pos - pos%q.fileBytes); err != nil {
			return err
		}
	}
	if pos < f.Start() {
		return fmt.Errorf("consumequeue: %s/%d: write at %d before last file %s", q.topic, q.queueID, off, f.Path())
	}
	if pos+UnitSize > q.populated {
		q.populated = f.Start() + prefault(f, pos-f.Start())
	}
	putUnit(f.Bytes()[pos-f.Start():], u)
	return nil
}

func (q *Queue) newFile(start int64) (*segment.File, error) {
	if q.files.Len() == 0 {
		if err := q.makeDir(); err != nil {
			return nil, err
		}
	}
	if last := q.files.Last(); last != nil && last.End() != start {
		return nil, fmt.Errorf("%w: %s/%d: next file at %d, last ends at %d", ErrGap, q.topic, q.queueID, start, last.End())
	}
	f, err := segment.CreateUnsynced(q.files.Dir(), start, q.fileBytes)
	if err != nil {
		return nil, fmt.Errorf("consumequeue: %s/%d: %w", q.topic, q.queueID, err)
	}
	if err := q.files.Append(f); err != nil {
		f.Close()
		return nil, err
	}
	q.syncLater(q.files.Dir())
	return f, nil
}

// syncLater records dirs for the next Flush to fsync.
func (q *Queue) syncLater(dirs ...string) {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	for _, d := range dirs {
		if !slices.Contains(q.unsynced, d) {
			q.unsynced = append(q.unsynced, d)
		}
	}
}

// makeDir creates the queue's directory. Its name must be durable before the checkpoint
// vouches for units in it (a crash must not lose the directory entry, which fsyncing
// the file alone does not guarantee), but not sooner: the directories, like the file's
// entry (newFile), are fsynced by the next Flush, which the checkpoint runs before it
// writes. Syncing them here, on the dispatch path, held up the first message of every
// new queue (and every answer and parked pull behind it) by three directory fsyncs,
// 0.7–3.7 ms on the reference machine (docs/architecture.md §8).
func (q *Queue) makeDir() error {
	dir := q.files.Dir()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("consumequeue: %w", err)
	}
	topicDir := filepath.Dir(dir)
	q.syncLater(filepath.Dir(topicDir), topicDir)
	return nil
}

// syncDirsLocked fsyncs the directories syncLater recorded; flushMu is held. A
// directory that failed stays recorded, so the next Flush tries it again.
func (q *Queue) syncDirsLocked() error {
	for len(q.unsynced) > 0 {
		if err := segment.SyncDir(q.unsynced[0]); err != nil {
			return fmt.Errorf("consumequeue: flush %s/%d: %w", q.topic, q.queueID, err)
		}
		q.unsynced = q.unsynced[1:]
	}
	q.unsynced = nil
	return nil
}

// Flush msyncs every unit written so far, and first fsyncs the directories holding new
// entries of the queue (makeDir, newFile), so the units it vouches for survive a crash
// with their files. It may run concurrently with Append. After a failed msync the file
// is sticky-failed and Flush keeps failing.
func (q *Queue) Flush() error {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	if q.closed.Load() {
		return nil
	}
	target := q.max.Load() * UnitSize
	if err := q.syncDirsLocked(); err != nil {
		return err
	}
	for q.flushed < target {
		f := q.files.Find(q.flushed)
		if f == nil {
			// Removed by retention (or before the first file): nothing to flush there.
			first := q.files.First()
			if first == nil || first.Start() <= q.flushed {
				return nil
			}
			q.flushed = first.Start()
			continue
		}
		end := min(target, f.End())
		if err := f.Sync(q.flushed-f.Start(), end-f.Start()); err != nil {
			return fmt.Errorf("consumequeue: flush %s/%d: %w", q.topic, q.queueID, err)
		}
		q.flushed = end
	}
	return nil
}

// DeleteBefore removes the queue's files whose every unit points below the CommitLog
// offset minPhys and advances Min to the first unit at or past it. The file being
// written is never removed. It returns the number of files removed.
func (q *Queue) DeleteBefore(minPhys int64, now time.Time) int {
	removed := 0
	for q.files.Len() > 1 {
		f := q.files.First()
		lastOff := f.End()/UnitSize - 1
		u, ok := q.unitAt(lastOff)
		if !ok || u.Offset >= minPhys {
			break
		}
		q.min.Store(max(q.min.Load(), f.End()/UnitSize))
		q.files.RemoveFirst()
		_ = q.grave.Bury(f, now)
		removed++
	}
	q.advanceMin(minPhys)
	return removed
}

// advanceMin moves Min forward to the first unit whose record is at or past minPhys,
// by binary search: units are ordered by CommitLog offset.
func (q *Queue) advanceMin(minPhys int64) {
	lo, hi := q.min.Load(), q.max.Load()
	if lo >= hi {
		return
	}
	if u, ok := q.unitAt(lo); ok && u.Offset >= minPhys {
		return
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		u, ok := q.unitAt(mid)
		if ok && u.Offset >= minPhys {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	q.min.Store(lo)
}

// Destroy takes the queue out of service: its files are buried (unlinked now, unmapped
// after the grave's grace) and its directory removed.
func (q *Queue) Destroy(now time.Time) error {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	q.closed.Store(true)
	for f := q.files.RemoveFirst(); f != nil; f = q.files.RemoveFirst() {
		_ = q.grave.Bury(f, now)
	}
	if err := os.RemoveAll(q.files.Dir()); err != nil {
		return fmt.Errorf("consumequeue: destroy %s/%d: %w", q.topic, q.queueID, err)
	}
	return nil
}

// Close unmaps the queue's files.
func (q *Queue) Close() error {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	q.closed.Store(true)
	return q.files.Close()
}
