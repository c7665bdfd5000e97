package index

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// pending is an entry added since the last commit, kept as numbers until the commit
// sorts and encodes the lot.
type pending struct {
	bucket, hash uint64
	phys, ms     int64
}

func comparePending(a, b pending) int {
	if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
		return c
	}
	if c := cmp.Compare(a.hash, b.hash); c != 0 {
		return c
	}
	return cmp.Compare(a.phys, b.phys)
}

// fill sorts the pending entries by key and sets them into b. Pebble inserts a batch's
// keys into its memtable skiplist one after the other, starting each search from where
// the previous key went: in key order, consecutive inserts share most of the path
// down the list, where hash order would make every insert a search from the top through
// cold nodes. Sorting 64 entries costs less than the searches it saves.
func fill(b *pebble.Batch, entries []pending) error {
	slices.SortFunc(entries, comparePending)
	var k [entryLen]byte
	var v [8]byte
	for _, e := range entries {
		entryKey(&k, int64(e.bucket), e.hash, e.phys)
		binary.BigEndian.PutUint64(v[:], uint64(e.ms))
		if err := b.Set(k[:], v[:], nil); err != nil {
			return err
		}
	}
	return nil
}

// bucketOf returns the start of the bucket that holds the entry of the record at phys in
// the CommitLog segment starting at seg: buckets split a segment into runs of
// bucketBytes of log, counted from the segment's start.
func bucketOf(seg, phys, bucketBytes int64) int64 {
	return seg + (phys-seg)/bucketBytes*bucketBytes
}

// buckets calls fn with the bucket starts of the segment [seg, end), newest first,
// until fn returns false, and reports whether it ran to the end. The first bucket
// (seg itself) always comes, even when end is not past it: it also holds the entries
// written before the index had buckets, when an entry's key named its segment.
func buckets(seg, end, bucketBytes int64, fn func(bucket int64) bool) bool {
	last := seg
	if end > seg {
		last = bucketOf(seg, end-1, bucketBytes)
	}
	for b := last; b >= seg; b -= bucketBytes {
		if !fn(b) {
			return false
		}
	}
	return true
}
