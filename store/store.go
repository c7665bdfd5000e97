package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/store/commitlog"
	"github.com/rocketgo/rocketgo/store/consumequeue"
	"github.com/rocketgo/rocketgo/store/diskguard"
	"github.com/rocketgo/rocketgo/store/index"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Store is the message store: one CommitLog that every record is appended to, and the
// projections the dispatcher builds from it (ConsumeQueues, the key index, registered
// Projections). All methods are safe for concurrent use. After Close every method
// returns ErrClosed (or an empty result) and slices returned earlier are invalid.
type Store struct {
	o    Options
	log  zerolog.Logger
	lock *os.File
	cl   *commitlog.Log
	idx  *index.Index
	cp   *checkpointFile
	cpMu sync.Mutex // serializes checkpoints
	// lastCheckpoint is what the checkpoint file holds (guarded by cpMu).
	lastCheckpoint *metapb.Checkpoint
	grave          *segment.Grave
	cqDir          string

	// life is held shared by every read that touches a mapping, and exclusively by
	// Close, so a read never races the unmapping.
	life   sync.RWMutex
	closed atomic.Bool

	queues struct {
		sync.RWMutex
		m map[string]map[int32]*consumequeue.Queue
	}

	d  dispatcher
	ix indexer

	guard *diskguard.Guard
	cons  consumers

	recovery RecoveryStats
	stop     chan struct{}
	wg       sync.WaitGroup
}

// PutResult describes an append.
type PutResult struct {
	PhysicalOffset int64 // of the (first) record
	QueueOffset    int64 // of the (first) record; 0 for prepared and rolled back records
	Count          int   // records appended (batch)
	StoreTimestamp int64 // ms, the same for every record of a batch
	EndOffset      int64 // physical offset after the last record: the durability target
}

// Open opens the store in o.Dir, creating it if needed: it locks the directory, checks
// the format options, recovers the CommitLog and its projections (RecoveryStats says
// how), and starts the flusher, dispatcher, checkpoint and retention goroutines.
func Open(o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DiskMaxUsedSpaceRatio == 0 {
		o.DiskMaxUsedSpaceRatio = 75
	}
	if o.DiskFullPolicy == "" {
		o.DiskFullPolicy = DeleteOldest
	}
	// Options built by hand before these keys existed leave them zero.
	if o.MaxHashSlotNum == 0 {
		o.MaxHashSlotNum = index.DefaultSlots
	}
	if o.MaxIndexNum == 0 {
		o.MaxIndexNum = index.DefaultEntries
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		o:     o,
		log:   o.Logger.With().Str("component", "store").Logger(),
		lock:  lock,
		grave: segment.NewGrave(ReadGrace),
		cqDir: filepath.Join(o.Dir, consumeQDir),
		stop:  make(chan struct{}),
	}
	s.queues.m = make(map[string]map[int32]*consumequeue.Queue)
	s.d.init()
	s.ix.init()
	if err := s.open(); err != nil {
		s.abandon()
		return nil, fmt.Errorf("store: open %s: %w", o.Dir, err)
	}
	s.wg.Add(4)
	go s.dispatchLoop()
	go s.indexLoop()
	go s.checkpointLoop()
	go s.retentionLoop()
	return s, nil
}

// open does the part of Open that can fail after the directory is locked.
func (s *Store) open() error {
	if err := checkFormat(s.o.Dir, s.o); err != nil {
		return err
	}
	s.cl = commitlog.New(commitlog.Options{
		Dir:              filepath.Join(s.o.Dir, commitLogDir),
		SegmentBytes:     s.o.CommitLogSegmentBytes,
		SyncFlush:        s.o.FlushMode == SyncFlush,
		FlushInterval:    s.o.FlushInterval,
		SyncFlushTimeout: s.o.SyncFlushTimeout,
		Now:              s.o.Now,
		Logger:           s.o.Logger,
		Grave:            s.grave,
		Notify:           s.readable,
	})
	s.d.rd, s.ix.rd = s.cl.NewReader(), s.cl.NewReader()
	s.guard = s.newGuard()
	idx, err := index.Open(index.Options{Dir: filepath.Join(s.o.Dir, indexDir), Logger: s.o.Logger, Guard: s.guard,
		Slots: s.o.MaxHashSlotNum, Entries: s.o.MaxIndexNum})
	if err != nil {
		return err
	}
	s.idx = idx
	if err := s.recover(); err != nil {
		return err
	}
	s.cl.Start()
	return nil
}

