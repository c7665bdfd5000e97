package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rocketgo/rocketgo/store/commitlog"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/consumequeue"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Arrival tells subscribers that a ConsumeQueue grew by one unit.
type Arrival struct {
	Topic          string
	QueueID        int32
	MaxOffset      int64 // the queue's max after the append: the new unit's offset + 1
	TagsCode       int64
	StoreTimestamp int64 // ms
}

// Projection is a structure built from the CommitLog (timer index, half messages...).
// The dispatcher feeds it every record in log order, one record at a time (on the
// dispatcher goroutine, or under ASYNC_FLUSH on an appender's: dispatch_inline.go), and
// remembers how far it fed it; after a restart it resumes from Applied().
type Projection interface {
	// Name identifies the projection in the checkpoint and in logs.
	Name() string
	// Applied returns the physical offset the projection has durably applied through
	// (exclusive): the offset just past the last record it keeps. Called on the
	// dispatcher goroutine when the projection is added.
	Applied() int64
	// Apply adds one record, a slice of the mapping or of the dispatcher's read buffer
	// that is valid only during the call.
	// It must not block. An error stops the feeding of this projection (logged); it
	// resumes from Applied() at the next Open.
	Apply(rec []byte, physicalOffset int64) error
	// Truncate forgets everything at or past physicalOffset: the log was cut there, or
	// the projection claimed to be ahead of it.
	Truncate(physicalOffset int64) error
}

// errUnservable marks a record the dispatcher can never give a ConsumeQueue unit. The
// live dispatcher skips it (logged); recovery treats it as a damaged record.
var errUnservable = fmt.Errorf("%w: cannot be dispatched", ErrInvalidRecord)

// dispatchRetry is how long the dispatcher waits before retrying a record it could not
// dispatch (a ConsumeQueue file that could not be created on a full disk).
const dispatchRetry = 100 * time.Millisecond

// closeDispatchWait bounds how long Close waits for the dispatcher to catch up.
const closeDispatchWait = 10 * time.Second

// heldDispatchWait bounds a wait for the dispatcher while appends are held
// (DeleteTopic): the records written just before, at most a replication round trip
// from their confirmation.
const heldDispatchWait = time.Second

// dispatcher is the state of the dispatcher goroutine, which tails the CommitLog and
// feeds every projection. It is woken by each append (wake), never by a timer, except
// for a retry after an error.
type dispatcher struct {
	tailer
	reqs chan func() // work to run on the dispatcher goroutine

	subMu sync.Mutex
	subs  atomic.Pointer[[]func(Arrival)]

	// run is held by whoever dispatches: the dispatcher goroutine, or an appender
	// dispatching inline (dispatch_inline.go). It is held from init until the goroutine
	// starts and again once it stopped, so that nobody dispatches inline meanwhile.
	run sync.Mutex
	// ixSoon wakes the indexer after an inline dispatch (dispatch_inline.go).
	ixSoon laterWake
	// confirm is the confirm offset (confirm.go): nothing at or past it is dispatched.
	// grown's waiters learn how far the log was written at each round, bounded or not.
	confirm atomic.Int64
	grown   tailer

	// Owned by whoever holds run (and by recovery before the goroutine starts).
	rd       *commitlog.Reader // reads the records dispatched under SYNC_FLUSH (readAt)
	cqFrom   int64             // records below are already in the ConsumeQueues
	projs    []*projState
	projList atomic.Pointer[[]*projState] // copy of projs for the checkpoint
}

type projState struct {
	p       Projection
	name    string
	from    int64
	applied atomic.Int64
	failed  bool
}

func (d *dispatcher) init() {
	d.tailer.init()
	d.confirm.Store(ConfirmAll)
	d.reqs = make(chan func())
	d.subs.Store(&[]func(Arrival){})
	d.projList.Store(&[]*projState{})
	d.run.Lock() // released when the goroutine starts (dispatchLoop)
}

func (s *Store) dispatchLoop() {
	defer s.wg.Done()
	s.d.run.Unlock()
	defer s.d.run.Lock() // stopped: appenders only wake from now on
	s.follow(&s.d.tailer, s.d.reqs, s.dispatchHeld, s.ix.wake, "dispatch failed; retrying")
}

