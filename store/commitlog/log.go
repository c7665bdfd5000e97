package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Errors of the log. Their text starts with "store:" because the store returns them to
// its callers unchanged.
var (
	// ErrClosed reports use of a closed log.
	ErrClosed = errors.New("store: closed")
	// ErrWriteFailed reports a log that refuses writes after a failed write or msync.
	ErrWriteFailed = errors.New("store: write failed")
	// ErrFlushTimeout reports a flush that did not complete within the sync flush timeout.
	ErrFlushTimeout = errors.New("store: flush timeout")
	// ErrTooLarge reports records that cannot fit one segment.
	ErrTooLarge = errors.New("store: message too large")
	// ErrNoRecord reports a physical offset where no record starts.
	ErrNoRecord = errors.New("store: no record at offset")
)

// Options configures a Log.
type Options struct {
	Dir              string        // the commitlog directory
	SegmentBytes     int64         // size of every segment file
	SyncFlush        bool          // group commit on every append instead of periodic flushes
	FlushInterval    time.Duration // period of the background flush
	SyncFlushTimeout time.Duration // OnFlushed gives up with ErrFlushTimeout after this
	Now              func() time.Time
	Logger           zerolog.Logger
	Grave            *segment.Grave
	// Notify is called after every append, outside the lock (the store wakes its
	// dispatcher with it). It must not block.
	Notify func()
}

// Log is the CommitLog: every record of every topic, appended by one writer at a time
// into a run of preallocated, mapped segment files.
type Log struct {
	o     Options
	files *segment.Set
	log   zerolog.Logger

	mu struct {
		sync.Mutex
		active *segment.File
		wpos   int64 // absolute write position
		failed error
		closed bool
		topics map[string]*topicState
		puts   int64
		bytes  int64
		// The staged run under SYNC_FLUSH (stage.go): records stamped, headers
		// zeroed, not yet written to the file; the flusher writes it each round.
		wbuf     []byte
		heads    []uint64 // the staged records' headers, in order
		stageSeg *segment.File
		stageRel int64 // where wbuf goes in stageSeg
	}
	written atomic.Int64 // published write position: records below it are complete

	staged atomic.Int64 // under SYNC_FLUSH: end of the records appended, written or not

	// cuts counts the times the log's end moved back (a truncation, a replica's
	// reset): what a Reader read ahead before one may not be the log any more.
	cuts atomic.Int64

	fl        flusher
	prep      preparer
	wg        sync.WaitGroup
	stop      chan struct{}
	closeOnce sync.Once
}

// topicState is the append-side state of one topic: the next queue offset of each of
// its queues and how many records it received.
type topicState struct {
	queues map[int32]int64
	puts   int64
}

// New returns a log over o.Dir that has not been recovered yet; call Recover, then
// Start.
func New(o Options) *Log {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Grave == nil {
		o.Grave = segment.NewGrave(time.Minute)
	}
	if o.Notify == nil {
		o.Notify = func() {}
	}
	l := &Log{
		o:     o,
		files: segment.NewSet(o.Dir, o.SegmentBytes),
		log:   o.Logger.With().Str("component", "commitlog").Logger(),
		stop:  make(chan struct{}),
	}
	l.mu.topics = make(map[string]*topicState)
	l.fl.init()
	l.prep.init()
	return l
}

// Start launches the flusher, the flush-timeout sweeper and the segment preparer, and
// has the preparer get the pages ahead of the recovered end ready at once rather than
// on the first append (prepare.go: priming).
func (l *Log) Start() {
	l.wg.Add(3)
	go l.flushLoop()
	go l.sweepLoop()
	l.prep.wake()
	go l.prepareLoop()
}

// SegmentBytes returns the size of every segment.
func (l *Log) SegmentBytes() int64 { return l.o.SegmentBytes }

