package consumequeue

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// TestFlushSyncsNewDirectories: appending to a new queue leaves the directory syncs of
// its directories and files to Flush (the checkpoint's), which does each once; a
// directory whose sync fails makes Flush fail and is tried again by the next one.
func TestFlushSyncsNewDirectories(t *testing.T) {
	root := t.TempDir()
	q := Create(root, "T", 0, 4, segment.NewGrave(time.Minute))
	defer q.Close()
	for i := int64(0); i < 6; i++ { // two files of 4 units
		if ok, err := q.Append(i, Unit{Offset: 10 * i, Size: 10}); err != nil || !ok {
			t.Fatalf("append %d: %v %v", i, ok, err)
		}
	}
	dir := Dir(root, "T", 0)
	want := []string{root, filepath.Dir(dir), dir}
	q.flushMu.Lock()
	got := slices.Clone(q.unsynced)
	q.flushMu.Unlock()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("directories to sync before Flush = %q, want %q", got, want)
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(q.unsynced) != 0 {
		t.Fatalf("after Flush %q are still to sync", q.unsynced)
	}

	// A directory that cannot be synced fails Flush and stays recorded.
	gone := filepath.Join(root, "gone")
	q.syncLater(gone)
	if err := q.Flush(); err == nil {
		t.Fatal("Flush with an unsyncable directory succeeded")
	}
	if !slices.Equal(q.unsynced, []string{gone}) {
		t.Fatalf("after a failed Flush %q are to sync, want %q", q.unsynced, gone)
	}
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := q.Flush(); err != nil || len(q.unsynced) != 0 {
		t.Fatalf("Flush after the directory came back: %v, %q left", err, q.unsynced)
	}
}