// abandon releases what a failed Open acquired.
func (s *Store) abandon() {
	if s.cl != nil {
		s.cl.Abandon()
	}
	if s.idx != nil {
		s.idx.Close()
	}
	s.closeQueues()
	if s.cp != nil {
		s.cp.close()
	}
	s.grave.Close()
	s.lock.Close()
}

// Put appends one encoded v1 record (message.EncodeRecord). Its QUEUEOFFSET,
// PHYSICALOFFSET and STORETIMESTAMP are placeholders: the store assigns them inside the
// append critical section, taking topic, queue id and transaction type from the record.
// PREPARED and ROLLBACK records get queue offset 0 and do not advance the queue. rec is
// not modified or retained.
//
// Errors: ErrInvalidRecord, ErrMessageTooLarge, ErrPropertiesTooLarge, ErrDiskFull,
// ErrWriteFailed (sticky), ErrClosed.
func (s *Store) Put(rec []byte) (PutResult, error) {
	count, first, err := s.verify(rec, false, false, 0)
	if err != nil {
		return PutResult{}, err
	}
	return s.append(rec, count, first)
}

// PutBatch appends concatenated records of one topic and one queue as a unit: they land
// in one segment with consecutive queue offsets. Prepared (half) transaction records
// cannot be batched.
func (s *Store) PutBatch(recs []byte) (PutResult, error) {
	count, first, err := s.verify(recs, true, false, 0)
	if err != nil {
		return PutResult{}, err
	}
	return s.append(recs, count, first)
}

// verify checks what Put (batch false) or PutBatch (batch true) is given and returns
// the number of records and the first one. encoded skips the body CRC (PutItem).
func (s *Store) verify(recs []byte, batch, encoded bool, ahead int) (int, []byte, error) {
	check := message.VerifyRecord
	if encoded {
		check = message.ScanRecord
	}
	if err := s.admit(ahead + len(recs)); err != nil {
		return 0, nil, err
	}
	if !batch {
		size, err := check(recs)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
		}
		if size != len(recs) {
			return 0, nil, fmt.Errorf("%w: %d trailing bytes after a %d-byte record (use PutBatch)", ErrInvalidRecord, len(recs)-size, size)
		}
		if err := s.checkRecord(recs); err != nil {
			return 0, nil, err
		}
		return 1, recs, nil
	}
	if len(recs) == 0 {
		return 0, nil, fmt.Errorf("%w: empty batch", ErrInvalidRecord)
	}
	var first []byte
	count := 0
	for off := 0; off < len(recs); count++ {
		rec := recs[off:]
		size, err := check(rec)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: batch record %d at byte %d: %v", ErrInvalidRecord, count, off, err)
		}
		rec = rec[:size]
		if err := s.checkRecord(rec); err != nil {
			return 0, nil, fmt.Errorf("batch record %d: %w", count, err)
		}
		if first == nil {
			first = rec
			if tx := message.TxType(message.RecordSysFlag(rec)); tx == message.TxPreparedType || tx == message.TxRollbackType {
				return 0, nil, fmt.Errorf("%w: a batch cannot hold prepared or rolled back transaction records", ErrInvalidRecord)
			}
		} else if message.RecordQueueID(rec) != message.RecordQueueID(first) ||
			string(message.RecordTopicBytes(rec)) != string(message.RecordTopicBytes(first)) ||
			message.TxType(message.RecordSysFlag(rec)) != message.TxType(message.RecordSysFlag(first)) {
			return 0, nil, fmt.Errorf("%w: batch record %d is for another topic, queue or transaction type than the first", ErrInvalidRecord, count)
		}
		off += size
	}
	return count, first, nil
}

