package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// Key prefixes (see doc.go for the layouts).
const (
	prefixKey     = 'k'
	prefixReverse = 'r'
	prefixMeta    = 'm'
)

var appliedKey = []byte{prefixMeta, 'a', 'p', 'p', 'l', 'i', 'e', 'd'}

// Limits on the reverse record of one commit: past them Add commits on its own so a
// batch (and the value holding its keys) stays bounded.
const (
	maxBatchKeys  = 8192
	maxBatchBytes = 1 << 20
)

// ErrClosed reports use of a closed index.
var ErrClosed = errors.New("index: closed")

// Options configures an Index.
type Options struct {
	Dir    string
	Logger zerolog.Logger
}

// Index maps (topic, key) to the CommitLog offsets of the records that carry the key,
// in pebble. The dispatcher is its only writer (Add, Commit, Truncate, DeleteBefore,
// DeleteTopic run on one goroutine at a time); Query may run concurrently.
type Index struct {
	db  *pebble.DB
	log zerolog.Logger

	batch   *pebble.Batch
	rev     []byte // main keys added since the last commit, each uvarint-length-prefixed
	revFrom int64  // CommitLog offset of the first record added since the last commit
	keys    int
	scratch []byte
	applied int64
}

// Open opens (or creates) the index in o.Dir.
func Open(o Options) (*Index, error) {
	lg := o.Logger.With().Str("component", "index").Logger()
	opts := &pebble.Options{
		Logger:       pebbleLogger{lg},
		MemTableSize: 8 << 20,
	}
	db, err := pebble.Open(o.Dir, opts)
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", o.Dir, err)
	}
	x := &Index{db: db, log: lg, revFrom: -1}
	v, closer, err := db.Get(appliedKey)
	switch {
	case err == nil:
		if len(v) == 8 {
			x.applied = int64(binary.BigEndian.Uint64(v))
		}
		closer.Close()
	case errors.Is(err, pebble.ErrNotFound):
	default:
		db.Close()
		return nil, fmt.Errorf("index: read applied offset: %w", err)
	}
	x.batch = db.NewBatch()
	return x, nil
}

// Applied returns the CommitLog offset through which records are indexed (committed).
func (x *Index) Applied() int64 { return x.applied }

// appendMainKey appends the main key of (segment, topic, key, phys) to dst.
func appendMainKey(dst []byte, seg int64, topic, key []byte, phys int64) []byte {
	dst = append(dst, prefixKey)
	dst = binary.BigEndian.AppendUint64(dst, uint64(seg))
	dst = binary.AppendUvarint(dst, uint64(len(topic)))
	dst = append(dst, topic...)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	return binary.BigEndian.AppendUint64(dst, uint64(phys))
}

// Add indexes key for the record at phys (stored at storeMS) in the CommitLog segment
// that starts at seg. The entry becomes visible at the next Commit.
func (x *Index) Add(seg int64, topic, key []byte, phys, storeMS int64) error {
	if len(key) == 0 {
		return nil
	}
	if x.revFrom < 0 {
		x.revFrom = phys
	}
	x.scratch = appendMainKey(x.scratch[:0], seg, topic, key, phys)
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(storeMS))
	if err := x.batch.Set(x.scratch, ts[:], nil); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	x.rev = binary.AppendUvarint(x.rev, uint64(len(x.scratch)))
	x.rev = append(x.rev, x.scratch...)
	x.keys++
	return nil
}

// Full reports whether the pending batch has reached its bounds and should be committed.
func (x *Index) Full() bool { return x.keys >= maxBatchKeys || len(x.rev) >= maxBatchBytes }

// Commit makes every entry added since the last commit visible, together with the
// reverse record that lets Truncate find them and the new applied offset, in one atomic
// pebble batch. It is not synced: the WAL reaches the disk with the next Sync (the
// checkpoint) or pebble's own flushes; after a crash pebble recovers a prefix of the
// batches, and the applied offset in it always matches the entries.
func (x *Index) Commit(applied int64) error {
	if x.db == nil {
		return ErrClosed
	}
	if x.keys == 0 && applied == x.applied {
		return nil
	}
	if x.keys > 0 {
		var k [9]byte
		k[0] = prefixReverse
		binary.BigEndian.PutUint64(k[1:], uint64(x.revFrom))
		if err := x.batch.Set(k[:], x.rev, nil); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(applied))
	if err := x.batch.Set(appliedKey, v[:], nil); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := x.batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("index: commit: %w", err)
	}
	x.batch.Reset()
	x.rev = x.rev[:0]
	x.revFrom = -1
	x.keys = 0
	x.applied = applied
	return nil
}

// Sync makes every committed batch durable.
func (x *Index) Sync() error {
	if x.db == nil {
		return ErrClosed
	}
	if err := x.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("index: sync: %w", err)
	}
	return nil
}

