package store

import (
	"fmt"
	"testing"
	"time"
)

// TestCatchUpIndexReadsOwnWrites: a record looked up by its unique key right after
// CatchUpIndex is found, in both flush modes, although the indexer gathers its batches
// for a few milliseconds; each lookup returns exactly the record just put.
func TestCatchUpIndexReadsOwnWrites(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		for i := range 50 {
			key := fmt.Sprintf("CU%03d", i)
			r := put(t, s, msg{topic: "CU", body: body(i, 100), uniq: key})
			if err := s.CatchUpIndex(5 * time.Second); err != nil {
				t.Fatal(err)
			}
			got, err := s.QueryByKey("CU", key, 0, 1<<62, 4)
			if err != nil || len(got) != 1 || got[0] != r.PhysicalOffset {
				t.Fatalf("query %s right after CatchUpIndex: %v %v, want [%d]", key, got, err, r.PhysicalOffset)
			}
		}
	})
}
