package segment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rocketgo/rocketgo/proto/message"
)

// NameLen is the length of a segment file name: the start offset as 20 decimal digits,
// zero-padded, so that names sort in offset order.
const NameLen = 20

// PageSize is the unit msync and madvise work in.
var PageSize = int64(os.Getpagesize())

// Errors of this package. A segment that failed a write or a sync wraps ErrFailed and
// stays failed; nothing retries an msync (a failed fsync may have dropped the dirty pages
// it was asked to write, so a retry that "succeeds" proves nothing).
var (
	// ErrFailed marks a segment whose msync failed: it refuses further syncs.
	ErrFailed = errors.New("segment: sticky write failure")
	// ErrCorrupt marks a file whose size, name or contents cannot be what the store
	// wrote. It is message.ErrCorrupt, the one corruption marker, so that corrupt
	// files and corrupt records answer the same errors.Is.
	ErrCorrupt = message.ErrCorrupt
)

// Name returns the file name of the segment that starts at offset start.
func Name(start int64) string {
	return fmt.Sprintf("%020d", start)
}

// ParseName returns the start offset a segment file name encodes; ok is false for any
// other name (temporary files, LOCK, checkpoints).
func ParseName(name string) (start int64, ok bool) {
	if len(name) != NameLen {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// List returns the start offsets of the segment files in dir, ascending. A missing dir
// is empty.
func List(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("segment: list %s: %w", dir, err)
	}
	var starts []int64
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if v, ok := ParseName(e.Name()); ok {
			starts = append(starts, v)
		}
	}
	slices.Sort(starts)
	return starts, nil
}

// File is one fixed-size, preallocated file mapped read-write into memory, holding the
// bytes [Start, Start+Size) of a log. Writers copy into Bytes() directly; a single
// writer per file is the caller's rule. Reads of Bytes() are safe from any goroutine
// until Close; the caller publishes how far the contents are valid.
type File struct {
	path  string
	start int64
	size  int64
	f     *os.File
	data  []byte

	mu     sync.Mutex // serializes Sync and PopulateOpen (a madvise of up to ~1 ms), guards failed and closed
	failed error
	closed bool
}

// Create makes (or reopens, if it already exists with the right size) the segment file
// of size bytes that starts at start in dir, preallocates its blocks with fallocate so
// that writes through the mapping can never hit ENOSPC (which would arrive as SIGBUS),
// maps it read-write and syncs the directory so that the new name survives a crash.
func Create(dir string, start, size int64) (*File, error) {
	f, err := CreateUnsynced(dir, start, size)
	if err != nil {
		return nil, err
	}
	if err := SyncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CreateUnsynced is Create without the directory sync: the new name may not survive a
// crash until the caller runs SyncDir(dir). It is for a file whose contents nothing
// vouches for before such a sync (a ConsumeQueue's, synced before the next checkpoint).
func CreateUnsynced(dir string, start, size int64) (*File, error) {
	if size <= 0 {
		return nil, fmt.Errorf("segment: size %d is not positive", size)
	}
	path := filepath.Join(dir, Name(start))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("segment: create %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("segment: stat %s: %w", path, err)
	}
	if fi.Size() != 0 && fi.Size() != size {
		f.Close()
		return nil, fmt.Errorf("%w: segment %s is %d bytes, want %d", ErrCorrupt, path, fi.Size(), size)
	}
	if err := preallocate(f, size); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("segment: preallocate %s (%d bytes): %w", path, size, err)
	}
	return mapFile(f, path, start, size)
}

// Open maps an existing segment file. A file whose size is not size is corruption (the
// format options pin the size; a short file is a torn creation).
func Open(dir string, start, size int64) (*File, error) {
	path := filepath.Join(dir, Name(start))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("segment: open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("segment: stat %s: %w", path, err)
	}
	if fi.Size() != size {
		f.Close()
		return nil, fmt.Errorf("%w: segment %s is %d bytes, want %d", ErrCorrupt, path, fi.Size(), size)
	}
	return mapFile(f, path, start, size)
}

