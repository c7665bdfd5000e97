package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Sizes of the file format (doc.go).
const (
	headerSize = 64
	slotSize   = 4
	entrySize  = 28
	magic      = 0x58494752 // "RGIX" little-endian
	version    = 1
	flagSealed = 1

	// allocChunk is how far ahead of the writer the entry area is allocated.
	allocChunk = 4 << 20
)

// MaxSlots and MaxEntries bound the sizes of a file (Options), so that a damaged header
// cannot make Open map more than a few GiB.
const (
	MaxSlots   = 1 << 28
	MaxEntries = 1 << 27
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// header is the decoded first 64 bytes of an index file.
type header struct {
	sealed         bool
	slots, entries uint32
	count          uint32 // durable entries
	applied        int64  // CommitLog offset indexed through, with count
	minMS, maxMS   int64  // store times of the entries (min > max: none)
}

func (h *header) encode(b []byte) {
	clear(b[:headerSize])
	binary.LittleEndian.PutUint32(b[0:], magic)
	binary.LittleEndian.PutUint16(b[4:], version)
	if h.sealed {
		binary.LittleEndian.PutUint16(b[6:], flagSealed)
	}
	binary.LittleEndian.PutUint32(b[8:], h.slots)
	binary.LittleEndian.PutUint32(b[12:], h.entries)
	binary.LittleEndian.PutUint32(b[16:], h.count)
	binary.LittleEndian.PutUint64(b[24:], uint64(h.applied))
	binary.LittleEndian.PutUint64(b[32:], uint64(h.minMS))
	binary.LittleEndian.PutUint64(b[40:], uint64(h.maxMS))
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], crcTable))
}

// errBadHeader reports a header that is not one this package wrote whole.
var errBadHeader = errors.New("index: bad file header")

func decodeHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("%w: %d bytes", errBadHeader, len(b))
	}
	if crc32.Checksum(b[:60], crcTable) != binary.LittleEndian.Uint32(b[60:]) {
		return header{}, fmt.Errorf("%w: checksum mismatch", errBadHeader)
	}
	if binary.LittleEndian.Uint32(b) != magic || binary.LittleEndian.Uint16(b[4:]) != version {
		return header{}, fmt.Errorf("%w: magic or version", errBadHeader)
	}
	h := header{
		sealed:  binary.LittleEndian.Uint16(b[6:])&flagSealed != 0,
		slots:   binary.LittleEndian.Uint32(b[8:]),
		entries: binary.LittleEndian.Uint32(b[12:]),
		count:   binary.LittleEndian.Uint32(b[16:]),
		applied: int64(binary.LittleEndian.Uint64(b[24:])),
		minMS:   int64(binary.LittleEndian.Uint64(b[32:])),
		maxMS:   int64(binary.LittleEndian.Uint64(b[40:])),
	}
	switch {
	case h.slots == 0 || h.slots > MaxSlots || h.entries == 0 || h.entries > MaxEntries:
		return header{}, fmt.Errorf("%w: %d slots, %d entries", errBadHeader, h.slots, h.entries)
	case h.count > h.entries || (h.sealed && h.count != h.entries):
		return header{}, fmt.Errorf("%w: count %d of %d entries", errBadHeader, h.count, h.entries)
	case h.applied < 0:
		return header{}, fmt.Errorf("%w: applied offset %d", errBadHeader, h.applied)
	}
	return h, nil
}

// fileSize returns the size of a file of the given sizes.
func fileSize(slots, entries uint32) int64 {
	return headerSize + int64(slots)*slotSize + int64(entries)*entrySize
}

