package consumequeue

import (
	"testing"
	"time"
	"unsafe"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/store/internal/segment"
	"golang.org/x/sys/unix"
)

// residentPages counts the pages of b (page-aligned) that are in memory (mincore(2);
// golang.org/x/sys has no wrapper for it).
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	vec := make([]byte, (len(b)+int(segment.PageSize)-1)/int(segment.PageSize))
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// prefault's goroutine really faults the chunk in: the pages past the one being written
// become resident without anything touching them.
func TestPrefaultMakesChunkResident(t *testing.T) {
	if populateRefused.Load() {
		t.Skip("the kernel refuses MADV_POPULATE_WRITE")
	}
	size := 4 * populateChunk
	f, err := segment.CreateUnsynced(t.TempDir(), 0, int64(size))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := f.Bytes()[segment.PageSize:populateChunk]
	if n := residentPages(t, chunk); n != 0 {
		t.Skipf("%d pages of a new file are already resident: nothing to observe", n)
	}
	if got := prefault(f, 0); got != populateChunk {
		t.Fatalf("prefault at 0: pages up to %d, want %d", got, populateChunk)
	}
	want := len(chunk) / int(segment.PageSize)
	testutil.Eventually(t, 10*time.Second, "the prefaulted chunk to become resident", func() bool {
		return residentPages(t, chunk) == want
	})
	if populateRefused.Load() {
		t.Fatal("an accepted populate was recorded as a refusal")
	}
}

// Once the kernel refused, prefault starts no more goroutines, and still reports the
// chunk's end (the writes then fault their pages themselves).
func TestPrefaultStopsAfterRefusal(t *testing.T) {
	f, err := segment.CreateUnsynced(t.TempDir(), 0, int64(2*populateChunk))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if populateRefused.Load() {
		t.Skip("the kernel refuses MADV_POPULATE_WRITE")
	}
	if !startPrefault(f, segment.PageSize, populateChunk) {
		t.Fatal("no prefault started before any refusal")
	}
	populateRefused.Store(true)
	defer populateRefused.Store(false)
	if startPrefault(f, populateChunk, 2*populateChunk) {
		t.Fatal("a prefault was started after the kernel refused")
	}
	if got := prefault(f, populateChunk); got != 2*populateChunk {
		t.Fatalf("prefault at %d: pages up to %d, want %d", populateChunk, got, 2*populateChunk)
	}
}
