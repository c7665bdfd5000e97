package index

import (
	"encoding/binary"
	"fmt"
	"os"
)

// Add indexes key for the record at phys (stored at storeMS). The entry becomes
// visible at the next Commit. When the disk has no room for the entry, Add or the
// next Commit fails with an error wrapping diskguard.ErrFull, every entry added since
// the last commit is dropped, and that Commit fails too: the writer adds the round
// again.
//
// Add hashes the key and queues the entry; the queue is written every queuedKeys
// entries and at Commit (see queuedKeys).
func (x *Index) Add(topic, key []byte, phys, storeMS int64) error {
	if len(key) == 0 {
		return nil
	}
	if x.failErr != nil {
		return x.failErr
	}
	if string(topic) != string(x.lastTopic) {
		x.lastTopic = append(x.lastTopic[:0], topic...)
		x.lastTopicHash = fnvTopic(topic)
	}
	h := fnvKey(x.lastTopicHash, key)
	x.queued = append(x.queued, queuedEntry{hash: h, phys: phys, ms: storeMS})
	if len(x.queued) < queuedKeys {
		return nil
	}
	return x.drain()
}

// queuedEntry is an entry Add hashed but has not written yet.
type queuedEntry struct {
	hash     uint64
	phys, ms int64
}

// queuedKeys is how many entries Add queues before writing them. Writing an entry
// reads its hash slot, a random place in an array of 20 MB that is rarely in the
// processor's cache, and then stores the slot atomically, which on amd64 is a full
// barrier: written one by one, every entry waits out its own cache miss (about 150 ns
// of the 400 ns an entry cost here). drain reads all the queue's slots first, one read
// right after the other, so that their misses overlap.
const queuedKeys = 32

// drain writes the queued entries.
func (x *Index) drain() error {
	if f := x.last(); f != nil && f.slots != nil {
		// Read every slot the queue will update before writing any entry: the reads
		// follow each other with nothing between, so their cache misses overlap. Plain
		// reads: only this goroutine stores slots.
		var sum uint32
		for i := range x.queued {
			sum += f.slots[x.queued[i].hash%uint64(f.nslots)]
		}
		x.touched += sum
	}
	for i := range x.queued {
		q := &x.queued[i]
		if err := x.write(q.hash, q.phys, q.ms); err != nil {
			return err // write failed the round: rollback emptied the queue
		}
	}
	x.queued = x.queued[:0]
	return nil
}

// write adds one entry to the writer's file, rolling to a new file when it is full.
func (x *Index) write(h uint64, phys, storeMS int64) error {
	f := x.last()
	if f == nil || f.n == f.entries {
		if err := x.roll(phys); err != nil {
			return x.fail(err)
		}
		f = x.last()
	}
	if err := f.reserve(f.n, x.o.Guard); err != nil {
		return x.fail(err)
	}
	e := f.n
	slot := f.slot(h)
	b := f.entry(e)
	binary.LittleEndian.PutUint64(b, h)
	binary.LittleEndian.PutUint64(b[8:], uint64(phys))
	binary.LittleEndian.PutUint64(b[16:], uint64(storeMS))
	binary.LittleEndian.PutUint32(b[24:], *slot) // only the writer stores slots
	storeSlot(slot, e+1)
	f.n = e + 1
	if storeMS < f.minMS.Load() {
		f.minMS.Store(storeMS)
	}
	if storeMS > f.maxMS.Load() {
		f.maxMS.Store(storeMS)
	}
	x.pend++
	return nil
}

// fail drops the round's entries and remembers err for Commit.
func (x *Index) fail(err error) error {
	x.rollback()
	x.failErr = err
	return err
}

// Full reports whether the entries added since the last commit have reached their
// bound and should be committed.
func (x *Index) Full() bool { return x.pend+len(x.queued) >= maxBatchKeys }

// Commit writes the queued entries and makes every entry added since the last commit
// visible to queries, with the new applied offset. Writing the queue may start a new
// file or allocate entries ahead (fallocate); otherwise Commit makes no system call:
// the entries reach the disk at the next Sync (or earlier, by the kernel's writeback,
// which does no harm: only a header names entries as durable). After a failed Add, or
// when writing the queue fails, it reports that failure and commits nothing.
func (x *Index) Commit(applied int64) error {
	if x.failErr == nil {
		_ = x.drain() // a failure is in failErr
	}
	if err := x.failErr; err != nil {
		x.failErr = nil
		return err
	}
	x.cmu.Lock()
	cf := x.cFile
	x.cmu.Unlock()
	if x.pend == 0 && applied == x.applied.Load() && cf == x.last() {
		return nil
	}
	x.mu.RLock()
	closed := x.closed
	var last *file
	if !closed {
		// Every file the round wrote into, from the one committed last to the newest,
		// oldest first: a query walks newest first, so once it sees a newer file's
		// entries it also sees the older files' entries of the same round.
		i := len(x.files) - 1
		for i > 0 && x.files[i] != cf {
			i--
		}
		for ; i < len(x.files); i++ {
			f := x.files[i]
			f.committed.Store(f.n)
		}
		last = x.last()
	}
	x.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	x.setCommitted(last, applied)
	x.pend = 0
	return nil
}

// setCommitted records what Sync makes durable next: f (the newest file, nil if none)
// through its current count, and the applied offset, which Applied reports from now on.
func (x *Index) setCommitted(f *file, applied int64) {
	x.cmu.Lock()
	x.cFile, x.cApplied = f, applied
	if f != nil {
		x.cCount = f.n
	}
	x.cmu.Unlock()
	x.applied.Store(applied)
}

// rollback drops the entries added since the last commit: their slots get back the
// heads they replaced, newest first, and files created for them are removed.
func (x *Index) rollback() {
	x.queued = x.queued[:0]
	x.cmu.Lock()
	cf, cc := x.cFile, x.cCount
	x.cmu.Unlock()
	for x.pend > 0 {
		f := x.last()
		if f == nil {
			break
		}
		stop := uint32(0)
		if f == cf {
			stop = cc
		}
		for f.n > stop && x.pend > 0 {
			b := f.entry(f.n - 1)
			storeSlot(f.slot(entryHash(b)), entryPrev(b))
			f.n--
			x.pend--
		}
		if f == cf || x.pend == 0 {
			break
		}
		x.dropLast()
	}
	x.pend = 0
	// Files created for the round and still empty go too.
	for f := x.last(); f != nil && f != cf && f.n == 0; f = x.last() {
		x.dropLast()
	}
}

// dropLast removes the writer's file, which holds no committed entry.
func (x *Index) dropLast() {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.Lock()
	f := x.files[len(x.files)-1]
	x.setFiles(x.files[:len(x.files)-1])
	x.mu.Unlock()
	f.unmap()
	if err := os.Remove(f.path); err != nil {
		x.log.Warn().Err(err).Str("file", f.path).Msg("removing an unused key index file")
	}
}

// roll starts a new file, its header saying applied (every record below applied has
// its entries in the files before). The full file before it is sealed by the next
// Sync.
func (x *Index) roll(applied int64) error {
	if x.isClosed() {
		return ErrClosed
	}
	seq := x.seq + 1
	f, err := createFile(x.path(seq), seq, uint32(x.o.Slots), uint32(x.o.Entries), applied, x.o.Guard)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	x.seq = seq
	x.mu.Lock()
	x.setFiles(append(x.files, f))
	x.mu.Unlock()
	return nil
}