// checkRecord applies the store's limits to one verified record.
func (s *Store) checkRecord(rec []byte) error {
	if n := len(message.RecordBody(rec)); n > s.o.MaxMessageBytes {
		return fmt.Errorf("%w: body of %d bytes, limit %d", ErrMessageTooLarge, n, s.o.MaxMessageBytes)
	}
	if n := len(message.RecordProperties(rec)); n > message.MaxPropertiesLen {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrPropertiesTooLarge, n, message.MaxPropertiesLen)
	}
	if t := message.RecordTopicBytes(rec); !pathSafeTopic(t) {
		return fmt.Errorf("%w: topic %q cannot name a queue directory", ErrInvalidRecord, t)
	}
	return nil
}

// append hands verified records to the log; first is the first record (topic, queue,
// transaction type).
func (s *Store) append(recs []byte, count int, first []byte) (PutResult, error) {
	u := unitOf(recs, count, first)
	r, err := s.cl.Append(u.Recs, u.Count, u.Topic, u.QueueID, u.Advance)
	return s.appended(len(recs), r, err)
}

// unitOf describes verified records for the log; first is the first record (topic,
// queue, transaction type).
func unitOf(recs []byte, count int, first []byte) commitlog.Unit {
	tx := message.TxType(message.RecordSysFlag(first))
	return commitlog.Unit{
		Recs: recs, Count: count, Topic: message.RecordTopicBytes(first), QueueID: message.RecordQueueID(first),
		Advance: tx != message.TxPreparedType && tx != message.TxRollbackType,
	}
}

// appended turns the log's answer to an append of n bytes into the store's.
func (s *Store) appended(n int, r commitlog.Result, err error) (PutResult, error) {
	if err != nil {
		switch {
		case errors.Is(err, commitlog.ErrTooLarge):
			return PutResult{}, fmt.Errorf("%w: %v", ErrMessageTooLarge, err)
		}
		return PutResult{}, s.appendFailed(err)
	}
	s.guard.Consume(int64(n))
	return PutResult{
		PhysicalOffset: r.PhysicalOffset,
		QueueOffset:    r.QueueOffset,
		Count:          r.Count,
		StoreTimestamp: r.StoreTimestamp,
		EndOffset:      r.EndOffset,
	}, nil
}

// OnFlushed arranges for fn to run once the CommitLog is flushed through endOffset:
// inline if it already is, otherwise from the flusher goroutine, or with
// ErrFlushTimeout after SyncFlushTimeout (ErrWriteFailed if the flush failed, ErrClosed
// if the store closed first). fn runs exactly once and must not block.
func (s *Store) OnFlushed(endOffset int64, fn func(err error)) {
	s.cl.OnFlushed(endOffset, fn)
}

// WaitFlushed blocks until the CommitLog is flushed through endOffset, the flush times
// out (ErrFlushTimeout), or ctx is done (ctx.Err()).
func (s *Store) WaitFlushed(ctx context.Context, endOffset int64) error {
	return s.cl.WaitFlushed(ctx, endOffset)
}

// Flush msyncs everything appended so far and waits for it.
func (s *Store) Flush() error { return s.cl.Flush() }

// RecoveryStats reports how the last Open recovered: clean or not, how long it took,
// how much of the log it verified and re-dispatched, and what it cut.
func (s *Store) RecoveryStats() RecoveryStats { return s.recovery }

