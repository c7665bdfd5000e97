package commitlog

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// TestStartPrimesAhead pins the priming (prepare.go): right after Start, before any
// append, the preparer has prepared the active segment and created and prepared the
// next one, so the first appends find their pages ready.
func TestStartPrimesAhead(t *testing.T) {
	for _, sync := range []bool{false, true} {
		l := testLog(t, t.TempDir(), sync)
		if _, err := l.Recover(RecoverOptions{}); err != nil {
			t.Fatal(err)
		}
		l.Start()
		want := 2 * l.o.SegmentBytes // the active segment and the one created ahead
		testutil.Eventually(t, 10*time.Second, "pages prepared ahead without an append", func() bool {
			l.prep.mu.Lock()
			next := l.prep.next
			l.prep.mu.Unlock()
			return l.prepMark().Load() >= want && next != nil && next.Start() == l.o.SegmentBytes
		})
		if w := l.Written(); w != 0 {
			t.Fatalf("sync=%v: written %d after priming, want 0", sync, w)
		}
		l.Close()
	}
}