// file is one mapped index file. The writer goroutine owns n, alloc and synced'
// neighbours; committed, minMS and maxMS are read by queries and Sync concurrently.
type file struct {
	seq  int64
	path string
	f    *os.File
	data []byte
	// mapped is the slot area of the mapping. A sealed file's slots are there; the
	// file being written keeps its slots in memory (slots), as they are rebuilt on
	// open anyway: stores to them then meet no page fault of the file system and
	// cause no writeback, and the seal copies them into the file once. heads is
	// the array queries read, one or the other.
	mapped  []uint32
	slots   []uint32 // the writer's array (nil when sealed)
	heads   atomic.Pointer[[]uint32]
	nslots  uint32
	entries uint32 // capacity

	n         uint32        // entries written (writer)
	committed atomic.Uint32 // entries a query may return
	synced    uint32        // entries known durable (Sync, under syncMu)
	sealed    bool          // header says sealed (under syncMu)
	alloc     int64         // bytes of the file allocated (writer)
	// startApplied is the applied offset the file began at: every record below it
	// has its entries in earlier files (the applied offset of the previous file's seal).
	startApplied int64
	minMS        atomic.Int64
	maxMS        atomic.Int64
}

// entryOff returns the byte offset of entry e in the file.
func (f *file) entryOff(e uint32) int64 {
	return headerSize + int64(f.nslots)*slotSize + int64(e)*entrySize
}

// entry returns the bytes of entry e.
func (f *file) entry(e uint32) []byte {
	o := f.entryOff(e)
	return f.data[o : o+entrySize : o+entrySize]
}

func entryHash(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
func entryPhys(b []byte) int64  { return int64(binary.LittleEndian.Uint64(b[8:])) }
func entryMS(b []byte) int64    { return int64(binary.LittleEndian.Uint64(b[16:])) }
func entryPrev(b []byte) uint32 { return binary.LittleEndian.Uint32(b[24:]) }

// slot returns the address of the head of hash's chain in the writer's array.
func (f *file) slot(hash uint64) *uint32 { return &f.slots[hash%uint64(f.nslots)] }

// head returns the head of hash's chain as queries see it.
func (f *file) head(hash uint64) uint32 {
	return loadSlot(&(*f.heads.Load())[hash%uint64(f.nslots)])
}

// inMemory gives the file an array of slots in memory, all empty, for the writer: an
// anonymous mapping, which the kernel fills with zeros page by page as it is touched
// and which stays out of the Go heap (and its collector's pacing). The array it
// replaces is unmapped: callers hold mu exclusively or own the file alone.
func (f *file) inMemory() error {
	b, err := unix.Mmap(-1, 0, int(f.nslots)*slotSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("index: slots of %s: %w", f.path, err)
	}
	// Huge pages, where the kernel grants them on request: each store lands on a
	// random slot, which on 4 KiB pages is a TLB miss nearly every time.
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	f.dropMemory()
	f.slots = unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), f.nslots)
	f.heads.Store(&f.slots)
	return nil
}

// dropMemory unmaps the writer's slots, if any.
func (f *file) dropMemory() {
	if f.slots == nil {
		return
	}
	_ = unix.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&f.slots[0])), len(f.slots)*slotSize))
	f.slots = nil
}

// copySlots copies the writer's slots into the mapping (a seal).
func (f *file) copySlots() { copy(f.mapped, f.slots) }

// useMapped points queries at the mapped slots and frees the writer's. Callers hold mu
// exclusively: no query still reads the array unmapped.
func (f *file) useMapped() {
	f.heads.Store(&f.mapped)
	f.dropMemory()
}

// firstPhys returns the offset of the file's first entry, -1 if it has none.
func (f *file) firstPhys() int64 {
	if f.n == 0 {
		return -1
	}
	return entryPhys(f.entry(0))
}

// createFile creates and maps an empty index file with the given sizes, its header
// saying applied. The header and slot area are allocated on disk now, the entries as
// the writer reaches them (reserve).
func createFile(path string, seq int64, slots, entries uint32, applied int64, guard *diskguard.Guard) (*file, error) {
	if err := guard.AllowMeta(); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("index: create %s: %w", path, err)
	}
	fail := func(err error) (*file, error) {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	fl, err := mapIndexFile(f, path, seq, slots, entries)
	if err != nil {
		return fail(err)
	}
	if err := fl.reserve(0, guard); err != nil {
		fl.unmap()
		os.Remove(path)
		return nil, err
	}
	fl.startApplied = applied
	if err := fl.inMemory(); err != nil {
		fl.unmap()
		os.Remove(path)
		return nil, err
	}
	fl.minMS.Store(1<<63 - 1)
	fl.maxMS.Store(-1 << 63)
	h := header{slots: slots, entries: entries, applied: applied, minMS: 1<<63 - 1, maxMS: -1 << 63}
	h.encode(fl.data)
	return fl, nil
}