// Written returns the offset just past the last complete record: readers may read any
// record below it.
//
// Under SYNC_FLUSH appended records are staged and written to the file once per flush
// round (stage.go); Written first writes what is staged, so that a caller that
// appended and then asks sees its records, exactly as if they had been written at once.
func (l *Log) Written() int64 {
	if l.staged.Load() > l.written.Load() {
		// A failed write fails the log; readers go on reading what was written.
		_ = l.commit()
	}
	return l.written.Load()
}

// Published returns the offset just past the last record in the file, without first
// writing what is staged as Written does: for the store's background readers (the
// dispatcher, the indexer), which whoever writes a staged run wakes once it is in
// (commit). Under SYNC_FLUSH a background reader that wrote the run itself would do so
// while the producers of the next round append, holding the lock they append under
// across the run's two pwrites and splitting the round's write in two.
func (l *Log) Published() int64 { return l.written.Load() }

// writtenThrough returns the written end, after writing what is staged if end lies
// past the written end and something is staged: a read by offset right after the append
// finds the record, as Written's callers do.
func (l *Log) writtenThrough(end int64) int64 {
	if w := l.written.Load(); end <= w || l.staged.Load() <= w {
		return w
	}
	return l.Written()
}

// Flushed returns the offset through which the log is known to be on disk.
func (l *Log) Flushed() int64 { return l.fl.flushed.Load() }

// Min returns the offset of the first byte still stored (the first segment's start).
func (l *Log) Min() int64 {
	if f := l.files.First(); f != nil {
		return f.Start()
	}
	return 0
}

// Segments returns the current segment files, oldest first. The slice must not be
// modified.
func (l *Log) Segments() []*segment.File { return l.files.Files() }

// Err returns the sticky failure of the log, nil while it accepts writes.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.failed
}

// Append copies recs — count records encoded back to back, all of topic and queueID,
// already verified by the caller — into the log as one unit: they land in one segment,
// with consecutive queue offsets when advance is true (queue offset 0 and no advance
// otherwise, for prepared and rolled back transaction records). The store timestamp,
// queue offsets and physical offsets are patched in the mapping, so recs itself is not
// modified and is copied exactly once.
func (l *Log) Append(recs []byte, count int, topic []byte, queueID int32, advance bool) (Result, error) {
	if err := l.fits(int64(len(recs))); err != nil {
		return Result{}, err
	}
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return Result{}, err
	}
	before := l.written.Load()
	seg, rel, r, err := l.appendLocked(Unit{Recs: recs, Count: count, Topic: topic, QueueID: queueID, Advance: advance}, l.o.Now().UnixMilli())
	if err != nil {
		l.failedUnlock(before)
		return Result{}, err
	}
	l.mu.puts += int64(count)
	l.mu.bytes += int64(len(recs))
	l.wakeUnlock(seg, rel)
	return r, nil
}

// Unit is one append of AppendMany: what Append takes as arguments.
type Unit struct {
	Recs    []byte // count records back to back, verified by the caller
	Count   int
	Topic   []byte
	QueueID int32
	Advance bool
}

// AppendMany appends units in order under one hold of the lock, with one wake of the
// dispatcher (and, under SYNC_FLUSH, of the flusher) for all of them: the event loop
// hands over every send frame of one read this way. Each unit is appended as Append
// would append it; a unit that fails gets its error in errs[i] and does not fail the
// others (a closed or failed log fails every unit from there on). res and errs must
// have len(units) elements.
func (l *Log) AppendMany(units []Unit, res []Result, errs []error) {
	l.mu.Lock()
	var (
		seg      *segment.File
		rel      int64
		appended bool
	)
	ts := l.o.Now().UnixMilli()
	before := l.written.Load()
	for i, u := range units {
		s, r, out, err := l.appendCountedLocked(u, ts)
		if res[i], errs[i] = out, err; err == nil {
			seg, rel, appended = s, r, true
		}
	}
	if !appended {
		l.failedUnlock(before)
		return
	}
	l.wakeUnlock(seg, rel)
}