// Close stops accepting appends, flushes the CommitLog, lets the dispatcher finish,
// stops the indexer where it is (the next Open resumes it there), flushes the
// ConsumeQueues and the index, writes a final checkpoint, removes the
// abort marker (the clean-shutdown mark), and releases every file and the directory
// lock. Slices returned by reads are invalid afterwards.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	s.cl.Seal()
	err := s.cl.Flush()
	if derr := s.waitDispatchedOrConfirm(); err == nil {
		err = derr
	}
	close(s.stop)
	s.wg.Wait()
	if cerr := s.checkpoint(); err == nil {
		err = cerr
	}
	if err == nil {
		err = removeAbort(s.o.Dir)
	}
	s.life.Lock()
	defer s.life.Unlock()
	if cerr := s.idx.Close(); err == nil {
		err = cerr
	}
	s.closeQueues()
	if cerr := s.cl.Close(); err == nil {
		err = cerr
	}
	s.cp.close()
	s.grave.Close()
	s.lock.Close()
	return err
}

// crash stops the store as a killed process would leave it: no final flush, dispatch,
// checkpoint or marker removal. Tests use it.
func (s *Store) crash() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.cl.Seal()
	close(s.stop)
	s.wg.Wait()
	s.life.Lock()
	defer s.life.Unlock()
	s.idx.Abandon()
	s.closeQueues()
	s.cl.Abandon()
	s.cp.close()
	s.grave.Close()
	s.lock.Close()
}

func (s *Store) closeQueues() {
	s.queues.Lock()
	defer s.queues.Unlock()
	for _, qs := range s.queues.m {
		for _, q := range qs {
			q.Close()
		}
	}
	s.queues.m = map[string]map[int32]*consumequeue.Queue{}
}

// Errors of the store. Callers test them with errors.Is; the wrapped text says what,
// where and by how much.
var (
	// ErrClosed reports use of a closed store.
	ErrClosed = commitlog.ErrClosed
	// ErrMessageTooLarge reports a body over MaxMessageBytes, or a record (batch) that
	// cannot fit one CommitLog segment.
	ErrMessageTooLarge = errors.New("store: message too large")
	// ErrPropertiesTooLarge reports properties over 32767 bytes.
	ErrPropertiesTooLarge = errors.New("store: properties too large")
	// ErrInvalidRecord reports bytes handed to Put that are not one well-formed v1
	// record (or, for PutBatch, records of one topic and queue).
	ErrInvalidRecord = errors.New("store: invalid record")
	// ErrDiskFull reports an append refused because the disk usage is above
	// DiskMaxRatio (or a new segment could not be allocated). The message names the
	// usage. Appends resume by themselves once usage drops.
	ErrDiskFull = errors.New("store: disk full")
	// ErrWriteFailed reports a log that refuses every write after a failed write or
	// msync (sticky; the broker must stop accepting writes).
	ErrWriteFailed = commitlog.ErrWriteFailed
	// ErrFlushTimeout reports a SYNC_FLUSH wait that exceeded SyncFlushTimeout; the
	// record is stored but not known durable (FLUSH_DISK_TIMEOUT).
	ErrFlushTimeout = commitlog.ErrFlushTimeout
	// ErrNotFound reports a read of something the store does not hold: no record at a
	// physical offset, no such queue, a message already deleted.
	ErrNotFound = errors.New("store: not found")
	// ErrCorruption is the store's name for message.ErrCorrupt, the one corruption
	// marker (the same value): Open returns an error wrapping it when files hold what
	// the store cannot have written (a bad record with valid data after it, a missing
	// segment, a file of the wrong size, a checkpoint the log contradicts, a damaged
	// consume queue), and AppendRaw when a replicated run is invalid.
	ErrCorruption = message.ErrCorrupt
	// ErrLocked reports a store directory already opened by this or another process.
	ErrLocked = errors.New("store: directory locked")
	// ErrFormatMismatch reports options that contradict the format recorded in the
	// store directory; the message names both values.
	ErrFormatMismatch = errors.New("store: format mismatch")
)
