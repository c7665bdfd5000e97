package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Default sizes of an index file: Apache RocketMQ's maxHashSlotNum and maxIndexNum.
const (
	DefaultSlots   = 5_000_000
	DefaultEntries = 20_000_000
)

// maxBatchKeys bounds the entries of one uncommitted round: past it, Full reports true
// and the writer commits, so entries become visible steadily.
const maxBatchKeys = 16384

// fileSuffix names index files; the name before it is the file's sequence number.
const fileSuffix = ".ix"

// ErrClosed reports use of a closed index.
var ErrClosed = errors.New("index: closed")

// Options configures an Index.
type Options struct {
	Dir    string
	Logger zerolog.Logger
	// Guard, if set, is asked before the index allocates disk: while the disk is
	// critically full writes fail with an error wrapping diskguard.ErrFull.
	Guard *diskguard.Guard
	// Slots and Entries size each new index file: hash slots (Apache's maxHashSlotNum)
	// and entries (maxIndexNum); DefaultSlots and DefaultEntries if 0. Files already
	// written keep the sizes their header names.
	Slots, Entries int
}

// Index maps (topic, key) to the CommitLog offsets of the records that carry the key,
// in mapped hash-slot files (doc.go). Entries hold a 64-bit hash of the pair, not the
// strings, so Query returns candidates that the caller checks against the records.
//
// One goroutine writes (Add, Full, Commit, Writable, Truncate); Query, Applied, Sync,
// DeleteBefore and DeleteTopic may run concurrently with it.
type Index struct {
	o   Options
	log zerolog.Logger

	// syncMu orders the operations that write headers or remove files (Sync,
	// Truncate, DeleteBefore, DeleteTopic, Abandon, and a writer dropping a file it
	// created in a failed round).
	syncMu sync.Mutex
	// mu guards files and closed: held shared by queries, exclusively while the list
	// changes or a file's entries are cut.
	mu     sync.RWMutex
	files  []*file // ascending sequence; the last is the writer's
	cur    *file   // the last of files (set under mu by the writer)
	closed bool
	seq    int64 // sequence of the newest file created

	// The committed state, set by Commit and Truncate, read by Sync: the writer's
	// file then, its entries and the applied offset they cover.
	cmu      sync.Mutex
	cFile    *file
	cCount   uint32
	cApplied int64
	applied  atomic.Int64

	pend int // entries written since the last commit (writer)
	// queued are entries Add hashed and has not written yet, touched the sum of the
	// slots it read ahead for them (kept so that the reads are not optimized away).
	queued  []queuedEntry
	touched uint32
	failErr error // writing this round's entries failed; Commit reports it (writer)

	syncedFile    *file // the file and applied offset of the last Sync (syncMu)
	syncedApplied int64

	tomb tombstones

	// lastTopic and lastTopicHash are the topic of the last Add and the hash state
	// after it (fnvTopic): consecutive records mostly share their topic, whose bytes
	// are then compared instead of hashed again (FNV-1a costs a multiplication per
	// byte, one after the other).
	lastTopic     []byte
	lastTopicHash uint64
}

// Open opens (or creates) the index in o.Dir. A directory holding the key index of
// earlier versions (a pebble database) is emptied: the index starts at offset 0 and
// the store indexes its log again. On a disk too full to create the first file, Open
// succeeds and writes fail until space returns.
func Open(o Options) (*Index, error) {
	if o.Slots <= 0 {
		o.Slots = DefaultSlots
	}
	if o.Entries <= 0 {
		o.Entries = DefaultEntries
	}
	o.Slots, o.Entries = min(o.Slots, MaxSlots), min(o.Entries, MaxEntries)
	x := &Index{o: o, log: o.Logger.With().Str("component", "index").Logger(), lastTopicHash: fnvTopic(nil)}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if err := x.dropPebble(); err != nil {
		return nil, err
	}
	if err := x.tomb.load(o.Dir); err != nil {
		x.log.Warn().Err(err).Msg("key index tombstones unreadable; deleted topics' keys may be found again")
	}
	if err := x.load(); err != nil {
		x.closeFiles()
		return nil, err
	}
	x.setFiles(x.files)
	if f := x.last(); f == nil || f.n == f.entries {
		if err := x.roll(x.applied.Load()); err != nil {
			x.log.Warn().Err(err).Msg("key index file not created; indexing resumes when space returns")
		}
	}
	x.cFile, x.cApplied = x.last(), x.applied.Load()
	if x.cFile != nil {
		x.cCount = x.cFile.n
	}
	x.syncedFile, x.syncedApplied = x.cFile, x.cApplied
	return x, nil
}

// dropPebble removes the pebble database of earlier versions from the directory.
func (x *Index) dropPebble() error {
	ents, err := os.ReadDir(x.o.Dir)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	pebble := false
	for _, e := range ents {
		if n := e.Name(); n == "CURRENT" || strings.HasPrefix(n, "MANIFEST-") {
			pebble = true
		}
	}
	if !pebble {
		return nil
	}
	x.log.Warn().Str("dir", x.o.Dir).Msg("key index of an earlier version (pebble) removed; the log is indexed again from its start")
	for _, e := range ents {
		if n := e.Name(); !strings.HasSuffix(n, fileSuffix) && n != tombstoneFile {
			if err := os.RemoveAll(filepath.Join(x.o.Dir, n)); err != nil {
				return fmt.Errorf("index: remove the earlier index: %w", err)
			}
		}
	}
	return syncDir(x.o.Dir)
}