// Truncate removes every entry for a record at or past off and lowers the applied
// offset to off (the CommitLog was cut there, or a re-dispatch restarts there). Pending
// uncommitted entries are dropped.
func (x *Index) Truncate(off int64) error {
	if x.db == nil {
		return ErrClosed
	}
	x.batch.Reset()
	x.rev, x.revFrom, x.keys = x.rev[:0], -1, 0
	if x.applied <= off {
		return nil
	}
	// The reverse record that covers off starts at or before it; all later ones after.
	var lo [9]byte
	lo[0] = prefixReverse
	binary.BigEndian.PutUint64(lo[1:], uint64(off))
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixReverse}, UpperBound: []byte{prefixReverse + 1}})
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	b := x.db.NewBatch()
	defer b.Close()
	valid := it.SeekLT(lo[:])
	if !valid {
		valid = it.First()
	}
	for ; valid; valid = it.Next() {
		start := int64(binary.BigEndian.Uint64(it.Key()[1:]))
		rev := it.Value()
		for len(rev) > 0 {
			n, w := binary.Uvarint(rev)
			if w <= 0 || uint64(len(rev)-w) < n {
				break // cannot happen for values this package wrote
			}
			k := rev[w : w+int(n)]
			rev = rev[w+int(n):]
			if len(k) >= 8 && int64(binary.BigEndian.Uint64(k[len(k)-8:])) >= off {
				if err := b.Delete(k, nil); err != nil {
					it.Close()
					return fmt.Errorf("index: %w", err)
				}
			}
		}
		if start >= off {
			if err := b.Delete(it.Key(), nil); err != nil {
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
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("index: truncate: %w", err)
	}
	x.applied = off
	return nil
}

// DeleteBefore drops every entry of the CommitLog segments that start below minSeg (they
// were deleted by retention), and the reverse records below minPhys. Range deletions
// make it cheap however many entries there are.
func (x *Index) DeleteBefore(minSeg, minPhys int64) error {
	if x.db == nil {
		return ErrClosed
	}
	var hi [9]byte
	hi[0] = prefixKey
	binary.BigEndian.PutUint64(hi[1:], uint64(minSeg))
	b := x.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange([]byte{prefixKey}, hi[:], nil); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	hi[0] = prefixReverse
	binary.BigEndian.PutUint64(hi[1:], uint64(minPhys))
	if err := b.DeleteRange([]byte{prefixReverse}, hi[:], nil); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("index: delete before %d: %w", minSeg, err)
	}
	return nil
}

// topicPrefix returns 'k' | seg | len(topic) | topic.
func topicPrefix(dst []byte, seg int64, topic string) []byte {
	dst = append(dst, prefixKey)
	dst = binary.BigEndian.AppendUint64(dst, uint64(seg))
	dst = binary.AppendUvarint(dst, uint64(len(topic)))
	return append(dst, topic...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// DeleteTopic drops every entry of topic in the given segments.
func (x *Index) DeleteTopic(topic string, segs []int64) error {
	if x.db == nil {
		return ErrClosed
	}
	b := x.db.NewBatch()
	defer b.Close()
	for _, s := range segs {
		p := topicPrefix(nil, s, topic)
		if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("index: delete topic %s: %w", topic, err)
	}
	return nil
}

// Query returns the CommitLog offsets of up to max records of topic carrying key whose
// store time is within [beginMS, endMS], newest first, looking in the given segments
// (ascending starts, all live).
func (x *Index) Query(topic, key string, beginMS, endMS int64, max int, segs []int64) ([]int64, error) {
	if x.db == nil {
		return nil, ErrClosed
	}
	var out []int64
	for i := len(segs) - 1; i >= 0 && len(out) < max; i-- {
		p := topicPrefix(nil, segs[i], topic)
		p = binary.AppendUvarint(p, uint64(len(key)))
		p = append(p, key...)
		it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return out, fmt.Errorf("index: %w", err)
		}
		for ok := it.Last(); ok && len(out) < max; ok = it.Prev() {
			k := it.Key()
			if len(k) != len(p)+8 || !bytes.HasPrefix(k, p) {
				continue
			}
			v := it.Value()
			if len(v) != 8 {
				continue
			}
			ts := int64(binary.BigEndian.Uint64(v))
			if ts < beginMS || ts > endMS {
				continue
			}
			out = append(out, int64(binary.BigEndian.Uint64(k[len(p):])))
		}
		if err := it.Close(); err != nil {
			return out, fmt.Errorf("index: %w", err)
		}
	}
	return out, nil
}

// Close closes the index (without syncing; call Sync first for durability).
func (x *Index) Close() error {
	if x.db == nil {
		return nil
	}
	x.batch.Close()
	err := x.db.Close()
	x.db = nil
	if err != nil {
		return fmt.Errorf("index: close: %w", err)
	}
	return nil
}

// pebbleLogger routes pebble's log lines to zerolog.
type pebbleLogger struct{ l zerolog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug().Msgf(format, args...)
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error().Msgf(format, args...)
}

// Fatalf reports an error pebble cannot continue after (its contract: Fatalf does not
// return). It panics rather than exiting the process, so the broker's own shutdown
// runs.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error().Msg(msg)
	panic("index: pebble: " + msg)
}