// failedUnlock ends an append that appended nothing, with l.mu held. Under
// SYNC_FLUSH a unit that had to roll to the next segment first wrote the run others
// had staged (appendLocked) before the roll failed: then the log's end moved past
// before, and the store is told, as commit tells it, so that those records become
// readable now rather than at the next append that succeeds, which a full disk may
// put off indefinitely.
func (l *Log) failedUnlock(before int64) {
	wrote := l.written.Load() != before
	l.mu.Unlock()
	if wrote {
		l.o.Notify()
	}
}

// appendCountedLocked is one unit of a batch appended under l.mu: refused if it cannot
// fit or the log is not writable, appended and counted otherwise.
func (l *Log) appendCountedLocked(u Unit, ts int64) (*segment.File, int64, Result, error) {
	if err := l.fits(int64(len(u.Recs))); err != nil {
		return nil, 0, Result{}, err
	}
	if err := l.writableLocked(); err != nil {
		return nil, 0, Result{}, err
	}
	seg, rel, r, err := l.appendLocked(u, ts)
	if err != nil {
		return nil, 0, Result{}, err
	}
	l.mu.puts += int64(u.Count)
	l.mu.bytes += int64(len(u.Recs))
	return seg, rel, r, nil
}

// fits refuses n bytes of records that cannot fit one segment.
func (l *Log) fits(n int64) error {
	if n+message.MinBlankSize > l.o.SegmentBytes {
		return fmt.Errorf("%w: %d bytes do not fit a %d-byte segment", ErrTooLarge, n, l.o.SegmentBytes)
	}
	return nil
}

// appendLocked copies one unit into the log with l.mu held and the log writable, with
// store timestamp ts, and publishes its end to readers (l.written). It returns the
// segment written and the relative position just past the unit.
func (l *Log) appendLocked(u Unit, ts int64) (*segment.File, int64, Result, error) {
	count, n := u.Count, int64(len(u.Recs))
	seg := l.mu.active
	rel := l.mu.wpos - seg.Start()
	if rel+n+message.MinBlankSize > l.o.SegmentBytes {
		// The run staged in seg goes to the file before seg is closed with a blank.
		if _, err := l.commitLocked(); err != nil {
			return nil, 0, Result{}, err
		}
		var err error
		if seg, err = l.rollLocked(seg, rel); err != nil {
			return nil, 0, Result{}, err
		}
		rel = 0
	}
	t := l.mu.topics[string(u.Topic)]
	if t == nil {
		t = &topicState{queues: make(map[int32]int64)}
		l.mu.topics[string(u.Topic)] = t
	}
	qo := int64(0)
	if u.Advance {
		qo = t.queues[u.QueueID]
	}
	pos := l.mu.wpos
	if l.o.SyncFlush {
		// Written to the file and published by the flusher (commitLocked), or here
		// once maxWriteBuf is staged: a stalled flusher does not grow the buffer.
		if len(l.mu.wbuf) > 0 && int64(len(l.mu.wbuf))+n > maxWriteBuf {
			if _, err := l.commitLocked(); err != nil {
				return nil, 0, Result{}, err
			}
		}
		l.stageLocked(seg, rel, u, qo, pos, ts)
	} else {
		l.copyInLocked(seg, rel, u, qo, pos, ts)
	}
	if u.Advance {
		t.queues[u.QueueID] = qo + int64(count)
	}
	t.puts += int64(count)
	end := pos + n
	l.mu.wpos = end
	if l.o.SyncFlush {
		l.staged.Store(end)
	} else {
		l.written.Store(end)
	}
	return seg, rel + n, Result{PhysicalOffset: pos, QueueOffset: qo, Count: count, StoreTimestamp: ts, EndOffset: end}, nil
}

