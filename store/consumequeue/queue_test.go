package consumequeue

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/store/internal/segment"
)

func TestAppendReadRecover(t *testing.T) {
	root := t.TempDir()
	g := segment.NewGrave(time.Minute)
	q := Create(root, "T", 3, 10, g)
	for i := int64(0); i < 25; i++ {
		ok, err := q.Append(i, Unit{Offset: 100 * i, Size: 50, TagsCode: -i})
		if err != nil || !ok {
			t.Fatalf("append %d: %v %v", i, ok, err)
		}
	}
	if ok, err := q.Append(3, Unit{Offset: 300, Size: 50}); ok || err != nil {
		t.Fatalf("re-dispatched unit written: %v %v", ok, err)
	}
	if _, err := q.Append(3, Unit{Offset: 301, Size: 50}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("another record at a taken offset: %v", err)
	}
	if q.Min() != 0 || q.Max() != 25 || q.LastPhysicalEnd() != 2450 {
		t.Fatalf("min %d max %d last end %d", q.Min(), q.Max(), q.LastPhysicalEnd())
	}
	if u, ok := q.Unit(13); !ok || u != (Unit{1300, 50, -13}) {
		t.Fatalf("unit 13 = %+v %v", u, ok)
	}
	if _, ok := q.Unit(25); ok {
		t.Fatal("unit past max readable")
	}
	if _, err := q.Append(27, Unit{Offset: 2700, Size: 50}); !errors.Is(err, ErrGap) {
		t.Fatalf("gap: %v", err)
	}
	for i := int64(25); i < 28; i++ {
		if _, err := q.Append(i, Unit{Offset: 100 * i, Size: 50}); err != nil {
			t.Fatal(err)
		}
	}
	// A queue without files may start anywhere (a log that starts after 0).
	late := Create(root, "Late", 0, 10, g)
	if ok, err := late.Append(42, Unit{Offset: 1, Size: 1}); !ok || err != nil || late.Min() != 42 || late.Max() != 43 {
		t.Fatalf("late start: %v %v min %d max %d", ok, err, late.Min(), late.Max())
	}
	late.Close()
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	q.Close()

	// Units at or past the trusted offset are rebuilt by the dispatcher: trimmed.
	q2, st, err := Open(root, "T", 3, 10, 2000, g)
	if err != nil {
		t.Fatal(err)
	}
	if q2.Max() != 20 || st.TrimmedUnits != 8 || st.RemovedFiles != 0 {
		t.Fatalf("max %d stats %+v", q2.Max(), st)
	}
	// The trimmed units are erased: a later recovery cannot resurrect them.
	q2.Close()
	q3, _, err := Open(root, "T", 3, 10, 1<<40, g)
	if err != nil || q3.Max() != 20 {
		t.Fatalf("reopen: max %d %v", q3.Max(), err)
	}
	// Retention: files whose units all point below the new minimum go.
	if n := q3.DeleteBefore(1450, time.Now()); n != 1 || q3.Min() != 15 {
		t.Fatalf("delete before: %d files, min %d", n, q3.Min())
	}
	if _, ok := q3.Unit(14); ok {
		t.Fatal("unit below min readable")
	}
	if err := q3.Destroy(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Dir(root, "T", 3)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("destroyed queue's directory remains")
	}
	if _, err := q3.Append(20, Unit{Offset: 1, Size: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after destroy: %v", err)
	}
	g.Close()
}

func TestListQueues(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"A/0", "A/12", "B/1", "B/x", "C/007"} {
		os.MkdirAll(root+"/"+d, 0o755)
	}
	os.WriteFile(root+"/file", nil, 0o644)
	refs, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{{"A", 0}, {"A", 12}, {"B", 1}}
	if len(refs) != len(want) {
		t.Fatalf("refs %v", refs)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Fatalf("refs %v, want %v", refs, want)
		}
	}
}
