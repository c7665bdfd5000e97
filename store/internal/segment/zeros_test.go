package segment

import (
	"bytes"
	"testing"
)

// TestWriteZeros checks that WriteZeros clears exactly [from, to) — across more than one
// pass of its 1 MiB source — that the mapping shows it at once, and that after Close it
// reports an error instead of writing to whatever file reuses the descriptor.
func TestWriteZeros(t *testing.T) {
	const size = 3 << 20
	f, err := Create(t.TempDir(), 0, size)
	if err != nil {
		t.Fatal(err)
	}
	fill := bytes.Repeat([]byte{0xA5}, size)
	if err := f.WriteAt(fill, 0); err != nil {
		t.Fatal(err)
	}
	const from, to = 4093, 2<<20 + 17 // unaligned, longer than one pass
	if err := f.WriteZeros(from, to); err != nil {
		t.Fatal(err)
	}
	b := f.Bytes()
	if !bytes.Equal(b[:from], fill[:from]) || !bytes.Equal(b[to:], fill[to:]) {
		t.Fatal("WriteZeros changed bytes outside [from, to)")
	}
	if !allZero(b[from:to]) {
		t.Fatal("WriteZeros left non-zero bytes inside [from, to)")
	}
	if err := f.Err(); err != nil {
		t.Fatalf("the file failed: %v", err)
	}
	f.Close()
	if err := f.WriteZeros(0, PageSize); err == nil {
		t.Fatal("WriteZeros after Close reported no error")
	}
}