// follow runs a tailer's goroutine until the store stops: catchUp runs whenever the
// tailer is woken, before and after each fn received from reqs (so that fn sees
// everything appended before it was asked for), and again every dispatchRetry while it
// fails. A failure is logged with failMsg once until it changes or catchUp succeeds
// (a full disk not at all: the disk guard logs its level changes); caughtUp runs after
// each success.
func (s *Store) follow(t *tailer, reqs <-chan func(), catchUp func() error, caughtUp func(), failMsg string) {
	var retry <-chan time.Time
	lastErr := ""
	for {
		select {
		case <-s.stop:
			return
		case <-t.kick:
		case fn := <-reqs:
			// catchUp goes as far as the log's published end (Published), which under
			// SYNC_FLUSH may lag what was appended before fn was asked for: write that
			// first (Written), so that fn sees it.
			_ = s.cl.Written()
			_ = catchUp()
			fn()
		case <-retry:
		}
		retry = nil
		if err := catchUp(); err != nil {
			if msg := err.Error(); msg != lastErr && !errors.Is(err, diskguard.ErrFull) {
				lastErr = msg
				s.log.Error().Err(err).Int64("offset", t.pos.Load()).Msg(failMsg)
			}
			retry = time.After(dispatchRetry)
			continue
		}
		lastErr = ""
		caughtUp()
	}
}

// dispatchAvailable dispatches every record below the log's published end (what is in
// the file, not what is only staged) and the confirm offset, then tells the Grown
// waiters how far the log was written.
func (s *Store) dispatchAvailable() error {
	written := s.cl.Published()
	defer s.noteGrown(written)
	pos := s.d.pos.Load()
	if min := s.cl.Min(); pos < min {
		s.log.Warn().Int64("offset", pos).Int64("min", min).Msg("records deleted before dispatch; skipping")
		pos = min
		s.d.pos.Store(pos)
	}
	for {
		err := s.dispatchBelow(s.d.pos.Load(), written, s.d.confirm.Load())
		if errors.Is(err, errUnservable) {
			bad := s.d.pos.Load()
			if _, next, aerr := s.cl.At(bad); aerr == nil {
				s.log.Error().Err(err).Int64("offset", bad).Msg("record skipped by the dispatcher")
				s.d.pos.Store(next)
				continue
			}
		}
		s.d.complete(s.d.pos.Load())
		return err
	}
}

// dispatchRange dispatches the records of [pos, end), advancing d.pos after each.
func (s *Store) dispatchRange(pos, end int64) error { return s.dispatchBelow(pos, end, end) }

// dispatchBelow dispatches the records of [pos, end) that end at or below limit (the
// confirm offset), advancing d.pos after each.
func (s *Store) dispatchBelow(pos, end, limit int64) error {
	for pos < end && pos < limit {
		rec, next, err := s.readAt(s.d.rd, pos, end)
		if err != nil {
			return err
		}
		if next > limit {
			return nil // it waits for the confirm offset to pass its end
		}
		if rec != nil {
			if err := s.dispatchRecord(rec, pos); err != nil {
				return err
			}
		}
		pos = next
		s.d.pos.Store(pos)
	}
	return nil
}