// copyInLocked copies u's records into the mapping of seg at rel, stamping each with its
// queue offset (from qo), physical offset (from pos) and store timestamp ts. The
// ASYNC_FLUSH write path: a copy into mapped, pre-faulted pages costs no system call.
func (l *Log) copyInLocked(seg *segment.File, rel int64, u Unit, qo, pos, ts int64) {
	recs, count, n := u.Recs, u.Count, int64(len(u.Recs))
	l.prep.ensureLocked(seg, rel, n)
	dst := seg.Bytes()[rel : rel+n]
	// Each record's first 8 bytes (TOTALSIZE and MAGICCODE) are written after the rest
	// of it and after the records before it: a process killed part-way through leaves
	// a prefix of whole records followed by records without a header, which recovery
	// cuts as a torn tail, never a record whose unprotected fields (properties) were
	// only half copied.
	for i, off := 0, 0; i < count; i++ {
		size := int(binary.BigEndian.Uint32(recs[off:]))
		copy(dst[off+headerLen:off+size], recs[off+headerLen:off+size])
		q := int64(0)
		if u.Advance {
			q = qo + int64(i)
		}
		message.PatchRecord(dst[off:off+size], q, pos+int64(off), ts)
		off += size
	}
	for i, off := 0, 0; i < count; i++ {
		size := int(binary.BigEndian.Uint32(recs[off:]))
		copy(dst[off:off+headerLen], recs[off:off+headerLen])
		off += size
	}
}

// maxWriteBuf bounds the staging buffer under SYNC_FLUSH: past it an append writes what
// is staged itself, and a buffer grown beyond it by one large batch is not kept.
const maxWriteBuf = 1 << 20

// publishUnlock ends an append of count records, n bytes copied at rel into the active
// segment seg, with l.mu held: it counts them, publishes the new write position to
// readers and ends as wakeUnlock.
func (l *Log) publishUnlock(seg *segment.File, rel, n int64, count int) {
	end := seg.Start() + rel + n
	l.mu.puts += int64(count)
	l.mu.bytes += n
	l.mu.wpos = end
	l.written.Store(end)
	l.wakeUnlock(seg, rel+n)
}

// wakeUnlock ends an append whose last record ended at rel in the active segment seg,
// with l.mu held: it tells the preparer how far seg is filled and releases l.mu; then
// it wakes the store's dispatcher unless the records are only staged, and, under
// SYNC_FLUSH, the flusher.
func (l *Log) wakeUnlock(seg *segment.File, rel int64) {
	l.prep.noteLocked(l, seg, rel)
	// Staged records are not readable yet: whoever writes them wakes the dispatcher
	// (commit), and the flusher, woken here, does so at the start of its round.
	staged := l.staged.Load() > l.written.Load()
	l.mu.Unlock()
	if !staged {
		l.o.Notify()
	}
	if l.o.SyncFlush {
		l.fl.kickFlush()
	}
}

// headerLen is the part of a record written last: TOTALSIZE and MAGICCODE.
const headerLen = 8

// Result describes an append.
type Result struct {
	PhysicalOffset int64 // of the first record
	QueueOffset    int64 // of the first record (0 when the queue does not advance)
	Count          int
	StoreTimestamp int64 // ms
	EndOffset      int64 // just past the last record
}

func (l *Log) writableLocked() error {
	if l.mu.closed {
		return ErrClosed
	}
	if l.mu.failed != nil {
		return l.mu.failed
	}
	if l.mu.active == nil {
		return fmt.Errorf("%w: log not recovered", ErrClosed)
	}
	return nil
}

// rollLocked closes the active segment with a blank from rel to its end and makes the
// next segment active.
func (l *Log) rollLocked(seg *segment.File, rel int64) (*segment.File, error) {
	next, err := l.prep.take(l, seg.End())
	if err != nil {
		// Nothing was written: the failure is not sticky, a later append retries.
		return nil, fmt.Errorf("store: roll to segment %s: %w", segment.Name(seg.End()), err)
	}
	l.awaitZerosLocked(seg, seg.Start()+rel, seg.End())
	message.EncodeBlank(seg.Bytes()[rel:])
	l.mu.active = next
	l.mu.wpos = next.Start()
	l.log.Debug().Str("segment", next.Path()).Msg("segment rolled")
	return next, nil
}