func mapIndexFile(f *os.File, path string, seq int64, slots, entries uint32) (*file, error) {
	size := fileSize(slots, entries)
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("index: map %s: %w", path, err)
	}
	fl := &file{seq: seq, path: path, f: f, data: data, nslots: slots, entries: entries}
	fl.mapped = unsafe.Slice((*uint32)(unsafe.Pointer(&data[headerSize])), slots)
	fl.heads.Store(&fl.mapped)
	return fl, nil
}

// reserve allocates the file's blocks through the entry e and a chunk beyond, so that
// no store into the mapping meets an unallocated block (a SIGBUS on a full disk). It
// fails with an error wrapping diskguard.ErrFull when the disk has no room.
func (f *file) reserve(e uint32, guard *diskguard.Guard) error {
	end := f.entryOff(e + 1)
	if end <= f.alloc {
		return nil
	}
	if err := guard.AllowMeta(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	to := min(max(end, f.alloc)+allocChunk, int64(len(f.data)))
	// The file grows with its allocation (entries are its last part): a file being
	// written is only as long as what it holds and the chunk ahead, the mapping
	// beyond its end is never touched, and copying it copies no untouched space.
	err := unix.Fallocate(int(f.f.Fd()), 0, f.alloc, to-f.alloc)
	switch {
	case err == nil:
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS):
		// No fallocate here (some FUSE and network file systems): the file is
		// extended sparse, and the disk guard is what keeps writes away from a
		// full disk.
		if err := f.f.Truncate(to); err != nil {
			return fmt.Errorf("index: extend %s: %w", f.path, err)
		}
	case errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT):
		return fmt.Errorf("index: allocate %s: %w: %v", f.path, diskguard.ErrFull, err)
	default:
		return fmt.Errorf("index: allocate %s: %w", f.path, err)
	}
	if guard != nil {
		guard.Consume(to - f.alloc)
	}
	f.alloc = to
	return nil
}

// msync writes the bytes [from, to) of the mapping to disk.
func (f *file) msync(from, to int64) error {
	const page = 4096
	from &^= page - 1
	if to <= from {
		return nil
	}
	if err := unix.Msync(f.data[from:to], unix.MS_SYNC); err != nil {
		return fmt.Errorf("index: msync %s: %w", f.path, err)
	}
	return nil
}

// writeHeader writes h into the mapping and makes it durable.
func (f *file) writeHeader(h header) error {
	h.encode(f.data)
	return f.msync(0, headerSize)
}

// header returns the header describing the file as the writer left it, with count
// entries and the applied offset given.
func (f *file) header(count uint32, applied int64, sealed bool) header {
	return header{
		sealed: sealed, slots: f.nslots, entries: f.entries, count: count, applied: applied,
		minMS: f.minMS.Load(), maxMS: f.maxMS.Load(),
	}
}

// rebuild gives the file empty slots in memory and links the entries [0, n) again,
// in order: the slots of an unsealed file are a cache of its entries. Callers hold the
// file alone.
func (f *file) rebuild(n uint32) error {
	if err := f.inMemory(); err != nil {
		return err
	}
	for e := uint32(0); e < n; e++ {
		f.slots[entryHash(f.entry(e))%uint64(f.nslots)] = e + 1
	}
	f.n = n
	f.committed.Store(n)
	return nil
}

func (f *file) unmap() {
	f.dropMemory()
	if f.data != nil {
		_ = unix.Munmap(f.data)
		f.data, f.mapped = nil, nil
	}
	f.f.Close()
}

// storeSlot publishes a chain head: a query on another goroutine that loads it sees
// the entry it names written.
func storeSlot(p *uint32, v uint32) { atomic.StoreUint32(p, v) }
func loadSlot(p *uint32) uint32     { return atomic.LoadUint32(p) }
