package commitlog

import (
	"encoding/binary"
	"sync"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Under SYNC_FLUSH the system calls that write records are paid per batch of appends,
// not per append (docs/architecture.md §4). Two parts:
//
//   - Staging: an append under the lock only stamps its records into a buffer (headers
//     zeroed, headers kept aside); commitLocked writes the whole staged run with one
//     pwrite pair — the records, then the headers — and only then publishes the new end
//     (Written). Nothing is staged while the lock is free: every holder that stages
//     commits before it lets go, so readers never see a byte that is not in the file.
//   - Combining: Append queues its unit and the first appender that finds no combiner
//     becomes one: it takes the lock, drains the queue, stages every unit, commits them
//     with one pwrite pair and hands each owner its result. Appenders that queue while
//     it works wait on their slot, not on the lock; when it is done it hands the role to
//     the first of them, which drains all that queued meanwhile. The appenders a flush
//     round releases thus go to the file in a few pwrite pairs instead of one each.

// slot is one queued Append: the unit, and its result once a combiner appended it.
type slot struct {
	u   Unit
	res Result
	err error
	// ch receives false when res and err are set, true when the owner must combine.
	ch chan bool
}

var slotPool = sync.Pool{New: func() any { return &slot{ch: make(chan bool, 1)} }}

// combiner is the queue of appends waiting for a combiner.
type combiner struct {
	mu    sync.Mutex
	queue []*slot
	spare []*slot // the drained queue's array, reused
	busy  bool    // a combiner runs or has been handed the role
}

// appendCombined is Append under SYNC_FLUSH: u is appended by whichever appender is
// combining, in one pwrite pair with every other unit queued with it.
func (l *Log) appendCombined(u Unit) (Result, error) {
	s := slotPool.Get().(*slot)
	s.u = u
	c := &l.comb
	c.mu.Lock()
	c.queue = append(c.queue, s)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if !lead {
		lead = <-s.ch
	}
	if lead {
		l.combine(s)
	}
	r, err := s.res, s.err
	*s = slot{ch: s.ch}
	slotPool.Put(s)
	return r, err
}

// combine drains the queue once — it holds the caller's own slot, own, at least —
// appends every unit in it, hands every other owner its result, then hands the combiner
// role to the first appender that queued since, or gives it up.
func (l *Log) combine(own *slot) {
	c := &l.comb
	c.mu.Lock()
	batch := c.queue
	c.queue = c.spare[:0]
	c.mu.Unlock()

	l.mu.Lock()
	var (
		seg      *segment.File
		rel      int64
		appended bool
	)
	ts := l.o.Now().UnixMilli()
	for _, s := range batch {
		sg, r, out, err := l.appendCountedLocked(s.u, ts)
		if s.res, s.err = out, err; err == nil {
			seg, rel, appended = sg, r, true
		}
	}
	if appended {
		if l.commitLocked() != nil || l.mu.failed != nil {
			// A failed write — this one or one before a roll — fails the whole batch.
			for _, s := range batch {
				if s.err == nil {
					s.err = l.mu.failed
				}
			}
		}
		l.wakeUnlock(seg, rel)
	} else {
		l.mu.Unlock()
	}

	// An owner reuses its slot as soon as it has its result: none is touched after.
	for i, s := range batch {
		batch[i] = nil
		if s != own {
			s.ch <- false
		}
	}
	c.mu.Lock()
	var next *slot
	if len(c.queue) > 0 {
		next = c.queue[0]
	} else {
		c.busy = false
	}
	c.spare = batch[:0]
	c.mu.Unlock()
	if next != nil {
		next.ch <- true
	}
}

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
// readers. A process killed between or during them leaves whole records followed by
// records without a header, which recovery cuts as a torn tail: headers zeroed first,
// so no record after the cut looks valid (recovery would take it for corruption of what
// precedes it), and the kernel copies front to back, so a kill part-way through the
// second leaves a prefix of the headers. A failed write fails the log: what the file
// holds past the published end is then unknown.
func (l *Log) commitLocked() error {
	buf, heads, seg, rel := l.mu.wbuf, l.mu.heads, l.mu.stageSeg, l.mu.stageRel
	if len(buf) == 0 {
		return nil
	}
	err := seg.WriteAt(buf, rel)
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
		return l.mu.failed
	}
	l.written.Store(end)
	return nil
}
