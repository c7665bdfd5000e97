package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// TestDropMappings: the whole pages of the range lose their page-table entries and no
// other page does; what was
// written through them is kept dirty, so a sync writes it to disk: after the sync the
// file's page cache is dropped and the bytes read back from the disk are the ones
// written. A page written only in part by the range's ends keeps its entry. A closed
// file's mapping is gone: DropMappings refuses it.
func TestDropMappings(t *testing.T) {
	const pages = 16
	dir := t.TempDir()
	f, err := Create(dir, 0, pages*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, pages*PageSize)
	for i := range want {
		want[i] = byte(i*7 + i/int(PageSize))
	}
	copy(f.Bytes(), want) // every page mapped, writable and dirty
	if got := mapped(t, f); got != "1111111111111111" {
		t.Fatalf("pages mapped before: %s", got)
	}
	// From 100 to 10 pages + 100: pages 1 to 9 are whole, pages 0 and 10 are not.
	if !f.DropMappings(100, 10*PageSize+100) {
		t.Fatal("DropMappings refused")
	}
	if got := mapped(t, f); got != "1000000000111111" {
		t.Fatalf("pages mapped after dropping pages 1-9: %s", got)
	}
	if !f.DropMappings(5, 5) || !f.DropMappings(PageSize+1, 2*PageSize-1) || !f.DropMappings(-PageSize, 0) {
		t.Fatal("an empty range refused")
	}
	if got := mapped(t, f); got != "1000000000111111" {
		t.Fatalf("pages mapped after empty ranges: %s", got)
	}
	if err := f.Sync(0, pages*PageSize); err != nil {
		t.Fatal(err)
	}
	// Evict what is not mapped (clean by now): a dirty bit lost with the entries
	// would leave zeros on the disk here.
	if err := unix.Fadvise(int(f.f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	disk, err := os.ReadFile(filepath.Join(dir, Name(0)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(disk, want) {
		t.Fatal("the file read back differs from what was written through the mapping")
	}
	if !bytes.Equal(f.Bytes(), want) {
		t.Fatal("the mapping reads back differently after the drop")
	}
	f.Close()
	if f.DropMappings(0, pages*PageSize) {
		t.Fatal("DropMappings of a closed file: true")
	}
}

// mapped is which of f's pages this process maps, as a string of 0 and 1.
func mapped(t *testing.T, f *File) string {
	var b strings.Builder
	for _, m := range testutil.MappedPages(t, f.Bytes()) {
		if m {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}