// dispatchRecord feeds one record to its ConsumeQueue (waking subscribers) and to the
// projections, each only if the record is at or past where it resumes.
func (s *Store) dispatchRecord(rec []byte, pos int64) error {
	tx := message.TxType(message.RecordSysFlag(rec))
	if pos >= s.d.cqFrom && (tx == message.TxNotType || tx == message.TxCommitType) {
		tags, _, _ := scanProps(message.RecordProperties(rec))
		qid := message.RecordQueueID(rec)
		topic := message.RecordTopicBytes(rec)
		if !pathSafeTopic(topic) {
			// Put refuses such topics; one can only come from a damaged or foreign log.
			return fmt.Errorf("%w: record at %d has topic %q, which cannot name a queue", errUnservable, pos, topic)
		}
		q, err := s.queueFor(topic, qid)
		if err != nil {
			return err
		}
		tagsCode := tagsHash(tags)
		written, err := q.Append(message.RecordQueueOffset(rec), consumequeue.Unit{Offset: pos, Size: int32(len(rec)), TagsCode: tagsCode})
		if err != nil {
			return fmt.Errorf("store: dispatch record at %d to %s/%d: %w", pos, q.Topic(), qid, err)
		}
		if written {
			a := Arrival{Topic: q.Topic(), QueueID: qid, MaxOffset: q.Max(), TagsCode: tagsCode,
				StoreTimestamp: message.RecordStoreTimestamp(rec)}
			for _, fn := range *s.d.subs.Load() {
				fn(a)
			}
		}
	}
	for _, ps := range s.d.projs {
		if ps.failed || pos < ps.from {
			continue
		}
		if err := ps.p.Apply(rec, pos); err != nil {
			ps.failed = true
			s.log.Error().Err(err).Str("projection", ps.name).Int64("offset", pos).
				Msg("projection failed; no longer fed until the next open")
			continue
		}
		ps.applied.Store(pos + int64(len(rec)))
	}
	return nil
}

var keySeparator = []byte(message.KeySeparator)

// scanProps returns the values of TAGS, KEYS and UNIQ_KEY in one pass over the encoded
// properties, without allocating. As in message.DecodeProperties the last occurrence of
// a key wins and malformed pairs are skipped.
func scanProps(props []byte) (tags, keys, uniq []byte) {
	for k, v, rest := message.NextProperty(props); k != nil; k, v, rest = message.NextProperty(rest) {
		switch string(k) {
		case message.PropTags:
			tags = v
		case message.PropKeys:
			keys = v
		case message.PropUniqKey:
			uniq = v
		}
	}
	return tags, keys, uniq
}

// tagsHash is message.TagsHash over bytes. The string view is not retained by
// TagsHash, so it can alias the mapping instead of copying the tag per record.
func tagsHash(tags []byte) int64 {
	if len(tags) == 0 {
		return 0
	}
	return message.TagsHash(unsafe.String(&tags[0], len(tags)))
}

// queueFor returns the ConsumeQueue of (topic, queueID), creating it on first use.
func (s *Store) queueFor(topic []byte, queueID int32) (*consumequeue.Queue, error) {
	s.queues.RLock()
	q := s.queues.m[string(topic)][queueID]
	s.queues.RUnlock()
	if q != nil {
		return q, nil
	}
	s.queues.Lock()
	defer s.queues.Unlock()
	qs := s.queues.m[string(topic)]
	if qs == nil {
		qs = make(map[int32]*consumequeue.Queue)
		s.queues.m[string(topic)] = qs
	}
	if q = qs[queueID]; q == nil {
		q = consumequeue.Create(s.cqDir, string(topic), queueID, int64(s.o.ConsumeQueueUnits), s.grave)
		qs[queueID] = q
	}
	return q, nil
}

// Subscribe registers fn to learn of every ConsumeQueue append (the broker wakes long
// polls with it). fn runs after the unit is readable, on the dispatcher goroutine or,
// under ASYNC_FLUSH, on the appender's (dispatch_inline.go); it must not block.
func (s *Store) Subscribe(fn func(Arrival)) {
	s.d.subMu.Lock()
	defer s.d.subMu.Unlock()
	old := *s.d.subs.Load()
	next := append(append(make([]func(Arrival), 0, len(old)+1), old...), fn)
	s.d.subs.Store(&next)
}

// AddProjection registers p. It first catches p up from p.Applied() to what has been
// dispatched (a projection that claims to be past the log's end is truncated to it,
// never trusted), then feeds it every new record. It returns once p has caught up.
func (s *Store) AddProjection(p Projection) error {
	if s.closed.Load() {
		return ErrClosed
	}
	done := make(chan error, 1)
	req := func() {
		s.d.run.Lock()
		defer s.d.run.Unlock()
		done <- s.addProjection(p)
	}
	select {
	case s.d.reqs <- req:
	case <-s.stop:
		return ErrClosed
	}
	select {
	case err := <-done:
		return err
	case <-s.stop:
		return ErrClosed
	}
}

