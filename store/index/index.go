package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/pebblelog"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Key prefixes and sizes (see doc.go for the layouts).
const (
	prefixEntry     = 'k'
	prefixMeta      = 'm'
	prefixTombstone = 't'
	entryLen        = 1 + 8 + 8 + 8 // prefix, segment, hash, physical offset
)

var appliedKey = []byte{prefixMeta, 'a', 'p', 'p', 'l', 'i', 'e', 'd'}

// defaultBucketBytes is how much CommitLog one bucket of entries covers (Options).
const defaultBucketBytes = 64 << 20

// maxBatchKeys bounds the entries of one uncommitted batch: past it, Full reports true
// and the writer commits, so memory stays bounded and entries become visible steadily.
const maxBatchKeys = 16384

// ErrClosed reports use of a closed index.
var ErrClosed = errors.New("index: closed")

// Options configures an Index.
type Options struct {
	Dir    string
	Logger zerolog.Logger
	// Guard, if set, is asked before every write: while the disk is critically full
	// writes fail with an error wrapping diskguard.ErrFull instead of reaching pebble,
	// and an index opened on such a disk is read-only until space returns.
	Guard *diskguard.Guard
	// BucketBytes is how much CommitLog one bucket of entries covers, 64 MiB if 0
	// (doc.go). Tests make it small.
	BucketBytes int64
}

// Index maps (topic, key) to the CommitLog offsets of the records that carry the key.
// Entries hold a 64-bit hash of the pair, not the strings, so an entry is 25 bytes of
// key and 8 of value whatever the key's length; the hash may collide, so Query returns
// candidates that the caller checks against the records.
//
// Pebble runs without its write-ahead log: committed entries live in the memtable
// until a flush writes them to a table, which Sync forces. A crash loses what was not
// flushed, together with the applied offset that covered it, so the index comes back
// consistent, only behind, and the store indexes the log again from there.
//
// One goroutine writes (Add, Commit, Truncate); Query, Applied, Sync, DeleteBefore and
// DeleteTopic may run concurrently with it.
type Index struct {
	o   Options
	log zerolog.Logger

	// mu is held shared by every use of db and exclusively while the writer reopens it
	// (read-only after a start on a full disk, or after pebble failed a write).
	mu       sync.RWMutex
	db       *pebble.DB
	readOnly bool        // db was opened read-only (guarded by mu)
	broken   atomic.Bool // pebble failed a write it cannot undo; reopen before writing

	batch   *pebble.Batch
	pend    []pending // entries added since the last commit
	applied atomic.Int64
	flushed atomic.Int64 // applied offset of the last flush: what survives a crash

	// lastTopic and lastTopicHash are the topic of the last Add and the hash state
	// after it (fnvTopic): consecutive records mostly share their topic, whose bytes
	// are then compared instead of hashed again (FNV-1a costs a multiplication per
	// byte, one after the other).
	lastTopic     []byte
	lastTopicHash uint64
}

// Open opens (or creates) the index in o.Dir. On a critically full disk (o.Guard) it
// opens read-only: queries are served and writes fail until space returns, when the
// next Commit reopens it read-write.
func Open(o Options) (*Index, error) {
	if o.BucketBytes <= 0 {
		o.BucketBytes = defaultBucketBytes
	}
	x := &Index{o: o, log: o.Logger.With().Str("component", "index").Logger(), lastTopicHash: fnvTopic(nil)}
	if err := x.open(); err != nil {
		return nil, err
	}
	if x.readOnly {
		x.log.Warn().Str("dir", o.Dir).Msg("disk critically full: key index opened read-only; indexing resumes when space returns")
	}
	return x, nil
}

// open opens the database and reads the applied offset. Callers hold mu (or own x).
func (x *Index) open() (err error) {
	defer diskguard.Recover(&err)
	opts := pebbleOptions(x.log)
	readOnly := diskguard.Pebble(opts, x.o.Guard, x.log)
	db, err := pebble.Open(x.o.Dir, opts)
	if err != nil {
		return fmt.Errorf("index: open %s: %w", x.o.Dir, err)
	}
	v, closer, err := db.Get(appliedKey)
	switch {
	case err == nil:
		if len(v) == 8 {
			x.applied.Store(int64(binary.BigEndian.Uint64(v)))
			x.flushed.Store(x.applied.Load())
		}
		closer.Close()
	case errors.Is(err, pebble.ErrNotFound):
	default:
		db.Close()
		return fmt.Errorf("index: read applied offset: %w", err)
	}
	x.db, x.readOnly = db, readOnly
	x.broken.Store(false)
	x.batch = db.NewBatch()
	return nil
}

