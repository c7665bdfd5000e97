package commitlog

import (
	"encoding/binary"
	"fmt"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Reader reads records in log order with pread into a buffer of its own, for the
// store's dispatcher and indexer under SYNC_FLUSH, which read every record once, right
// after it was written.
//
// Why not the mapping (At): under SYNC_FLUSH appends write with pwrite (stage.go), so the
// pages of new records carry no page-table entry of this process; the first read of
// each page through the mapping then faults one in, and on the virtual machines this
// runs on a page-table update costs the hypervisor's trap, several µs per 4 KiB page —
// about 0.6-0.9 µs per 1 KiB record, where a 256 KiB pread costs 0.01 µs per record
// (docs/architecture.md §4).
//
// A Reader is used by one goroutine at a time. The record At returns is a slice of the
// reader's buffer, valid until the next call.
type Reader struct {
	l          *Log
	buf        []byte
	start, end int64 // buf[:end-start] holds the log's bytes [start, end)
	cuts       int64 // the log's cuts when buf was read
}

// readChunk is how much a Reader reads ahead in one pread.
const readChunk = 256 << 10

// NewReader returns a Reader over l.
func (l *Log) NewReader() *Reader { return &Reader{l: l} }

// At is Log.At through the reader's buffer: the record that starts at pos and the
// offset of the next one; a blank at pos returns a nil record and the next segment's
// start. The caller knows the log's records to be complete below end (Written, or
// what recovery verified so far), and pos lies below it; the reader reads ahead no
// further.
func (r *Reader) At(pos, end int64) (rec []byte, next int64, err error) {
	if pos < r.start || pos+message.MinBlankSize > r.end || r.l.cuts.Load() != r.cuts {
		if err := r.fill(pos, message.MinBlankSize, end); err != nil {
			return nil, 0, err
		}
	}
	b := r.buf[pos-r.start : r.end-r.start]
	size := int64(int32(binary.BigEndian.Uint32(b)))
	switch binary.BigEndian.Uint32(b[4:]) {
	case message.MagicBlank:
		seg := r.l.files.Find(pos)
		if seg == nil {
			return nil, 0, fmt.Errorf("%w %d: no segment holds it", ErrNoRecord, pos)
		}
		return nil, seg.End(), nil
	case message.MagicV1:
	default:
		return nil, 0, fmt.Errorf("%w: bad magic at %d", segment.ErrCorrupt, pos)
	}
	if size < message.FixedOverheadV4 {
		return nil, 0, fmt.Errorf("%w: record size %d at %d", segment.ErrCorrupt, size, pos)
	}
	if pos+size > r.end {
		if err := r.fill(pos, size, end); err != nil {
			return nil, 0, err
		}
		b = r.buf[pos-r.start : r.end-r.start]
	}
	return b[:size:size], pos + size, nil
}

// fill reads from pos at least need bytes — readChunk if the segment and end allow
// it — into the buffer. Fewer than need bytes left in pos's segment is damage, as At
// reports it; fewer below end, a record that runs past what the caller knows to be
// complete.
func (r *Reader) fill(pos, need, end int64) error {
	seg := r.l.files.Find(pos)
	if seg == nil {
		return fmt.Errorf("%w %d: no segment holds it", ErrNoRecord, pos)
	}
	if pos+need > seg.End() {
		return fmt.Errorf("%w: %d bytes at %d run past the end of segment %s", segment.ErrCorrupt, need, pos, seg.Path())
	}
	limit := min(seg.End(), end)
	if pos+need > limit {
		return fmt.Errorf("%w %d: %d bytes run past %d, the end of what is complete", ErrNoRecord, pos, need, limit)
	}
	n := min(max(need, readChunk), limit-pos)
	if int64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	r.start, r.end = pos, pos // invalid until the read succeeds
	// Loaded before the read: a cut during it leaves the buffer marked stale.
	r.cuts = r.l.cuts.Load()
	if err := seg.ReadAt(r.buf, pos-seg.Start()); err != nil {
		return err
	}
	r.end = pos + n
	return nil
}