// addProjection runs on the dispatcher goroutine with d.run held.
func (s *Store) addProjection(p Projection) error {
	name := p.Name()
	for _, ps := range s.d.projs {
		if ps.name == name {
			return fmt.Errorf("store: projection %q already added", name)
		}
	}
	from, written := p.Applied(), s.cl.Written()
	if from > written {
		s.log.Warn().Str("projection", name).Int64("applied", from).Int64("end", written).
			Msg("projection ahead of the log; truncating")
		if err := p.Truncate(written); err != nil {
			return fmt.Errorf("store: projection %q truncate to %d: %w", name, written, err)
		}
		from = written
	}
	if min := s.cl.Min(); from < min {
		s.log.Warn().Str("projection", name).Int64("applied", from).Int64("min", min).
			Msg("projection behind the oldest segment; the records between were deleted")
		from = min
	}
	ps := &projState{p: p, name: name, from: from}
	ps.applied.Store(from)
	for pos, end := from, s.d.pos.Load(); pos < end; {
		rec, next, err := s.cl.At(pos)
		if err != nil {
			return fmt.Errorf("store: projection %q catch up at %d: %w", name, pos, err)
		}
		if rec != nil {
			if err := p.Apply(rec, pos); err != nil {
				return fmt.Errorf("store: projection %q apply at %d: %w", name, pos, err)
			}
			ps.applied.Store(next)
		}
		pos = next
	}
	s.d.projs = append(s.d.projs, ps)
	list := append([]*projState(nil), s.d.projs...)
	s.d.projList.Store(&list)
	return nil
}

// tailer is what the dispatcher and the indexer share: a goroutine that follows the
// CommitLog, its position (everything below pos is processed), a wake-up channel, and
// the callers waiting for the position to pass an offset.
type tailer struct {
	kick chan struct{}
	pos  atomic.Int64

	waitMu  sync.Mutex
	waiters []tailWaiter
}

type tailWaiter struct {
	target int64
	done   chan struct{}
}

func (t *tailer) init() { t.kick = make(chan struct{}, 1) }

// wake asks the goroutine to look for new records. It never blocks.
func (t *tailer) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// complete releases the waiters whose target is at or below pos.
func (t *tailer) complete(pos int64) {
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	keep := t.waiters[:0]
	for _, w := range t.waiters {
		if w.target <= pos {
			close(w.done)
		} else {
			keep = append(keep, w)
		}
	}
	clear(t.waiters[len(keep):])
	t.waiters = keep
}

// wait blocks until pos reaches target, stop is closed, or timeout passes.
func (t *tailer) wait(target int64, stop <-chan struct{}, timeout time.Duration, what string) error {
	if t.pos.Load() >= target {
		return nil
	}
	w := tailWaiter{target: target, done: make(chan struct{})}
	t.waitMu.Lock()
	t.waiters = append(t.waiters, w)
	t.waitMu.Unlock()
	t.wake()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.done:
		return nil
	case <-timer.C:
		return fmt.Errorf("store: %s did not reach %d within %s (at %d)", what, target, timeout, t.pos.Load())
	case <-stop:
		return ErrClosed
	}
}

// waitDispatched blocks until every record below target is in the ConsumeQueues and
// projections.
func (s *Store) waitDispatched(target int64) error {
	return s.d.wait(target, s.stop, closeDispatchWait, "dispatcher")
}

// waitIndexed blocks until every record below target is in the key index.
func (s *Store) waitIndexed(target int64) error {
	return s.ix.wait(target, s.stop, closeDispatchWait, "indexer")
}

// indexer is the goroutine that builds the key index. It follows the CommitLog on its
// own, a step behind the dispatcher (which wakes it after each round), so that the index's
// cost — parsing the properties and a hash-slot store per key — never delays a
// ConsumeQueue append or a long-poll wake-up. Under a load beyond what it absorbs the
// index lags and catches up later; QueryByKey sees a record once it is indexed.
type indexer struct {
	tailer
	from int64             // records below are already indexed (set by recovery)
	rd   *commitlog.Reader // reads the records indexed under SYNC_FLUSH; used only by the indexer goroutine
}

