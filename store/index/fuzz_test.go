package index

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
)

// FuzzOpenFile opens a directory whose index file holds the fuzzed bytes (with the
// header's checksum made right when fixCRC is set, so that damaged counts, sizes, slots
// and links get past it), then queries, adds, syncs, truncates and reopens: nothing
// may panic or hang.
func FuzzOpenFile(f *testing.F) {
	seedDir := f.TempDir()
	x, err := Open(Options{Dir: seedDir, Logger: zerolog.Nop(), Slots: 4, Entries: 8})
	if err != nil {
		f.Fatal(err)
	}
	for off := int64(0); off < 500; off += 100 {
		x.Add([]byte("T"), []byte("k"), off, off)
	}
	x.Commit(500)
	x.Close()
	valid, err := os.ReadFile(filepath.Join(seedDir, "000000000001.ix"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid, false)
	f.Add(valid, true)
	loop := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(loop[headerSize:], 3)                              // a slot past the count
	binary.LittleEndian.PutUint32(loop[headerSize+4*slotSize+entrySize+24:], 2)      // entry 1 links to itself
	binary.LittleEndian.PutUint32(loop[headerSize+4*slotSize+2*entrySize+24:], 1000) // entry 2 links past the file
	f.Add(loop, true)
	f.Add(valid[:headerSize], true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, fixCRC bool) {
		dir := t.TempDir()
		if fixCRC && len(data) >= headerSize {
			data = append([]byte(nil), data...)
			binary.LittleEndian.PutUint32(data[60:], crc32.Checksum(data[:60], crcTable))
		}
		if err := os.WriteFile(filepath.Join(dir, "000000000001.ix"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 2; round++ {
			x, err := Open(Options{Dir: dir, Logger: zerolog.Nop(), Slots: 4, Entries: 8})
			if err != nil {
				return
			}
			for _, k := range []string{"k", "u", "v"} {
				x.Query([]byte("T"), []byte(k), -1<<62, 1<<62, []int64{0}, func(Candidate) bool { return true })
			}
			a := x.Applied()
			for i := int64(0); i < 10; i++ {
				x.Add([]byte("T"), []byte("k"), a+i*10, i)
			}
			x.Commit(a + 100)
			x.Sync()
			x.Truncate(a + 50)
			x.Query([]byte("T"), []byte("k"), -1<<62, 1<<62, []int64{0}, func(Candidate) bool { return true })
			x.DeleteBefore(a + 20)
			x.Close()
		}
	})
}
