package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// Names inside the store directory.
const (
	lockName       = "lock"
	abortName      = "abort"
	formatName     = "format"
	checkpointName = "checkpoint"
	commitLogDir   = "commitlog"
	consumeQDir    = "consumequeue"
	indexDir       = "index"
)

// formatVersion is the layout version this code writes and reads.
const formatVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Framing of the small metadata files: magic(4) | length(4) | crc32c(4) | payload.
const frameHeader = 12

var (
	formatMagic     = [4]byte{'R', 'G', 'F', 'M'}
	checkpointMagic = [4]byte{'R', 'G', 'C', 'P'}
)

func appendFrame(dst []byte, magic [4]byte, payload []byte) []byte {
	dst = append(dst, magic[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// parseFrame returns the payload of a frame at the start of b; ok is false for anything
// torn or foreign.
func parseFrame(b []byte, magic [4]byte) (payload []byte, ok bool) {
	if len(b) < frameHeader || [4]byte(b[:4]) != magic {
		return nil, false
	}
	n := binary.BigEndian.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-frameHeader) {
		return nil, false
	}
	payload = b[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return nil, false
	}
	return payload, true
}

// lockDir takes an exclusive flock on dir/lock. flock locks belong to the open file
// description, so a second Open in the same process is refused like another process.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by another process or another open store", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return f, nil
}

// checkFormat compares the format-fixing options with those recorded in dir, recording
// them at first open.
func checkFormat(dir string, o Options) error {
	path := filepath.Join(dir, formatName)
	want := &metapb.StoreFormat{
		FormatVersion:         formatVersion,
		CommitlogSegmentBytes: o.CommitLogSegmentBytes,
		ConsumeQueueUnits:     int64(o.ConsumeQueueUnits),
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		payload, err := proto.Marshal(want)
		if err != nil {
			return fmt.Errorf("store: encode format: %w", err)
		}
		return writeFileAtomic(dir, formatName, appendFrame(nil, formatMagic, payload))
	}
	if err != nil {
		return fmt.Errorf("store: read %s: %w", path, err)
	}
	payload, ok := parseFrame(b, formatMagic)
	var have metapb.StoreFormat
	if !ok || proto.Unmarshal(payload, &have) != nil {
		return fmt.Errorf("%w: %s is unreadable", ErrCorruption, path)
	}
	switch {
	case have.FormatVersion != formatVersion:
		return fmt.Errorf("%w: %s has format version %d, this build reads version %d",
			ErrFormatMismatch, path, have.FormatVersion, formatVersion)
	case have.CommitlogSegmentBytes != want.CommitlogSegmentBytes:
		return fmt.Errorf("%w: mappedFileSizeCommitLog is %d in %s but %d in the options",
			ErrFormatMismatch, have.CommitlogSegmentBytes, path, want.CommitlogSegmentBytes)
	case have.ConsumeQueueUnits != want.ConsumeQueueUnits:
		return fmt.Errorf("%w: consumeQueueUnitsPerFile is %d in %s but %d in the options",
			ErrFormatMismatch, have.ConsumeQueueUnits, path, want.ConsumeQueueUnits)
	}
	return nil
}

// writeFileAtomic writes name in dir through a temporary file, fsync and rename, then
// fsyncs dir, so a crash leaves either the old or the new file.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("store: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return segment.SyncDir(dir)
}

// checkpointSlot is the size of each of the checkpoint file's two slots. Writes
// alternate between them, so a torn write spoils only the slot being written and the
// other still holds the previous checkpoint.
const checkpointSlot = 4096

// checkpointFile is the checkpoint: two slots, each a frame holding the sequence number
// (8 bytes) and a metapb.Checkpoint.
type checkpointFile struct {
	f   *os.File
	seq uint64
	buf []byte
}

func openCheckpoint(dir string) (*checkpointFile, *metapb.Checkpoint, error) {
	path := filepath.Join(dir, checkpointName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Both slots are allocated now, so that writing the checkpoint never needs a
	// block on a full disk. Failure only means the file system cannot preallocate.
	_ = unix.Fallocate(int(f.Fd()), 0, 0, 2*checkpointSlot)
	c := &checkpointFile{f: f}
	var best *metapb.Checkpoint
	slot := make([]byte, checkpointSlot)
	for i := 0; i < 2; i++ {
		n, err := f.ReadAt(slot, int64(i)*checkpointSlot)
		if err != nil && !errors.Is(err, io.EOF) {
			f.Close()
			return nil, nil, fmt.Errorf("store: read %s: %w", path, err)
		}
		payload, ok := parseFrame(slot[:n], checkpointMagic)
		if !ok || len(payload) < 8 {
			continue
		}
		seq := binary.BigEndian.Uint64(payload)
		var cp metapb.Checkpoint
		if proto.Unmarshal(payload[8:], &cp) != nil {
			continue
		}
		if best == nil || seq > c.seq {
			best, c.seq = &cp, seq
		}
	}
	return c, best, nil
}

// write stores cp in the slot not holding the latest checkpoint and fdatasyncs it.
func (c *checkpointFile) write(cp *metapb.Checkpoint) error {
	payload, err := proto.Marshal(cp)
	if err != nil {
		return fmt.Errorf("store: encode checkpoint: %w", err)
	}
	seq := c.seq + 1
	body := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(payload)), seq)
	body = append(body, payload...)
	c.buf = appendFrame(c.buf[:0], checkpointMagic, body)
	if len(c.buf) > checkpointSlot {
		return fmt.Errorf("store: checkpoint of %d bytes exceeds its %d-byte slot (too many projections?)", len(c.buf), checkpointSlot)
	}
	if _, err := c.f.WriteAt(c.buf, int64(seq%2)*checkpointSlot); err != nil {
		return fmt.Errorf("store: write checkpoint: %w", err)
	}
	if err := unix.Fdatasync(int(c.f.Fd())); err != nil {
		return fmt.Errorf("store: sync checkpoint: %w", err)
	}
	c.seq = seq
	return nil
}

func (c *checkpointFile) close() error { return c.f.Close() }

// Abort marker: present while the store is open, removed by a clean Close. Finding it
// at Open means the last run did not shut down cleanly.

func abortExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, abortName))
	return err == nil
}

func createAbort(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, abortName), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("store: create abort marker: %w", err)
	}
	f.Close()
	return segment.SyncDir(dir)
}

func removeAbort(dir string) error {
	if err := os.Remove(filepath.Join(dir, abortName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: remove abort marker: %w", err)
	}
	return segment.SyncDir(dir)
}