func (s *Store) indexLoop() {
	defer s.wg.Done()
	// A read-only or failed key index is reopened read-write before each round, once
	// the disk has room again.
	catchUp := func() error {
		if err := s.idx.Writable(); err != nil {
			return err
		}
		s.gatherIndexBatch() // index_batch.go
		return s.indexAvailable()
	}
	s.follow(&s.ix.tailer, nil, catchUp, func() {}, "indexing failed; retrying")
}

// indexAvailable indexes every record below the log's written offset.
func (s *Store) indexAvailable() error {
	pos := s.ix.pos.Load()
	if min := s.cl.Min(); pos < min {
		pos = min
		s.ix.pos.Store(pos)
	}
	// No further than the dispatcher: a record past the confirm offset is not queryable
	// by key either (confirm.go).
	err := s.indexRange(pos, min(s.cl.Published(), s.d.pos.Load()))
	s.ix.complete(s.ix.pos.Load())
	return err
}

// indexRange indexes the records of [pos, end). ix.pos advances at each commit, so it
// always names what a query can see.
func (s *Store) indexRange(pos, end int64) error {
	for pos < end {
		rec, next, err := s.readAt(s.ix.rd, pos, end)
		if err != nil {
			return errors.Join(err, s.commitIndex(pos))
		}
		if rec != nil && pos >= s.ix.from {
			if err := s.indexRecord(rec, pos); err != nil {
				return errors.Join(err, s.commitIndex(pos))
			}
		}
		pos = next
		if s.idx.Full() {
			if err := s.commitIndex(pos); err != nil {
				return err
			}
			select {
			case <-s.stop:
				return nil // closing: resume from the committed offset next time
			default:
			}
		}
	}
	return s.commitIndex(pos)
}

// commitIndex commits the pending entries and moves the indexer's position to pos.
func (s *Store) commitIndex(pos int64) error {
	if pos < s.ix.from {
		return nil
	}
	if err := s.idx.Commit(pos); err != nil {
		return err
	}
	s.ix.pos.Store(pos)
	return nil
}

// indexRecord adds the record's KEYS tokens and UNIQ_KEY. Rolled back transaction
// records are not indexed, as in RocketMQ.
func (s *Store) indexRecord(rec []byte, pos int64) error {
	if message.TxType(message.RecordSysFlag(rec)) == message.TxRollbackType {
		return nil
	}
	_, keys, uniq := scanProps(message.RecordProperties(rec))
	topic := message.RecordTopicBytes(rec)
	storeTS := message.RecordStoreTimestamp(rec)
	for len(keys) > 0 {
		var k []byte
		k, keys, _ = bytes.Cut(keys, keySeparator)
		if err := s.idx.Add(topic, k, pos, storeTS); err != nil {
			return err
		}
	}
	return s.idx.Add(topic, uniq, pos, storeTS)
}

// recordHasKey reports whether rec carries key in its KEYS tokens or as its UNIQ_KEY.
func recordHasKey(rec []byte, key string) bool {
	_, keys, uniq := scanProps(message.RecordProperties(rec))
	if string(uniq) == key {
		return true
	}
	for len(keys) > 0 {
		var k []byte
		k, keys, _ = bytes.Cut(keys, keySeparator)
		if string(k) == key {
			return true
		}
	}
	return false
}

// readAt returns the record at pos and the offset of the next one, for the dispatcher
// and the indexer, which read every record once, in log order, right after it was
// written. Under SYNC_FLUSH records are written with pwrite, so their pages have no
// page-table entry in this process until something reads them through the mapping,
// and on a paravirtualized machine that first entry costs several µs per page: rd
// reads them with pread instead (docs/architecture.md §4). Under ASYNC_FLUSH the
// appender copied them into pages it faulted in ahead, and the mapping costs nothing.
func (s *Store) readAt(rd *commitlog.Reader, pos, end int64) ([]byte, int64, error) {
	if s.o.FlushMode == SyncFlush {
		return rd.At(pos, end)
	}
	return s.cl.At(pos)
}