// load maps the index files of the directory and finds the applied offset: that of the
// newest file whose header is whole. Files after a damaged header, or after a file
// that is not sealed (a roll whose seal never reached the disk), are removed: the
// store indexes the log again from the applied offset.
func (x *Index) load() error {
	ents, err := os.ReadDir(x.o.Dir)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	var seqs []int64
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), fileSuffix)
		if !ok {
			continue
		}
		// Only the names path gives (a fixed width of digits): "1.ix" or "+1.ix" would
		// parse to a sequence another file already has.
		if seq, err := strconv.ParseInt(n, 10, 64); err == nil && seq > 0 && e.Name() == filepath.Base(x.path(seq)) {
			seqs = append(seqs, seq)
			x.seq = max(x.seq, seq) // names are never used twice
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, seq := range seqs {
		path := x.path(seq)
		f, h, err := openFile(path, seq)
		if err != nil {
			x.log.Warn().Err(err).Str("file", path).Msg("key index file damaged; it and later files are dropped, the log is indexed again")
			return x.removeSeqs(seqs[i:])
		}
		x.files = append(x.files, f)
		x.applied.Store(h.applied)
		if !h.sealed {
			if i+1 < len(seqs) {
				x.log.Warn().Str("file", path).Msg("key index files after an unsealed one dropped")
			}
			return x.removeSeqs(seqs[i+1:])
		}
	}
	return nil
}

func (x *Index) removeSeqs(seqs []int64) error {
	for _, seq := range seqs {
		if err := os.Remove(x.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("index: %w", err)
		}
	}
	if len(seqs) > 0 {
		return syncDir(x.o.Dir)
	}
	return nil
}

// openFile maps an existing index file and checks its header. An unsealed file's slots
// are rebuilt from its durable entries; what lies past them is ignored.
func openFile(path string, seq int64) (*file, header, error) {
	fd, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, header{}, fmt.Errorf("index: %w", err)
	}
	var b [headerSize]byte
	if _, err := fd.ReadAt(b[:], 0); err != nil {
		fd.Close()
		return nil, header{}, fmt.Errorf("%w: %v", errBadHeader, err)
	}
	h, err := decodeHeader(b[:])
	if err != nil {
		fd.Close()
		return nil, header{}, err
	}
	full := fileSize(h.slots, h.entries)
	fi, err := fd.Stat()
	if err != nil || fi.Size() > full || fi.Size() < headerSize+int64(h.slots)*slotSize+int64(h.count)*entrySize || (h.sealed && fi.Size() != full) {
		fd.Close()
		return nil, header{}, fmt.Errorf("%w: file size does not match %d slots and %d entries", errBadHeader, h.slots, h.entries)
	}
	f, err := mapIndexFile(fd, path, seq, h.slots, h.entries)
	if err != nil {
		fd.Close()
		return nil, header{}, err
	}
	f.minMS.Store(h.minMS)
	f.maxMS.Store(h.maxMS)
	f.synced, f.sealed, f.startApplied = h.count, h.sealed, h.applied
	if h.sealed {
		f.n = h.count
		f.committed.Store(h.count)
		f.alloc = int64(len(f.data))
	} else {
		// The allocation of the entries to come is made again as the writer goes;
		// fallocate keeps what is allocated already.
		f.alloc = fi.Size()
		if err := f.rebuild(h.count); err != nil {
			f.unmap()
			return nil, header{}, err
		}
	}
	return f, h, nil
}

func (x *Index) path(seq int64) string {
	return filepath.Join(x.o.Dir, fmt.Sprintf("%012d%s", seq, fileSuffix))
}

// last returns the writer's file, nil if there is none. Only the writer calls it:
// DeleteBefore may change the list meanwhile, never its last file.
func (x *Index) last() *file { return x.cur }

// setFiles replaces the file list and the writer's file. Callers hold mu exclusively.
func (x *Index) setFiles(files []*file) {
	x.files, x.cur = files, nil
	if len(files) > 0 {
		x.cur = files[len(files)-1]
	}
}

// Applied returns the CommitLog offset through which records are indexed (committed).
// It is safe to call from any goroutine.
func (x *Index) Applied() int64 { return x.applied.Load() }

// Writable returns nil when the writer may add and commit entries now; otherwise an
// error wrapping diskguard.ErrFull (the disk has no room for the next entries) or
// ErrClosed. The store's indexer asks before each round.
func (x *Index) Writable() error {
	if x.isClosed() {
		return ErrClosed
	}
	if err := x.o.Guard.AllowMeta(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	f := x.last()
	if f == nil || f.n == f.entries {
		return x.roll(x.applied.Load())
	}
	return f.reserve(f.n, x.o.Guard)
}

func (x *Index) isClosed() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.closed
}

// Close makes what was committed durable (Sync) and closes the index.
func (x *Index) Close() error {
	serr := x.Sync()
	if errors.Is(serr, ErrClosed) {
		return nil
	}
	x.Abandon()
	return serr
}

// Abandon closes the index without Sync: what was committed since the last Sync is
// lost, as in a crash. Tests use it.
func (x *Index) Abandon() error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	x.closeFiles()
	return nil
}

func (x *Index) closeFiles() {
	for _, f := range x.files {
		f.unmap()
	}
	x.setFiles(nil)
}

// syncDir fsyncs a directory so that file creations and removals in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("index: sync %s: %w", dir, err)
	}
	return nil
}
