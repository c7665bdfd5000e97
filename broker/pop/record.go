package pop

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kinds of POP log records (docs/pop.md §3).
const (
	kindCK     byte = 1 // a pop: these offsets were delivered at popTime
	kindAck    byte = 2 // one delivery acknowledged
	kindChange byte = 3 // one delivery's invisible time changed
	kindDLQ    byte = 4 // one delivery ended in the dead-letter queue
	kindReset  byte = 5 // forget a group's or a topic's state ("" matches all)
)

const (
	recMagic   = 'P'
	recVersion = 1
	// maxItems bounds the offsets of one CK record (a pop returns at most 32 per queue;
	// the bound only limits what a corrupt record could make the decoder allocate).
	maxItems = 4096
)

// ErrBadRecord marks a POP log record body that does not decode.
var ErrBadRecord = errors.New("pop: bad log record")

// item is one delivered message of a CK record.
type item struct {
	offset   int64
	attempts int32 // deliveries so far, this one included
}

// record is one POP state change as written to the revive log topic. Which fields
// count depends on kind.
type record struct {
	kind    byte
	group   string
	topic   string
	queueID int32
	// kindCK
	popTime       int64
	invisibleTime int64
	fifo          bool
	next          int64 // the queue's next never-popped offset after this pop
	items         []item
	// kindAck, kindDLQ, kindChange
	offset int64
	oldPop int64 // the popTime the record applies to
	newPop int64 // kindChange
	newInv int64 // kindChange
}

// encode appends the record body:
//
//	+-----+------+-----+----------+-------+----------+-------+---------+----------------+
//	| 'P' | kind | ver | groupLen | group | topicLen | topic | queueId | kind fields... |
//	|  1  |  1   |  1  |    2     |       |    2     |       |    4    |                |
//	+-----+------+-----+----------+-------+----------+-------+---------+----------------+
//
//	CK:     popTime 8 | invisibleTime 8 | flags 1 (bit 0 FIFO) | next 8 | n 2 | n × (offset 8, attempts 4)
//	ACK:    offset 8 | popTime 8
//	DLQ:    offset 8 | popTime 8
//	CHANGE: offset 8 | oldPopTime 8 | newPopTime 8 | newInvisibleTime 8
//	RESET:  nothing more (an empty group or topic matches every one; queueId 0)
//
// Integers are big-endian; strings are UTF-8 with a 2-byte length.
func (r *record) encode(dst []byte) []byte {
	dst = append(dst, recMagic, r.kind, recVersion)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.group)))
	dst = append(dst, r.group...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.topic)))
	dst = append(dst, r.topic...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(r.queueID))
	u64 := func(v int64) { dst = binary.BigEndian.AppendUint64(dst, uint64(v)) }
	switch r.kind {
	case kindCK:
		u64(r.popTime)
		u64(r.invisibleTime)
		var flags byte
		if r.fifo {
			flags |= 1
		}
		dst = append(dst, flags)
		u64(r.next)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.items)))
		for _, it := range r.items {
			u64(it.offset)
			dst = binary.BigEndian.AppendUint32(dst, uint32(it.attempts))
		}
	case kindAck, kindDLQ:
		u64(r.offset)
		u64(r.oldPop)
	case kindChange:
		u64(r.offset)
		u64(r.oldPop)
		u64(r.newPop)
		u64(r.newInv)
	}
	return dst
}

// decodeRecord parses a record body. It never panics and never reads past b.
func decodeRecord(b []byte) (*record, error) {
	d := decoder{b: b}
	if d.u8() != recMagic {
		return nil, fmt.Errorf("%w: magic", ErrBadRecord)
	}
	r := &record{kind: d.u8()}
	if v := d.u8(); v != recVersion && d.err == nil {
		return nil, fmt.Errorf("%w: version %d", ErrBadRecord, v)
	}
	r.group = d.str()
	r.topic = d.str()
	r.queueID = int32(d.u32())
	switch r.kind {
	case kindCK:
		r.popTime = d.i64()
		r.invisibleTime = d.i64()
		r.fifo = d.u8()&1 != 0
		r.next = d.i64()
		n := int(d.u16())
		if n > maxItems || n*12 > d.left() {
			return nil, fmt.Errorf("%w: %d items in %d bytes", ErrBadRecord, n, d.left())
		}
		r.items = make([]item, n)
		for i := range r.items {
			r.items[i] = item{offset: d.i64(), attempts: int32(d.u32())}
		}
	case kindAck, kindDLQ:
		r.offset = d.i64()
		r.oldPop = d.i64()
	case kindChange:
		r.offset = d.i64()
		r.oldPop = d.i64()
		r.newPop = d.i64()
		r.newInv = d.i64()
	case kindReset:
	default:
		if d.err == nil {
			return nil, fmt.Errorf("%w: kind %d", ErrBadRecord, r.kind)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.left() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadRecord, d.left())
	}
	return r, nil
}

// decoder reads big-endian fields and keeps the first error (a short read).
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("%w: truncated", ErrBadRecord)
		d.b = nil
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) left() int { return len(d.b) }

func (d *decoder) u8() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) i64() int64 {
	if v := d.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func (d *decoder) str() string { return string(d.take(int(d.u16()))) }
