package commitlog

import (
	"testing"
)

// Recover hands what it verified in order, contiguous and record-aligned, a chunk at a
// time and the rest at the end, across segments and up to the torn tail's cut.
func TestRecoverHandsVerifiedChunks(t *testing.T) {
	dir := t.TempDir()
	l := testLog(t, dir, false)
	if _, err := l.Recover(RecoverOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Start()
	rs := appendN(t, l, 200, 300) // about 5 segments of 16 KiB
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	starts := map[int64]bool{}
	for _, r := range rs {
		starts[r.PhysicalOffset] = true
	}
	l2 := testLog(t, dir, false)
	defer l2.Abandon()
	var got [][2]int64
	res, err := l2.Recover(RecoverOptions{From: 0, VerifiedChunk: 4 << 10, Verified: func(from, to int64) error {
		got = append(got, [2]int64{from, to})
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	end := rs[len(rs)-1].EndOffset
	if res.End != end || len(got) < 10 {
		t.Fatalf("end %d (want %d), %d chunks", res.End, end, len(got))
	}
	next := int64(0)
	for i, c := range got {
		if c[0] != next || c[1] <= c[0] {
			t.Fatalf("chunk %d is [%d, %d), want it to start at %d", i, c[0], c[1], next)
		}
		if c[1] != end && !starts[c[1]] && c[1]%(16<<10) != 0 {
			t.Fatalf("chunk %d ends at %d, inside a record", i, c[1])
		}
		if i < len(got)-1 && c[1]-c[0] < 4<<10 {
			t.Fatalf("chunk %d of %d bytes handed before it was full", i, c[1]-c[0])
		}
		next = c[1]
	}
	if next != end {
		t.Fatalf("chunks end at %d, log at %d", next, end)
	}
}
