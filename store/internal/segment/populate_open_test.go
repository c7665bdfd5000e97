package segment

import (
	"bytes"
	"sync"
	"testing"
)

// PopulateOpen faults pages in without changing them, concurrently with a writer and
// with Close; after Close it does nothing, and a closed file is not a refusal (a caller
// would otherwise stop populating every file).
func TestPopulateOpenRacesClose(t *testing.T) {
	const size = 16 * 4096
	f, err := CreateUnsynced(t.TempDir(), 0, size)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.Bytes()[100:], "kept")
	if f.PopulateOpen(0, size) {
		t.Fatal("PopulateOpen on an open file was refused")
	}
	if got := f.Bytes()[100:104]; !bytes.Equal(got, []byte("kept")) || f.Bytes()[size-1] != 0 {
		t.Fatalf("populate changed the contents: %q", got)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.PopulateOpen(PageSize, size) // before or after the Close below; never under it
		}()
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if f.PopulateOpen(0, size) {
		t.Fatal("PopulateOpen on a closed file reported a refusal")
	}
}
