package index

import (
	"fmt"
	"os"
	"slices"
	"sort"
)

// Sync makes every committed entry durable with its applied offset: the entries written
// since the last Sync are written to disk first, then the header naming them. A full
// file the writer has left is sealed first: its entries and slots reach the disk before
// its header says sealed, after which its slots are trusted as they are. The store's
// checkpoint calls it every second.
func (x *Index) Sync() error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.RLock()
	if x.closed {
		x.mu.RUnlock()
		return ErrClosed
	}
	files := slices.Clone(x.files)
	x.mu.RUnlock()
	x.cmu.Lock()
	cf, cc, ca := x.cFile, x.cCount, x.cApplied
	x.cmu.Unlock()
	if cf == nil || (cf == x.syncedFile && ca == x.syncedApplied && cc == cf.synced) {
		return nil
	}
	for i, f := range files {
		if f == cf {
			break
		}
		if !f.sealed && i+1 < len(files) {
			if err := x.seal(f, files[i+1].startApplied); err != nil {
				return err
			}
		}
	}
	if err := cf.msync(cf.entryOff(min(cf.synced, cc)), cf.entryOff(cc)); err != nil {
		return err
	}
	if err := cf.writeHeader(cf.header(cc, ca, false)); err != nil {
		return err
	}
	cf.synced = cc
	x.syncedFile, x.syncedApplied = cf, ca
	return nil
}

// seal makes a full file's entries and slots durable, then its header, sealed with
// applied: the offset below which every record has its entries in this file or
// earlier ones (the next file's start).
func (x *Index) seal(f *file, applied int64) error {
	n := f.committed.Load()
	if err := f.msync(f.entryOff(min(f.synced, n)), f.entryOff(n)); err != nil {
		return err
	}
	full := n == f.entries
	if full {
		f.copySlots()
	}
	if err := f.msync(headerSize, f.entryOff(0)); err != nil {
		return err
	}
	if err := f.writeHeader(f.header(n, applied, full)); err != nil {
		return err
	}
	f.synced, f.sealed = n, full
	if full {
		x.mu.Lock()
		f.useMapped()
		x.mu.Unlock()
	}
	return nil
}

// Truncate removes every entry for a record at or past off and lowers the applied
// offset to off (the CommitLog was cut there), durably at once: records past off will
// be appended and indexed again, and a crash must not bring back the old entries with
// an applied offset past them. Entries not yet committed are dropped.
func (x *Index) Truncate(off int64) error {
	x.rollback()
	x.failErr = nil
	if x.applied.Load() <= off {
		return nil
	}
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return ErrClosed
	}
	// Files whose first entry is at or past off go whole; entries are in log order.
	keep := len(x.files)
	for keep > 0 {
		f := x.files[keep-1]
		if f.n > 0 && entryPhys(f.entry(0)) < off {
			break
		}
		keep--
	}
	drop := slices.Clone(x.files[keep:])
	x.setFiles(x.files[:keep])
	var f *file
	var err error
	if keep > 0 {
		f = x.files[keep-1]
		cut := uint32(sort.Search(int(f.n), func(e int) bool { return entryPhys(f.entry(uint32(e))) >= off }))
		err = f.rebuild(cut)
		if err != nil {
			// The slots could not be rebuilt: the entries past the cut stay in the
			// chains, but a query takes none at or past the count.
			f.n = min(f.n, cut)
			f.committed.Store(f.n)
		}
		f.sealed = false
		if err == nil {
			err = f.msync(f.entryOff(min(f.synced, cut)), f.entryOff(cut))
		}
		if err == nil {
			err = f.writeHeader(f.header(cut, off, false))
		}
		if err == nil {
			f.synced = cut
		}
	}
	// The list and f are cut: the committed state follows at once, so that whatever
	// fails below, Applied is never past the entries held and Sync never meets a
	// dropped (unmapped) file.
	x.setCommitted(f, off)
	x.syncedFile = nil
	x.mu.Unlock()
	for _, d := range drop {
		d.unmap()
		if rerr := os.Remove(d.path); rerr != nil && err == nil {
			err = fmt.Errorf("index: truncate: %w", rerr)
		}
	}
	if len(drop) > 0 && err == nil {
		err = syncDir(x.o.Dir)
	}
	if err == nil {
		// A topic deleted at an offset past the cut: its tombstone would hide the
		// records a topic of the same name gets there once the log grows again.
		err = x.tomb.lowerAbove(x.o.Dir, off)
	}
	if err != nil {
		return err
	}
	if f == nil {
		// Nothing is left below off: start a file that says so.
		seq := x.seq + 1
		if f, err = createFile(x.path(seq), seq, uint32(x.o.Slots), uint32(x.o.Entries), off, x.o.Guard); err != nil {
			return err
		}
		x.seq = seq
		if err := f.writeHeader(f.header(0, off, false)); err != nil {
			return err
		}
		x.mu.Lock()
		x.setFiles(append(x.files, f))
		x.mu.Unlock()
	}
	x.setCommitted(f, off)
	x.syncedFile, x.syncedApplied = f, off
	return nil
}

// DeleteBefore drops the index files whose entries all lie below minSeg (retention
// deleted those CommitLog segments), never the writer's file, and the tombstones of
// topics deleted below it. Entries below minSeg in the files kept are skipped by
// Query, which is told the live segments. It may run concurrently with the writer.
func (x *Index) DeleteBefore(minSeg int64) error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.cmu.Lock()
	cf := x.cFile
	x.cmu.Unlock()
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return ErrClosed
	}
	n := 0
	for n < len(x.files)-1 {
		f := x.files[n]
		if f == cf || (f.n > 0 && entryPhys(f.entry(f.n-1)) >= minSeg) {
			break
		}
		n++
	}
	drop := slices.Clone(x.files[:n])
	// Never the last file: the writer's (cur) stays as it is, and is not written here.
	x.files = slices.Delete(x.files, 0, n)
	x.mu.Unlock()
	for _, f := range drop {
		f.unmap()
		if err := os.Remove(f.path); err != nil {
			return fmt.Errorf("index: delete before %d: %w", minSeg, err)
		}
	}
	if len(drop) > 0 {
		if err := syncDir(x.o.Dir); err != nil {
			return err
		}
	}
	return x.tomb.dropBelow(x.o.Dir, minSeg)
}

// DeleteTopic hides every entry of topic for a record below off (the topic was deleted
// when the log ended at off): entries are keyed by hash, so they cannot be found by
// topic; a tombstone makes Query skip them instead, and DeleteBefore drops the
// tombstone once retention has removed the records. Durable at once.
func (x *Index) DeleteTopic(topic string, off int64) error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	if x.isClosed() {
		return ErrClosed
	}
	if err := x.o.Guard.AllowMeta(); err != nil {
		return fmt.Errorf("index: delete topic %s: %w", topic, err)
	}
	return x.tomb.set(x.o.Dir, topic, off)
}