// failLocked makes the log sticky-failed.
func (l *Log) failLocked(err error) {
	if l.mu.failed == nil {
		l.mu.failed = fmt.Errorf("%w: %v", ErrWriteFailed, err)
		l.log.Error().Err(err).Msg("commitlog failed; writes refused")
	}
}

// At returns the record that starts at pos (a slice of the mapping, valid until the
// segment is unmapped) and the offset of the next record. A blank at pos returns a nil
// record and the next segment's start. pos must be below Written.
func (l *Log) At(pos int64) (rec []byte, next int64, err error) {
	seg := l.files.Find(pos)
	if seg == nil {
		return nil, 0, fmt.Errorf("%w %d: no segment holds it", ErrNoRecord, pos)
	}
	b := seg.Bytes()[pos-seg.Start():]
	if len(b) < message.MinBlankSize {
		return nil, 0, fmt.Errorf("%w: %d bytes left in segment %s at %d", segment.ErrCorrupt, len(b), seg.Path(), pos)
	}
	size := int64(int32(binary.BigEndian.Uint32(b)))
	switch binary.BigEndian.Uint32(b[4:]) {
	case message.MagicBlank:
		return nil, seg.End(), nil
	case message.MagicV1:
		if size < message.FixedOverheadV4 || size > int64(len(b)) {
			return nil, 0, fmt.Errorf("%w: record size %d in segment %s at %d", segment.ErrCorrupt, size, seg.Path(), pos)
		}
		return b[:size:size], pos + size, nil
	default:
		return nil, 0, fmt.Errorf("%w: bad magic in segment %s at %d", segment.ErrCorrupt, seg.Path(), pos)
	}
}

// Slice returns the size bytes at pos if they lie inside one segment below Written and
// start with a v1 record of exactly that size (a ConsumeQueue unit's claim checked
// cheaply); ok is false otherwise (removed by retention, or a unit that does not match).
func (l *Log) Slice(pos int64, size int32) (b []byte, ok bool) {
	if size < message.FixedOverheadV4 || pos+int64(size) > l.writtenThrough(pos+int64(size)) {
		return nil, false
	}
	seg := l.files.Find(pos)
	if seg == nil {
		return nil, false
	}
	rel := pos - seg.Start()
	if rel+int64(size) > seg.Size() {
		return nil, false
	}
	b = seg.Bytes()[rel : rel+int64(size) : rel+int64(size)]
	if int32(binary.BigEndian.Uint32(b)) != size || binary.BigEndian.Uint32(b[4:]) != message.MagicV1 {
		return nil, false
	}
	return b, true
}

// Record returns the record that starts at the physical offset pos. The record must
// carry pos as its PHYSICALOFFSET, so an offset into the middle of a record is refused.
func (l *Log) Record(pos int64) ([]byte, error) {
	if pos < l.Min() || pos >= l.writtenThrough(pos+1) {
		return nil, fmt.Errorf("%w %d: outside [%d, %d)", ErrNoRecord, pos, l.Min(), l.written.Load())
	}
	seg := l.files.Find(pos)
	if seg == nil {
		return nil, fmt.Errorf("%w %d: segment removed", ErrNoRecord, pos)
	}
	b := seg.Bytes()[pos-seg.Start():]
	if len(b) < message.FixedOverheadV4 || binary.BigEndian.Uint32(b[4:]) != message.MagicV1 {
		return nil, fmt.Errorf("%w %d", ErrNoRecord, pos)
	}
	size := int64(int32(binary.BigEndian.Uint32(b)))
	if size < message.FixedOverheadV4 || size > int64(len(b)) || pos+size > l.written.Load() ||
		message.RecordPhysicalOffset(b) != pos {
		return nil, fmt.Errorf("%w %d", ErrNoRecord, pos)
	}
	return b[:size:size], nil
}