// writable returns nil when a write may reach pebble now: the guard allows it, and an
// index that is read-only or broken is reopened read-write first. Only the writer
// goroutine calls it.
func (x *Index) writable() error {
	if err := x.o.Guard.AllowMeta(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	x.mu.RLock()
	ok := x.db != nil && !x.readOnly && !x.broken.Load()
	closed := x.db == nil
	x.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if ok {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.batch.Close()
	x.pend = x.pend[:0]
	if err := x.closeDB(); err != nil {
		x.log.Warn().Err(err).Msg("closing the key index before reopening it")
	}
	if err := x.open(); err != nil {
		return err
	}
	if x.readOnly {
		return fmt.Errorf("index: %w: reopened read-only", diskguard.ErrFull)
	}
	x.log.Info().Msg("key index writable again")
	return errReopened
}

// errReopened tells the writer that the database was reopened and its pending
// entries dropped: it adds them again.
var errReopened = fmt.Errorf("index: %w: reopened after a full disk; entries to be added again", diskguard.ErrFull)

// Writable returns nil when the writer may add and commit entries now, reopening a
// read-only or failed database read-write first; otherwise an error wrapping
// diskguard.ErrFull. The store's indexer asks before each round.
func (x *Index) Writable() error {
	if err := x.writable(); err != nil && err != errReopened {
		return err
	}
	return nil
}

// closeDB closes db, catching pebble's fatal reports. Callers hold mu exclusively.
func (x *Index) closeDB() (err error) {
	defer diskguard.Recover(&err)
	db := x.db
	x.db = nil
	return db.Close()
}

// failed records a write pebble reported fatal: the database is reopened before the
// next write.
func (x *Index) failed(err error) {
	var fe *pebblelog.Fatal
	if errors.As(err, &fe) {
		x.broken.Store(true)
	}
}

// Applied returns the CommitLog offset through which records are indexed (committed).
// It is safe to call from any goroutine.
func (x *Index) Applied() int64 { return x.applied.Load() }

func entryKey(dst *[entryLen]byte, seg int64, hash uint64, phys int64) {
	dst[0] = prefixEntry
	binary.BigEndian.PutUint64(dst[1:], uint64(seg))
	binary.BigEndian.PutUint64(dst[9:], hash)
	binary.BigEndian.PutUint64(dst[17:], uint64(phys))
}

// Add indexes key for the record at phys (stored at storeMS) in the CommitLog segment
// that starts at seg. The entry becomes visible at the next Commit.
func (x *Index) Add(seg int64, topic, key []byte, phys, storeMS int64) error {
	if len(key) == 0 {
		return nil
	}
	if string(topic) != string(x.lastTopic) {
		x.lastTopic = append(x.lastTopic[:0], topic...)
		x.lastTopicHash = fnvTopic(topic)
	}
	x.pend = append(x.pend, pending{
		bucket: uint64(bucketOf(seg, phys, x.o.BucketBytes)),
		hash:   fnvKey(x.lastTopicHash, key),
		phys:   phys,
		ms:     storeMS,
	})
	return nil
}

// fnv64a returns the 64-bit hash an entry of (topic, key) is stored under: FNV-1a over
// the topic, a zero byte and the key. It is part of the on-disk format.
func fnv64a(topic, key []byte) uint64 { return fnvKey(fnvTopic(topic), key) }

// FNV-1a's 64-bit parameters.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvTopic returns the FNV-1a state after topic and the zero separator.
func fnvTopic(topic []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range topic {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h * fnvPrime // the zero separator: h ^= 0 leaves h as is
}

// fnvKey continues the state h of fnvTopic over key.
func fnvKey(h uint64, key []byte) uint64 {
	for _, c := range key {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// Full reports whether the pending batch has reached its bound and should be committed.
func (x *Index) Full() bool { return len(x.pend) >= maxBatchKeys }

// Commit makes every entry added since the last commit visible, together with the new
// applied offset, in one atomic pebble batch. It reaches the disk with the next flush
// (Sync, or pebble's own when the memtable is full); memtables are flushed in order and
// a batch lies in one, so after a crash pebble holds a prefix of the batches, and the
// applied offset in it matches its entries.
//
// On a full disk (or a read-only index) Commit drops the pending entries and returns
// an error wrapping diskguard.ErrFull; the writer adds them again when it retries.
func (x *Index) Commit(applied int64) (err error) {
	if len(x.pend) == 0 && applied == x.applied.Load() {
		return nil
	}
	if err := x.writable(); err != nil {
		x.batch.Reset()
		x.pend = x.pend[:0]
		return err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	defer func() {
		x.batch.Reset()
		x.pend = x.pend[:0]
		if err != nil {
			x.failed(err)
		}
	}()
	defer diskguard.Recover(&err)
	if err := fill(x.batch, x.pend); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(applied))
	if err := x.batch.Set(appliedKey, v[:], nil); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := x.batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("index: commit: %w", err)
	}
	x.applied.Store(applied)
	return nil
}

// Sync makes every committed batch durable: it flushes the memtable to a table when
// anything was committed since the last flush. A read-only index has nothing to sync.
func (x *Index) Sync() (err error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.db == nil {
		return ErrClosed
	}
	if x.readOnly || x.broken.Load() {
		return nil
	}
	if err := x.o.Guard.AllowMeta(); err != nil {
		return fmt.Errorf("index: sync: %w", err)
	}
	defer diskguard.Recover(&err)
	applied := x.applied.Load()
	if applied == x.flushed.Load() {
		return nil
	}
	if err := x.db.Flush(); err != nil {
		return fmt.Errorf("index: sync: %w", err)
	}
	x.flushed.Store(applied)
	return nil
}

// Truncate removes every entry for a record at or past off and lowers the applied
// offset to off (the CommitLog was cut there). Pending uncommitted entries are dropped.
// The entries of the segments past the one holding off go by range deletion; those of
// that segment are found by scanning its entries, which happens only when the index
// outran a log that lost its tail (a machine crash).
func (x *Index) Truncate(off, segBytes int64) (err error) {
	x.batch.Reset()
	x.pend = x.pend[:0]
	if x.applied.Load() <= off {
		return nil
	}
	if err := x.writable(); err != nil {
		return err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	defer diskguard.Recover(&err)
	seg := off - off%segBytes
	b := x.db.NewBatch()
	defer b.Close()
	var lo, hi [entryLen]byte
	entryKey(&lo, seg+segBytes, 0, 0)
	if err := b.DeleteRange(lo[:9], []byte{prefixEntry + 1}, nil); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	entryKey(&lo, seg, 0, 0)
	entryKey(&hi, seg+segBytes, 0, 0)
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: lo[:9], UpperBound: hi[:9]})
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) == entryLen && int64(binary.BigEndian.Uint64(k[17:])) >= off {
			if err := b.Delete(k, nil); err != nil {
				it.Close()
				return fmt.Errorf("index: %w", err)
			}
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(off))
	if err := b.Set(appliedKey, v[:], nil); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("index: truncate: %w", err)
	}
	x.applied.Store(off)
	// Durable at once: records past off will be appended and indexed again, and a
	// crash must not bring back the old entries with an applied offset past them.
	if err := x.db.Flush(); err != nil {
		return fmt.Errorf("index: truncate: %w", err)
	}
	x.flushed.Store(off)
	return nil
}

// DeleteBefore drops every entry of the CommitLog segments that start below minSeg (they
// were deleted by retention) with one range deletion, however many entries there are.
// It may run concurrently with the writer.
func (x *Index) DeleteBefore(minSeg int64) (err error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if err := x.usable(); err != nil {
		return err
	}
	defer diskguard.Recover(&err)
	var hi [entryLen]byte
	entryKey(&hi, minSeg, 0, 0)
	if err := x.db.DeleteRange([]byte{prefixEntry}, hi[:9], pebble.NoSync); err != nil {
		return fmt.Errorf("index: delete before %d: %w", minSeg, err)
	}
	if err := x.dropTombstones(minSeg); err != nil {
		return err
	}
	// Durable at once: without a write-ahead log a deletion lives only in the memtable,
	// and Sync flushes only when the applied offset moved, so a restart would bring the
	// entries back. Retention deletes a segment rarely; one flush per deletion is cheap.
	if err := x.db.Flush(); err != nil {
		return fmt.Errorf("index: delete before %d: %w", minSeg, err)
	}
	return nil
}

// DeleteTopic hides every entry of topic for a record below off (the topic was deleted
// when the log ended at off): entries are keyed by hash, so they cannot be found by
// topic; a tombstone makes Query skip them instead, and DeleteBefore drops the
// tombstone once retention has removed the records.
func (x *Index) DeleteTopic(topic string, off int64) (err error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if err := x.usable(); err != nil {
		return err
	}
	defer diskguard.Recover(&err)
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(off))
	if err := x.db.Set(append([]byte{prefixTombstone}, topic...), v[:], pebble.NoSync); err != nil {
		return fmt.Errorf("index: delete topic %s: %w", topic, err)
	}
	// Durable at once, as the deletion it records.
	if err := x.db.Flush(); err != nil {
		return fmt.Errorf("index: delete topic %s: %w", topic, err)
	}
	return nil
}