// preallocate reserves size bytes of disk for f. fallocate is tried first; file systems
// without it (some FUSE and network ones) fall back to Truncate, which leaves the file
// sparse: writes may then fail with SIGBUS when the disk is full, which the store's disk
// watermark is there to prevent.
func preallocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return f.Truncate(size)
	}
	return err
}

func mapFile(f *os.File, path string, start, size int64) (*File, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("segment: mmap %s: %w", path, err)
	}
	return &File{path: path, start: start, size: size, f: f, data: data}, nil
}

// SyncDir fsyncs a directory so that file creations, renames and removals in it are
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("segment: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("segment: sync dir %s: %w", dir, err)
	}
	return nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Start returns the absolute offset of the file's first byte.
func (f *File) Start() int64 { return f.start }

// End returns the absolute offset just past the file's last byte.
func (f *File) End() int64 { return f.start + f.size }

// Size returns the file size.
func (f *File) Size() int64 { return f.size }

// Contains reports whether the absolute offset off falls inside the file.
func (f *File) Contains(off int64) bool { return off >= f.start && off < f.start+f.size }

// Bytes returns the whole mapping. Slices of it stay valid until Close.
func (f *File) Bytes() []byte { return f.data }

// Err returns the sticky failure of the file, nil while healthy.
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// Sync writes the bytes [from, to) (relative to the file start) to disk with msync and
// waits for it. After a failure the file is sticky-failed: this and every later Sync
// return an error wrapping ErrFailed.
func (f *File) Sync(from, to int64) error {
	from = max(from, 0)
	to = min(to, f.size)
	if from >= to {
		return f.Err()
	}
	lo := from &^ (PageSize - 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed != nil {
		return f.failed
	}
	if f.closed {
		return fmt.Errorf("segment: sync %s: closed", f.path)
	}
	if err := unix.Msync(f.data[lo:to], unix.MS_SYNC); err != nil {
		f.failed = fmt.Errorf("%w: msync %s [%d, %d): %v", ErrFailed, f.path, from, to, err)
		return f.failed
	}
	return nil
}

// WriteAt copies p into the file at off (relative to the file start) with pwrite, through
// the page cache the mapping shares, so that readers of Bytes() see it at once. Unlike a
// copy into the mapping it leaves no writable, dirty page-table entry behind: the msync
// that writes the page back then has no entry to write-protect and no TLB to shoot down
// on the other processors, and the next write takes no fault (docs/architecture.md §4). A
// failed write fails the file, and a failed file refuses every later write.
func (f *File) WriteAt(p []byte, off int64) error {
	if off < 0 || off+int64(len(p)) > f.size {
		return fmt.Errorf("segment: write of %d bytes at %d outside %s (%d bytes)", len(p), off, f.path, f.size)
	}
	if err := f.Err(); err != nil {
		return err
	}
	fd := int(f.f.Fd())
	for len(p) > 0 {
		n, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err == nil && n == 0 {
			err = unix.EIO
		}
		if err != nil {
			err = fmt.Errorf("pwrite %s at %d: %w", f.path, off, err)
			f.Fail(err)
			return f.Err()
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// Fail marks the file failed with err (a write error found elsewhere) unless it already
// failed.
func (f *File) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed == nil {
		f.failed = fmt.Errorf("%w: %s: %v", ErrFailed, f.path, err)
	}
}

// Populate pre-faults the pages of [from, to) for writing (MADV_POPULATE_WRITE) so that
// the appender does not take a page fault per 4 KiB in its critical section. It does not
// change the contents, so it may run concurrently with the writer. ok is false only when
// the kernel does not support it (EINVAL: older than 5.14); callers then stop asking. A
// passing failure (a signal, memory pressure) only leaves the pages to the writer's own
// faults.
func (f *File) Populate(from, to int64) (ok bool) {
	from = max(from, 0) &^ (PageSize - 1)
	to = min(to, f.size)
	if from >= to {
		return true
	}
	err := unix.Madvise(f.data[from:to], unix.MADV_POPULATE_WRITE)
	return err != unix.EINVAL
}

// DropMappings removes this process's page-table entries for the whole pages of
// [from, to) (relative to the file start) with MADV_DONTNEED: the pages stay in the
// page cache, dirty as they were (a shared file mapping hands its dirty bits to the
// pages), and the next access through the mapping maps them again. One call costs one
// TLB shootdown for the range, where writing back pages that are mapped writable and
// dirty write-protects and shoots down each of them. ok is false when the kernel
// refused it or the file is closed.
func (f *File) DropMappings(from, to int64) (ok bool) {
	from = (max(from, 0) + PageSize - 1) &^ (PageSize - 1)
	to = min(to, f.size) &^ (PageSize - 1)
	if from >= to {
		return true
	}
	f.mu.Lock() // as Sync: a closed file's mapping is gone
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	return unix.Madvise(f.data[from:to], unix.MADV_DONTNEED) == nil
}

// zeroBuf is the source of WriteZeros: read-only, shared, allocated on first use. It is
// 64 KiB, so WriteZeros writes in 64 KiB pwrites. Each holds the file's inode lock, which
// the SYNC_FLUSH commit's pwrite needs too. With 1 MiB pwrites the flusher waited
// behind up to ~0.2 ms of copying, spinning on the lock (5.9 % of the perf samples
// under PutSync64). A 64 KiB source also stays in the processor's cache, and the copy's
// share of that profile fell from 11.5 % to 2.5 % (docs/performance.md §5).
var zeroBuf = sync.OnceValue(func() []byte { return make([]byte, 64<<10) })

// WriteZeros writes zeros over [from, to) (relative to the file start) with pwrite,
// through the page cache: the pages are allocated and dirtied without a page-table entry
// of this process's mapping, so writing them back costs no write-protection of mapped
// pages and no TLB shootdown, and ten times less processor than faulting them in through
// the mapping (MADV_POPULATE_WRITE) and writing those back. The caller must know that
// nothing else writes the range meanwhile. It goes through the os.File, whose reference
// count keeps the descriptor from being closed and reused by another file while the
// write runs; after Close it fails with an error wrapping os.ErrClosed. A file failed
// before (Fail, a failed Sync) refuses it with that failure. A new failure is returned,
// not made sticky here; the caller decides what it means for the log.
func (f *File) WriteZeros(from, to int64) error {
	if err := f.Err(); err != nil {
		return err
	}
	from = max(from, 0)
	to = min(to, f.size)
	z := zeroBuf()
	for from < to {
		n := min(to-from, int64(len(z)))
		if _, err := f.f.WriteAt(z[:n], from); err != nil {
			return fmt.Errorf("segment: write zeros to %s at %d: %w", f.path, from, err)
		}
		from += n
	}
	return nil
}

// StartWriteback asks the kernel to start writing [from, to) to disk without waiting
// (sync_file_range SYNC_FILE_RANGE_WRITE). Over zeros written ahead (WriteZeros) it
// turns the file's preallocated (unwritten) extents into written ones ahead of the
// appender, so that a later msync of real data commits no extent conversion.
func (f *File) StartWriteback(from, to int64) {
	from = max(from, 0)
	to = min(to, f.size)
	if from < to {
		_ = unix.SyncFileRange(int(f.f.Fd()), from, to-from, unix.SYNC_FILE_RANGE_WRITE)
	}
}

// AdviseSequential tells the kernel that the mapping will be read front to back
// (recovery), so readahead is aggressive.
func (f *File) AdviseSequential() {
	_ = unix.Madvise(f.data, unix.MADV_SEQUENTIAL)
}

// AdviseNormal undoes AdviseSequential.
func (f *File) AdviseNormal() {
	_ = unix.Madvise(f.data, unix.MADV_NORMAL)
}

// zeroRangeMin is the data past a cut from which ZeroFrom discards the tail with
// FALLOC_FL_ZERO_RANGE rather than reading it: an fallocate and an fdatasync cost about
// a millisecond, reading 1 MiB of cached pages a tenth of that. Short tails (the
// ConsumeQueue's populated units) are cleared page by page.
const zeroRangeMin = 1 << 20

// ZeroFrom zeroes [off, Size) of the file. Recovery uses it to erase a torn tail, so
// that stale bytes past the cut can never be taken for records later. Only the file's
// data ranges (DataRanges) can hold non-zero bytes.
//
// Reading a long tail to find its non-zero pages would fault it into the page cache,
// where SEEK_DATA counts it as data from then on: each recovery read what the previous
// one had faulted in (and its readahead), and left more behind, so that start-up grew
// with every restart. A tail of zeroRangeMin or more is therefore discarded with
// fallocate(FALLOC_FL_ZERO_RANGE) and an fdatasync, which returns its pages to the
// preallocated, unwritten state (still allocated: writes through the mapping cannot hit
// ENOSPC) and drops them from the page cache, at a cost independent of its length. The
// page holding off is cleared through the mapping (the caller syncs it); file systems
// without ZERO_RANGE get the page-wise clear. A failed fdatasync fails the file.
func (f *File) ZeroFrom(off int64) {
	off = max(off, 0)
	page := min((off+PageSize-1)&^(PageSize-1), f.size)
	if b := f.data[min(off, page):page]; !allZero(b) {
		clear(b)
	}
	ranges := f.DataRanges(page)
	var n int64
	for _, r := range ranges {
		n += r[1] - r[0]
	}
	if n >= zeroRangeMin {
		fd := int(f.f.Fd())
		if err := unix.Fallocate(fd, unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, page, f.size-page); err == nil {
			if err := unix.Fdatasync(fd); err != nil {
				f.Fail(fmt.Errorf("fdatasync after zeroing from %d: %w", page, err))
			}
			return
		}
	}
	for _, r := range ranges {
		for p := r[0]; p < r[1]; {
			end := min((p|(PageSize-1))+1, r[1])
			if chunk := f.data[p:end]; !allZero(chunk) {
				clear(chunk)
			}
			p = end
		}
	}
}

// DataRanges returns the ranges [from, to) at or after off that may hold non-zero
// bytes, found with SEEK_DATA / SEEK_HOLE: preallocated blocks never written are holes
// to those on most file systems, so scanning a mostly empty 1 GiB segment costs only its
// written part. Where the file system cannot tell, the whole rest of the file is one
// range.
func (f *File) DataRanges(off int64) [][2]int64 {
	var out [][2]int64
	fd := int(f.f.Fd())
	for off < f.size {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break
		}
		if err != nil {
			return append(out, [2]int64{off, f.size})
		}
		if start >= f.size {
			break
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil || end > f.size {
			end = f.size
		}
		if end <= start {
			return append(out, [2]int64{start, f.size})
		}
		out = append(out, [2]int64{max(start, off), end})
		off = end
	}
	return out
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Close unmaps and closes the file. Slices of Bytes() must not be used afterwards.
// Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	err := unix.Munmap(f.data)
	f.data = nil
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("segment: close %s: %w", f.path, err)
	}
	return nil
}

// Remove unlinks the file. The mapping stays valid until Close, and the disk space is
// released only then.
func (f *File) Remove() error {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("segment: remove %s: %w", f.path, err)
	}
	return nil
}

// ReadAt reads len(p) bytes at off (relative to the file start) through the file
// descriptor, not the mapping (see commitlog.Reader for why). It goes through the
// os.File, so after Close it fails with an error wrapping os.ErrClosed rather than
// reading a descriptor reused by another file.
func (f *File) ReadAt(p []byte, off int64) error {
	if off < 0 || off+int64(len(p)) > f.size {
		return fmt.Errorf("segment: read of %d bytes at %d outside %s (%d bytes)", len(p), off, f.path, f.size)
	}
	if _, err := f.f.ReadAt(p, off); err != nil {
		return fmt.Errorf("segment: read %s at %d: %w", f.path, off, err)
	}
	return nil
}
