package commitlog

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

// TestFailedRollWakesReaders: under SYNC_FLUSH an append that must roll to the next
// segment first writes the run other appends staged in the full one; when the roll
// then fails (here the next segment's name is taken by a directory, as a failed
// create would leave it), the append fails, but the run it wrote is published and the
// store is told (Notify), so that its dispatcher makes those records readable to
// consumers now rather than at the next successful append, which a full disk may put
// off indefinitely. Whether a unit of AppendMany or a lone Append meets the roll.
func TestFailedRollWakesReaders(t *testing.T) {
	for _, many := range []bool{false, true} {
		dir := t.TempDir()
		l := testLog(t, dir, true) // 16 KiB segments; the log's goroutines never run
		var notified atomic.Int64
		l.o.Notify = func() { notified.Add(1) }
		if _, err := l.Recover(RecoverOptions{}); err != nil {
			t.Fatal(err)
		}
		var staged []Result
		for i := 0; i < 12; i++ { // 12 × ~1.1 KiB: staged, nothing written
			r, err := l.Append(record(t, "T", 0, make([]byte, 1000)), 1, []byte("T"), 0, true)
			if err != nil {
				t.Fatal(err)
			}
			staged = append(staged, r)
		}
		end := staged[len(staged)-1].EndOffset
		if w := l.written.Load(); w != 0 || notified.Load() != 0 {
			t.Fatalf("before the roll: written %d, %d notifications; want 0 and 0", w, notified.Load())
		}
		if err := os.Mkdir(filepath.Join(dir, segment.Name(16<<10)), 0o755); err != nil {
			t.Fatal(err)
		}
		big := record(t, "T", 0, make([]byte, 4000)) // does not fit what is left of the segment
		var err error
		if many {
			res, errs := make([]Result, 1), make([]error, 1)
			l.AppendMany([]Unit{{Recs: big, Count: 1, Topic: []byte("T"), Advance: true}}, res, errs)
			err = errs[0]
		} else {
			_, err = l.Append(big, 1, []byte("T"), 0, true)
		}
		if err == nil {
			t.Fatalf("many %v: an append whose roll cannot create the next segment succeeded", many)
		}
		if w := l.written.Load(); w != end {
			t.Fatalf("many %v: written %d after the failed roll, want the staged run's end %d", many, w, end)
		}
		if n := notified.Load(); n != 1 {
			t.Fatalf("many %v: %d notifications after the failed roll wrote the staged run, want 1", many, n)
		}
		if b, ok := l.Slice(staged[11].PhysicalOffset, int32(end-staged[11].PhysicalOffset)); !ok || len(b) == 0 {
			t.Fatalf("many %v: the last staged record is not readable", many)
		}
		l.Close()
	}
}
