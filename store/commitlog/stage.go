package commitlog

import (
	"encoding/binary"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Under SYNC_FLUSH the system calls that write records are paid per flush round, not
// per append (docs/architecture.md §4). An append under the lock only stamps its
// records into the staging buffer (headers zeroed, headers kept aside) and moves the
// staged end; the flusher, at the start of each round, writes the whole staged run
// with one pwrite pair — the records, then the headers — under the lock
// (commitLocked), and only then publishes the new end (Written) and msyncs through
// it. Readers (dispatcher, pulls, replication) go by Written, so they never see a byte
// that is not in the file yet; an append is acknowledged only once the msync after its
// commit returns, as before. The lock is held across the pwrite pair so that commits
// (the flusher's, a roll's, Exclusive's) go to the file in offset order.

// stageLocked stamps u's records as copyInLocked stamps them into the staging buffer,
// which is the run of seg from the staged start on; it zeroes every record's header
// (TOTALSIZE and MAGICCODE) there and keeps the header aside for commitLocked.
func (l *Log) stageLocked(seg *segment.File, rel int64, u Unit, qo, pos, ts int64) {
	if len(l.mu.wbuf) == 0 {
		l.mu.stageSeg, l.mu.stageRel = seg, rel
	}
	base := len(l.mu.wbuf)
	l.mu.wbuf = append(l.mu.wbuf, u.Recs...)
	buf := l.mu.wbuf[base:]
	for i, off := 0, 0; i < u.Count; i++ {
		size := int(binary.BigEndian.Uint32(buf[off:]))
		q := int64(0)
		if u.Advance {
			q = qo + int64(i)
		}
		message.PatchRecord(buf[off:off+size], q, pos+int64(off), ts)
		l.mu.heads = append(l.mu.heads, binary.BigEndian.Uint64(buf[off:]))
		clear(buf[off : off+headerLen])
		off += size
	}
}

// commitLocked writes the staged run with two pwrites — the records with their headers
// zeroed, then the headers from the first through the last — and publishes its end to
// readers. Through the file descriptor, not the mapping: pages written that way carry
// no writable page-table entry, so the msync that follows does not write-protect each
// page and shoot down its TLB entry on the other processors (an interrupt per page,
// costly on a virtual machine), and the next write to the page takes no fault
// (docs/architecture.md §4). A process killed between or during them leaves whole records followed by
// records without a header, which recovery cuts as a torn tail: headers zeroed first,
// so no record after the cut looks valid (recovery would take it for corruption of what
// precedes it), and the kernel copies front to back, so a kill part-way through the
// second leaves a prefix of the headers. A failed write fails the log: what the file
// holds past the published end is then unknown.
func (l *Log) commitLocked() (wrote bool, err error) {
	buf, heads, seg, rel := l.mu.wbuf, l.mu.heads, l.mu.stageSeg, l.mu.stageRel
	if len(buf) == 0 {
		return false, nil
	}
	l.awaitZerosLocked(seg, seg.Start()+rel, seg.Start()+rel+int64(len(buf)))
	err = seg.WriteAt(buf, rel)
	if err == nil {
		lastHead := 0
		for i, off := 0, 0; i < len(heads); i++ {
			binary.BigEndian.PutUint64(buf[off:], heads[i])
			lastHead = off
			off += int(heads[i] >> 32) // TOTALSIZE, the header's first 4 bytes
		}
		err = seg.WriteAt(buf[:lastHead+headerLen], rel)
	}
	end := seg.Start() + rel + int64(len(buf))
	l.mu.wbuf, l.mu.heads, l.mu.stageSeg = buf[:0], heads[:0], nil
	if cap(buf) > maxWriteBuf {
		l.mu.wbuf = nil
	}
	if cap(heads) > maxWriteBuf/8 {
		l.mu.heads = nil
	}
	if err != nil {
		l.failLocked(err)
		return false, l.mu.failed
	}
	l.written.Store(end)
	return true, nil
}

// commit writes the staged run to the file and, if it wrote anything, wakes the
// store's dispatcher: the records are readable from now on.
func (l *Log) commit() error {
	l.mu.Lock()
	wrote, err := l.commitLocked()
	l.mu.Unlock()
	if wrote {
		l.o.Notify()
	}
	return err
}
