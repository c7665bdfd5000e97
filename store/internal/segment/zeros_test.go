package segment

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestWriteZeros checks that WriteZeros clears exactly [from, to) — across many passes
// of its 64 KiB source — that the mapping shows it at once, and that after Close it
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
	if err := f.WriteZeros(0, PageSize); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("WriteZeros after Close: got %v, want os.ErrClosed", err)
	}
}

// TestWriteZerosAfterFail checks that a file failed with Fail refuses WriteZeros with
// that failure and leaves its bytes alone, so that a failure injected in a test reaches
// whoever writes the zeros.
func TestWriteZerosAfterFail(t *testing.T) {
	f, err := Create(t.TempDir(), 0, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fill := bytes.Repeat([]byte{0x5A}, int(PageSize))
	if err := f.WriteAt(fill, 0); err != nil {
		t.Fatal(err)
	}
	f.Fail(errors.New("injected EIO"))
	err = f.WriteZeros(0, PageSize)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "injected EIO") {
		t.Fatalf("WriteZeros on a failed file: got %v, want ErrFailed naming the cause", err)
	}
	if !bytes.Equal(f.Bytes()[:PageSize], fill) {
		t.Fatal("WriteZeros on a failed file changed its bytes")
	}
}