// deletedBefore returns the offset below which topic's entries are hidden, 0 if none.
func (x *Index) deletedBefore(topic []byte) (int64, error) {
	v, closer, err := x.db.Get(append([]byte{prefixTombstone}, topic...))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("index: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, nil
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// dropTombstones removes the tombstones of topics deleted below minPhys: none of their
// hidden records is stored any more.
func (x *Index) dropTombstones(minPhys int64) error {
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTombstone}, UpperBound: []byte{prefixTombstone + 1}})
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	b := x.db.NewBatch()
	defer b.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if v := it.Value(); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= minPhys {
			if err := b.Delete(it.Key(), nil); err != nil {
				it.Close()
				return fmt.Errorf("index: %w", err)
			}
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if b.Empty() {
		return nil
	}
	return b.Commit(pebble.NoSync)
}

// Candidate is an index entry: a record that may carry the key (hashes can collide).
type Candidate struct {
	Offset  int64 // CommitLog physical offset
	StoreMS int64 // store timestamp
}

// Query calls fn with the entries of (topic, key) whose store time is within
// [beginMS, endMS], newest first, looking in the given segments (ascending starts),
// until fn returns false.
func (x *Index) Query(topic, key []byte, beginMS, endMS int64, segs []int64, fn func(Candidate) bool) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.db == nil {
		return ErrClosed
	}
	h := fnv64a(topic, key)
	hidden, err := x.deletedBefore(topic)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return nil
	}
	it, err := x.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	var lo, hi [entryLen]byte
	bucket := func(b int64) bool {
		entryKey(&lo, b, h, 0)
		entryKey(&hi, b, h+1, 0)
		upper := hi[:17]
		if h == ^uint64(0) {
			entryKey(&hi, b+1, 0, 0)
			upper = hi[:9]
		}
		it.SetBounds(lo[:17], upper)
		more := true
		for ok := it.Last(); ok && more; ok = it.Prev() {
			k, v := it.Key(), it.Value()
			if len(k) != entryLen || len(v) != 8 {
				continue
			}
			ts := int64(binary.BigEndian.Uint64(v))
			phys := int64(binary.BigEndian.Uint64(k[17:]))
			if ts < beginMS || ts > endMS || phys < hidden {
				continue
			}
			more = fn(Candidate{Offset: phys, StoreMS: ts})
		}
		return more && it.Error() == nil
	}
	// Entries lie below the applied offset: the newest segment's buckets end there.
	end := x.applied.Load()
	for i := len(segs) - 1; i >= 0; i-- {
		if i < len(segs)-1 {
			end = segs[i+1]
		}
		if !buckets(segs[i], end, x.o.BucketBytes, bucket) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// usable returns nil when a write from outside the writer goroutine may go to pebble.
// Callers hold mu shared.
func (x *Index) usable() error {
	switch {
	case x.db == nil:
		return ErrClosed
	case x.readOnly || x.broken.Load():
		return fmt.Errorf("index: %w: read-only until space returns", diskguard.ErrFull)
	}
	if err := x.o.Guard.AllowMeta(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// Close flushes what was committed (Sync) and closes the index.
func (x *Index) Close() error {
	serr := x.Sync()
	if errors.Is(serr, ErrClosed) {
		return nil
	}
	if err := x.Abandon(); err != nil {
		return err
	}
	return serr
}

// Abandon closes the index without flushing: what was committed since the last Sync
// is lost, as in a crash. Tests use it.
func (x *Index) Abandon() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.db == nil {
		return nil
	}
	x.batch.Close()
	if err := x.closeDB(); err != nil {
		return fmt.Errorf("index: close: %w", err)
	}
	return nil
}
