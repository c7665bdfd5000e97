package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store/consumequeue"
	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// isCorruption fails unless err wraps the one corruption marker under both of its
// names and says detail.
func isCorruption(t *testing.T, what string, err error, detail string) {
	t.Helper()
	if !errors.Is(err, ErrCorruption) || !errors.Is(err, message.ErrCorrupt) {
		t.Fatalf("%s: got %v, want corruption", what, err)
	}
	if !strings.Contains(err.Error(), detail) {
		t.Fatalf("%s: error %q does not say %q", what, err, detail)
	}
}

func TestOneCorruptionSentinel(t *testing.T) {
	if ErrCorruption != message.ErrCorrupt || segment.ErrCorrupt != message.ErrCorrupt {
		t.Fatalf("the store's corruption markers are not message.ErrCorrupt")
	}
}

// TestCorruptReplicationInputIsCorruption checks that every kind of invalid replicated
// run — a damaged record, a record at the wrong offset, a blank that does not fit — is
// refused as corruption and leaves the slave's log untouched.
func TestCorruptReplicationInputIsCorruption(t *testing.T) {
	so := testOptions(t, AsyncFlush)
	master, slave := openT(t, testOptions(t, AsyncFlush)), openT(t, so)
	fillMaster(t, master, 0, 10)
	b, err := master.ReadRaw(0, 1<<20)
	if err != nil || len(b) == 0 {
		t.Fatalf("read raw: %d bytes, %v", len(b), err)
	}
	first := message.RecordTotalSize(b)
	flipped := bytes.Clone(b)
	flipped[88+5] ^= 0xFF // the body of the first record (IPv4 hosts)
	moved := bytes.Clone(b[:first])
	binary.BigEndian.PutUint64(moved[28:], 77)
	blank := make([]byte, message.MinBlankSize)
	binary.BigEndian.PutUint32(blank, 4096)
	binary.BigEndian.PutUint32(blank[4:], message.MagicBlank)
	for _, c := range []struct {
		name, detail string
		run          []byte
	}{
		{"flipped body byte", "body crc", flipped},
		{"wrong physical offset", "PHYSICALOFFSET 77", moved},
		{"blank of the wrong size", "blank of 4096 bytes at 0", blank},
	} {
		_, err := slave.AppendRaw(0, c.run)
		isCorruption(t, c.name, err, c.detail)
		if got := slave.MaxPhysicalOffset(); got != 0 {
			t.Fatalf("%s: a refused run moved the log's end to %d", c.name, got)
		}
	}
	if end, err := slave.AppendRaw(0, b); err != nil || end != int64(len(b)) {
		t.Fatalf("valid run: end %d, %v; want %d", end, err, len(b))
	}
}

// TestCorruptFilesAreCorruption checks that Open refuses a CommitLog record damaged in
// the middle of the log and a consume queue torn before its last file with the same
// marker a corrupt replicated run carries.
func TestCorruptFilesAreCorruption(t *testing.T) {
	t.Run("record", func(t *testing.T) {
		o := testOptions(t, AsyncFlush)
		ws := crashedBase(t, o, 50, 2, 200)
		bad := ws[10]
		path, rel := segmentFile(o, bad.phys+100) // inside the body
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[rel] ^= 0xff
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = Open(o)
		isCorruption(t, "damaged record", err, fmt.Sprintf("offset %d", bad.phys))
		if !strings.Contains(err.Error(), "body crc") {
			t.Fatalf("damaged record: error %q does not name the body crc", err)
		}
	})
	t.Run("consume queue", func(t *testing.T) {
		o := testOptions(t, AsyncFlush)
		s := openT(t, o)
		fill(t, s, o.ConsumeQueueUnits+10, 1, 100) // two files of queue R/0
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(consumequeue.Dir(filepath.Join(o.Dir, consumeQDir), "R", 0), segment.Name(0))
		if err := os.Truncate(path, 100); err != nil {
			t.Fatal(err)
		}
		_, err := Open(o)
		isCorruption(t, "torn consume queue file", err, path)
	})
}
