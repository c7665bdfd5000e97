package testutil

import (
	"encoding/binary"
	"os"
	"testing"
	"unsafe"
)

// MappedPages reports, for each 4 KiB page of b (which must start on a page), whether
// this process has a page-table entry for it, from /proc/self/pagemap (bit 63 of each
// page's 8-byte entry: present). It skips the test where pagemap cannot be read.
func MappedPages(t testing.TB, b []byte) []bool {
	t.Helper()
	const page = 4096
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if start%page != 0 {
		t.Fatalf("MappedPages: %#x is not page aligned", start)
	}
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skipf("no pagemap: %v", err)
	}
	defer f.Close()
	n := (len(b) + page - 1) / page
	buf := make([]byte, 8*n)
	if _, err := f.ReadAt(buf, int64(start/page)*8); err != nil {
		t.Skipf("pagemap: %v", err)
	}
	out := make([]bool, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(buf[8*i:])&(1<<63) != 0
	}
	return out
}
