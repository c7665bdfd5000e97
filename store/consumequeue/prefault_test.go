package consumequeue

import (
	"testing"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// prefault covers populateChunk from the written position, capped at the file's end.
func TestPrefaultRange(t *testing.T) {
	size := 3*populateChunk + 100*UnitSize
	f, err := segment.CreateUnsynced(t.TempDir(), 0, int64(size))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct{ rel, want int64 }{
		{0, populateChunk},
		{populateChunk + 40, 2*populateChunk + 40},
		{int64(size) - 2*UnitSize, int64(size)}, // the last chunk ends with the file
		{3 * populateChunk, int64(size)},
	} {
		if got := prefault(f, c.rel); got != c.want {
			t.Errorf("prefault at %d: pages up to %d, want %d", c.rel, got, c.want)
		}
	}
}
