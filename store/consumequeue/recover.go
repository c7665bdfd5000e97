package consumequeue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// RecoverStats says what Open found in one queue's files.
type RecoverStats struct {
	Units        int64 // units kept (Max - Min)
	TrimmedUnits int64 // units removed because they were past the trusted offset or torn
	RemovedFiles int   // files removed (torn creations, or wholly trimmed)
}

// Open loads the existing queue in Dir(root, topic, queueID) and recovers its end.
//
// Units for records below trusted are known durable (they were msync'd before the
// checkpoint that vouches for trusted was written), so they are kept as they are. Every
// unit past the first all-zero unit, and every unit from the end backwards whose record
// starts at or past trusted or which has no size, is removed and zeroed: the dispatcher
// rebuilds them from the CommitLog, starting at trusted. After a process kill this drops
// units that were perfectly fine; it is what makes a torn file after a machine crash safe,
// without a per-unit checksum.
func Open(root, topic string, queueID int32, unitsPerFile int64, trusted int64, grave *segment.Grave) (*Queue, RecoverStats, error) {
	q := Create(root, topic, queueID, unitsPerFile, grave)
	var st RecoverStats
	dir := q.files.Dir()
	starts, err := segment.List(dir)
	if err != nil {
		return nil, st, err
	}
	for i, start := range starts {
		if start%q.fileBytes != 0 {
			q.files.Close()
			return nil, st, fmt.Errorf("%w: consume queue file %s is not at a file boundary",
				segment.ErrCorrupt, filepath.Join(dir, segment.Name(start)))
		}
		f, err := segment.Open(dir, start, q.fileBytes)
		if err != nil && i == len(starts)-1 && errors.Is(err, segment.ErrCorrupt) {
			// A file that was being created when the process died: fallocate had not
			// finished, so no unit was ever written to it.
			if rerr := os.Remove(filepath.Join(dir, segment.Name(start))); rerr != nil {
				q.files.Close()
				return nil, st, fmt.Errorf("consumequeue: remove torn file: %w", rerr)
			}
			st.RemovedFiles++
			break
		}
		if err != nil {
			q.files.Close()
			return nil, st, fmt.Errorf("consumequeue: %s/%d: %w", topic, queueID, err)
		}
		if err := q.files.Append(f); err != nil {
			f.Close()
			q.files.Close()
			return nil, st, fmt.Errorf("%w: consume queue %s: %v", segment.ErrCorrupt, dir, err)
		}
	}
	if q.files.Len() == 0 {
		return q, st, nil
	}
	q.recoverBounds(trusted, &st)
	q.flushed = q.max.Load() * UnitSize
	return q, st, nil
}

// recoverBounds sets min and max from the file contents and trims the untrusted tail.
func (q *Queue) recoverBounds(trusted int64, st *RecoverStats) {
	first := q.files.First()
	firstOff := first.Start() / UnitSize
	// A queue may start in the middle of its first file (it was created at a queue offset
	// past 0): the units before its start were never written and are all zero.
	// A file holding no unit at all (created just before the process died) leaves the
	// queue empty at the file's start.
	min := firstOff
	for end := first.End() / UnitSize; min < end; min++ {
		if u, _ := q.unitAt(min); !u.isZero() {
			break
		}
	}
	if min == first.End()/UnitSize {
		min = firstOff
	}
	last := q.files.Last()
	from := max(last.Start()/UnitSize, min)
	end := from
	prev := int64(-1)
	for limit := last.End() / UnitSize; end < limit; end++ {
		u, _ := q.unitAt(end)
		if u.isZero() || u.Offset < prev {
			break
		}
		prev = u.Offset
	}
	// Trim backwards: units of records at or past trusted, and units without a size
	// (torn across a page boundary, the tail part lost).
	for end > min {
		u, _ := q.unitAt(end - 1)
		if u.Offset < trusted && u.Size > 0 {
			break
		}
		end--
		st.TrimmedUnits++
	}
	// Everything from end on is erased, so that a later recovery cannot mistake stale
	// units for live ones.
	pos := end * UnitSize
	for f := q.files.Last(); f != nil && f.Start() > pos && f.Start() > first.Start(); f = q.files.Last() {
		q.files.RemoveLast()
		f.Close()
		_ = f.Remove()
		st.RemovedFiles++
	}
	if f := q.files.Find(pos); f != nil {
		f.ZeroFrom(pos - f.Start())
	}
	if min > end {
		min = end
	}
	q.min.Store(min)
	q.max.Store(end)
	st.Units = end - min
	if end > min {
		u, _ := q.unitAt(end - 1)
		q.lastPhysEnd = u.Offset + int64(u.Size)
	}
}

// TrimFrom removes every unit whose record starts at or past phys (the CommitLog was cut
// there). Writer only, with no concurrent readers expected to need the removed units.
func (q *Queue) TrimFrom(phys int64) int64 {
	var st RecoverStats
	if q.files.Len() == 0 {
		return 0
	}
	lo, hi := q.min.Load(), q.max.Load()
	end := hi
	for end > lo {
		u, _ := q.unitAt(end - 1)
		if u.Offset < phys {
			break
		}
		end--
		st.TrimmedUnits++
	}
	if end == hi {
		return 0
	}
	q.max.Store(end)
	pos := end * UnitSize
	if f := q.files.Find(pos); f != nil {
		f.ZeroFrom(pos - f.Start())
	}
	q.flushMu.Lock()
	q.flushed = min(q.flushed, pos)
	q.flushMu.Unlock()
	q.lastPhysEnd = 0
	if end > lo {
		u, _ := q.unitAt(end - 1)
		q.lastPhysEnd = u.Offset + int64(u.Size)
	}
	return st.TrimmedUnits
}

// AdvanceMin moves Min to the first unit whose record is at or past the CommitLog
// offset minPhys (after recovery, or when the log's head was deleted).
func (q *Queue) AdvanceMin(minPhys int64) { q.advanceMin(minPhys) }

// Ref names one queue found on disk.
type Ref struct {
	Topic   string
	QueueID int32
}

// List returns the queues stored under root (consumequeue/), sorted by topic then id.
// Entries that are not a topic directory holding queue-id directories are ignored.
func List(root string) ([]Ref, error) {
	topics, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("consumequeue: list %s: %w", root, err)
	}
	var refs []Ref
	for _, t := range topics {
		if !t.IsDir() {
			continue
		}
		ids, err := os.ReadDir(filepath.Join(root, t.Name()))
		if err != nil {
			return nil, fmt.Errorf("consumequeue: list %s: %w", t.Name(), err)
		}
		for _, id := range ids {
			if !id.IsDir() {
				continue
			}
			n, err := strconv.ParseInt(id.Name(), 10, 32)
			if err != nil || strconv.Itoa(int(n)) != id.Name() {
				continue
			}
			refs = append(refs, Ref{Topic: t.Name(), QueueID: int32(n)})
		}
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Topic != refs[j].Topic {
			return refs[i].Topic < refs[j].Topic
		}
		return refs[i].QueueID < refs[j].QueueID
	})
	return refs, nil
}