// Counters returns the records and bytes appended since the log was opened, and a copy
// of the per-topic record counts.
func (l *Log) Counters() (puts, bytes int64, topics map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	topics = make(map[string]int64, len(l.mu.topics))
	for name, t := range l.mu.topics {
		if t.puts > 0 {
			topics[name] = t.puts
		}
	}
	return l.mu.puts, l.mu.bytes, topics
}

// SetQueueOffset sets the next queue offset of (topic, queueID). Recovery calls it with
// each ConsumeQueue's max once the queues are rebuilt.
func (l *Log) SetQueueOffset(topic string, queueID int32, next int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.mu.topics[topic]
	if t == nil {
		t = &topicState{queues: make(map[int32]int64)}
		l.mu.topics[strings.Clone(topic)] = t
	}
	t.queues[queueID] = next
}

// QueueOffset returns the next queue offset of (topic, queueID).
func (l *Log) QueueOffset(topic string, queueID int32) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.mu.topics[topic]; t != nil {
		return t.queues[queueID]
	}
	return 0
}

// Exclusive runs fn while no append can run. The store deletes a topic's queues inside
// it so that no record of the topic is appended half-way.
//
// Records staged under SYNC_FLUSH are written to the file first, so that fn sees (and
// can wait for the dispatch of) everything appended before it.
func (l *Log) Exclusive(fn func() error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.failed != nil {
		// A failed write dropped what was staged, which stays counted past the
		// written end: fn's reads of the end (Written) would try to write it, under
		// the lock held here.
		return l.mu.failed
	}
	if wrote, err := l.commitLocked(); err != nil {
		return err
	} else if wrote {
		l.o.Notify()
	}
	return fn()
}

// ForgetTopicLocked drops the queue offsets of topic; the next record of the topic
// starts its queues at 0 again. Call it only inside Exclusive.
func (l *Log) ForgetTopicLocked(topic string) {
	delete(l.mu.topics, topic)
}

// Seal refuses every later append with ErrClosed. Reads and flushes keep working until
// Close.
func (l *Log) Seal() {
	l.mu.Lock()
	l.mu.closed = true
	l.mu.Unlock()
}

// Close seals the log, flushes everything appended, stops the background goroutines and
// unmaps the segments. Slices returned by At, Slice and Record are invalid afterwards.
func (l *Log) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.Seal()
		err = l.Flush()
		l.shutdown()
	})
	return err
}

// Abandon does what Close does except the flush, leaving the files as a killed process
// would. Tests use it to simulate a crash.
func (l *Log) Abandon() {
	l.closeOnce.Do(func() {
		l.Seal()
		l.shutdown()
	})
}

func (l *Log) shutdown() {
	close(l.stop)
	l.wg.Wait()
	l.fl.failAll(ErrClosed)
	l.prep.discard()
	_ = l.files.Close()
}

// DeleteHead removes the oldest segments for which expired returns true, oldest first,
// stopping at the first that is kept. The active segment is never removed. Removed
// segments are buried (unmapped after the grave's grace). It returns the new Min.
func (l *Log) DeleteHead(now time.Time, expired func(seg *segment.File, next *segment.File) bool) (removed []string, newMin int64) {
	for {
		fs := l.files.Files()
		if len(fs) < 2 {
			break
		}
		l.mu.Lock()
		active := l.mu.active
		l.mu.Unlock()
		if fs[0] == active || !expired(fs[0], fs[1]) {
			break
		}
		f := l.files.RemoveFirst()
		if err := l.o.Grave.Bury(f, now); err != nil {
			l.log.Warn().Err(err).Str("segment", f.Path()).Msg("remove segment")
		}
		removed = append(removed, f.Path())
		l.log.Info().Str("segment", f.Path()).Msg("segment deleted")
	}
	return removed, l.Min()
}

// removeFile deletes a segment file that was never part of the set.
func removeFile(f *segment.File) {
	path := f.Path()
	f.Close()
	_ = os.Remove(path)
}
