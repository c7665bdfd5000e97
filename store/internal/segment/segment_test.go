package segment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNames(t *testing.T) {
	for _, c := range []struct {
		start int64
		name  string
	}{{0, "00000000000000000000"}, {1073741824, "00000000001073741824"}, {6000000, "00000000000006000000"}} {
		if got := Name(c.start); got != c.name {
			t.Errorf("Name(%d) = %s, want %s", c.start, got, c.name)
		}
		if got, ok := ParseName(c.name); !ok || got != c.start {
			t.Errorf("ParseName(%s) = %d %v", c.name, got, ok)
		}
	}
	for _, bad := range []string{"", "lock", "0000000000000000000", "000000000000000000000", "0000000000000000000x", "99999999999999999999"} {
		if _, ok := ParseName(bad); ok {
			t.Errorf("ParseName(%q) accepted", bad)
		}
	}
	dir := t.TempDir()
	for _, n := range []string{Name(8192), Name(0), Name(4096), "checkpoint", Name(12288) + ".tmp"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	starts, err := List(dir)
	if err != nil || len(starts) != 3 || starts[0] != 0 || starts[1] != 4096 || starts[2] != 8192 {
		t.Fatalf("List = %v %v", starts, err)
	}
	if starts, err := List(filepath.Join(dir, "missing")); err != nil || starts != nil {
		t.Fatalf("List of a missing dir = %v %v", starts, err)
	}
}

func TestCreateOpenSyncZero(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(dir, 8192, 8192)
	if err != nil {
		t.Fatal(err)
	}
	if f.Start() != 8192 || f.End() != 16384 || !f.Contains(8192) || f.Contains(16384) {
		t.Fatalf("bounds %d %d", f.Start(), f.End())
	}
	copy(f.Bytes()[100:], "hello")
	if err := f.Sync(100, 105); err != nil {
		t.Fatal(err)
	}
	if !f.Populate(0, 8192) {
		t.Log("MADV_POPULATE_WRITE not supported here")
	}
	f.Close()
	f.Close() // idempotent
	b, _ := os.ReadFile(filepath.Join(dir, Name(8192)))
	if len(b) != 8192 || string(b[100:105]) != "hello" {
		t.Fatalf("file holds %d bytes, %q", len(b), b[100:105])
	}
	f, err = Open(dir, 8192, 8192)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.Bytes()[5000:], "world")
	f.ZeroFrom(102)
	if string(f.Bytes()[100:102]) != "he" || f.Bytes()[102] != 0 || f.Bytes()[5000] != 0 {
		t.Fatal("ZeroFrom left bytes behind")
	}
	f.Fail(errors.New("injected"))
	if err := f.Sync(0, 10); !errors.Is(err, ErrFailed) {
		t.Fatalf("sync after failure: %v", err)
	}
	f.Close()
	if _, err := Open(dir, 8192, 4096); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with the wrong size: %v", err)
	}
	if _, err := Create(dir, 8192, 4096); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("create over a file of another size: %v", err)
	}
}

// TestZeroFromLongTail zeroes a tail that was written, populated and read far past
// the cut (what a killed log leaves, and what recovery's own scan faulted in): every
// byte past the cut reads zero, the bytes before it are kept, and, where the file system
// has FALLOC_FL_ZERO_RANGE, nothing of the tail is left as data for the next recovery
// to read.
func TestZeroFromLongTail(t *testing.T) {
	const size = 16 << 20
	dir := t.TempDir()
	f, err := Create(dir, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := f.Bytes()
	copy(b[1000:], "keep")
	copy(b[5000:], "stale")
	copy(b[3<<20:], "stale")
	f.Populate(0, 8<<20)
	var sum byte
	for p := 8 << 20; p < 12<<20; p += int(PageSize) {
		sum |= b[p] // read faults, as a scan does
	}
	if err := f.Sync(0, size); err != nil {
		t.Fatal(err)
	}
	f.ZeroFrom(1004)
	if err := f.Sync(1004, size); err != nil {
		t.Fatal(err)
	}
	if string(b[1000:1004]) != "keep" || sum != 0 {
		t.Fatalf("bytes before the cut: %q", b[1000:1004])
	}
	for i := 1004; i < size; i++ {
		if b[i] != 0 {
			t.Fatalf("byte %d past the cut is %#x", i, b[i])
		}
	}
	disk, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if string(disk[1000:1004]) != "keep" || string(disk[5000:5005]) != "\x00\x00\x00\x00\x00" || disk[3<<20] != 0 {
		t.Fatal("the file does not hold what the mapping does")
	}
	// The reads above faulted the tail back in; zero it again and look before reading.
	f.ZeroFrom(1004)
	if !zeroRangeSupported(t, dir) {
		t.Skip("no FALLOC_FL_ZERO_RANGE here: the tail is cleared page by page")
	}
	if r := f.DataRanges(PageSize); len(r) != 0 {
		t.Fatalf("data ranges left past the cut: %v", r)
	}
}

func zeroRangeSupported(t *testing.T, dir string) bool {
	t.Helper()
	probe, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if err := probe.Truncate(2 * PageSize); err != nil {
		t.Fatal(err)
	}
	return unix.Fallocate(int(probe.Fd()), unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, 0, PageSize) == nil
}

func TestSetAndGrave(t *testing.T) {
	dir := t.TempDir()
	s := NewSet(dir, 4096)
	for i := int64(0); i < 3; i++ {
		f, err := Create(dir, i*4096, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Append(f); err != nil {
			t.Fatal(err)
		}
	}
	gap, _ := Create(dir, 5*4096, 4096)
	if err := s.Append(gap); err == nil {
		t.Fatal("non-contiguous append accepted")
	}
	gap.Close()
	if s.Find(4095).Start() != 0 || s.Find(4096).Start() != 4096 || s.Find(3*4096) != nil || s.Find(-1) != nil {
		t.Fatal("Find")
	}
	g := NewGrave(time.Minute)
	first := s.RemoveFirst()
	data := first.Bytes()
	now := time.Now()
	g.Bury(first, now)
	if _, err := os.Stat(first.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("buried file not unlinked")
	}
	_ = data[4095] // still mapped during the grace
	if g.Pending() != 4096 || g.Reap(now.Add(59*time.Second)) != 0 {
		t.Fatal("reaped before the grace")
	}
	if g.Reap(now.Add(time.Minute)) != 1 || g.Pending() != 0 {
		t.Fatal("not reaped after the grace")
	}
	if s.First().Start() != 4096 || s.Len() != 2 {
		t.Fatal("set after RemoveFirst")
	}
	s.Close()
	g.Close()
}
