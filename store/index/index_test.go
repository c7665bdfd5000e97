package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/store/diskguard"
)

// openSized opens the index in dir with small files: slots hash slots (few, so that
// keys collide) and entries entries a file (few, so that files roll).
func openSized(t testing.TB, dir string, slots, entries int) *Index {
	t.Helper()
	x, err := Open(Options{Dir: dir, Logger: zerolog.Nop(), Slots: slots, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func query(t testing.TB, x *Index, topic, key string, segs []int64) []int64 {
	t.Helper()
	var out []int64
	err := x.Query([]byte(topic), []byte(key), 0, 1<<62, segs, func(c Candidate) bool {
		out = append(out, c.Offset)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustAdd(t testing.TB, x *Index, topic, key string, phys int64) {
	t.Helper()
	if err := x.Add([]byte(topic), []byte(key), phys, 1000+phys); err != nil {
		t.Fatal(err)
	}
}

func mustCommit(t testing.TB, x *Index, applied int64) {
	t.Helper()
	if err := x.Commit(applied); err != nil {
		t.Fatal(err)
	}
}

func mustSync(t testing.TB, x *Index) {
	t.Helper()
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
}

func wantApplied(t testing.TB, x *Index, applied int64) {
	t.Helper()
	if x.Applied() != applied {
		t.Fatalf("applied %d, want %d", x.Applied(), applied)
	}
}

func want(t testing.TB, x *Index, topic, key string, exp ...int64) {
	t.Helper()
	if got := query(t, x, topic, key, []int64{0}); !slices.Equal(got, exp) {
		t.Fatalf("%s/%s: got %v, want %v", topic, key, got, exp)
	}
}

// indexFiles returns the index files' names in dir.
func indexFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+fileSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// addRange adds one entry of (T, k) and one of (T, u<off>) for each offset of
// [from, to) by 100, and commits at to.
func addRange(t testing.TB, x *Index, from, to int64) {
	t.Helper()
	for off := from; off < to; off += 100 {
		mustAdd(t, x, "T", "k", off)
		mustAdd(t, x, "T", fmt.Sprintf("u%d", off), off)
	}
	mustCommit(t, x, to)
}

// desc returns the offsets from hi down to lo by 100.
func desc(hi, lo int64) []int64 {
	var out []int64
	for off := hi; off >= lo; off -= 100 {
		out = append(out, off)
	}
	return out
}

// TestRoundTripCollisions forces every key into two slots, so chains mix keys and
// topics, and checks each query's exact candidates, newest first; entries are invisible
// until committed, a time window and an early stop are honoured, and a record that
// carries a token twice is reported once.
func TestRoundTripCollisions(t *testing.T) {
	x := openSized(t, t.TempDir(), 2, 1000)
	for off := int64(0); off < 1000; off += 100 {
		mustAdd(t, x, "T", "k", off)
		mustAdd(t, x, "T", fmt.Sprintf("u%d", off), off)
		mustAdd(t, x, "Other", "k", off+50)
	}
	want(t, x, "T", "k")
	mustCommit(t, x, 1000)
	want(t, x, "T", "k", desc(900, 0)...)
	want(t, x, "Other", "k", 950, 850, 750, 650, 550, 450, 350, 250, 150, 50)
	want(t, x, "T", "u300", 300)
	want(t, x, "T", "missing")
	// Pending entries of the next round stay invisible, though their chains are shared.
	mustAdd(t, x, "T", "k", 1000)
	mustAdd(t, x, "T", "k", 1000) // KEYS "k k"
	want(t, x, "T", "k", desc(900, 0)...)
	mustCommit(t, x, 1100)
	want(t, x, "T", "k", desc(1000, 0)...)
	var got []int64
	x.Query([]byte("T"), []byte("k"), 1000+200, 1000+600, []int64{0}, func(c Candidate) bool {
		if c.StoreMS != 1000+c.Offset {
			t.Fatalf("store time %d for %d", c.StoreMS, c.Offset)
		}
		got = append(got, c.Offset)
		return len(got) < 3
	})
	if !slices.Equal(got, []int64{600, 500, 400}) {
		t.Fatalf("window with a limit: %v", got)
	}
	// Entries below the first live segment are not returned.
	if got := query(t, x, "T", "k", []int64{500}); !slices.Equal(got, desc(1000, 500)) {
		t.Fatalf("segments from 500: %v", got)
	}
	if got := query(t, x, "T", "k", nil); got != nil {
		t.Fatalf("no segments: %v", got)
	}
}

// TestRollAcrossFiles fills several files of 5 entries and queries across them, before
// and after a clean reopen; the full files are sealed and their slots used as written.
func TestRollAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 3, 5)
	addRange(t, x, 0, 2000) // 40 entries: 8 files
	want(t, x, "T", "k", desc(1900, 0)...)
	want(t, x, "T", "u1300", 1300)
	if n := len(indexFiles(t, dir)); n != 8 {
		t.Fatalf("%d files, want 8", n)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x = openSized(t, dir, 3, 5)
	wantApplied(t, x, 2000)
	for _, f := range x.files[:7] {
		if !f.sealed {
			t.Fatalf("file %d not sealed", f.seq)
		}
	}
	want(t, x, "T", "k", desc(1900, 0)...)
	want(t, x, "T", "u0", 0)
	addRange(t, x, 2000, 2300)
	want(t, x, "T", "k", desc(2200, 0)...)
}

// TestTruncate cuts the index mid-file and then across files, and checks the exact
// entries left, the applied offset, and that both survive a crash (no Sync).
func TestTruncate(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 7, 6)
	addRange(t, x, 0, 3000) // 60 entries: 10 files
	mustSync(t, x)
	// Mid-file: entries of 2450 and on go, the file holding 2400 stays.
	if err := x.Truncate(2450); err != nil {
		t.Fatal(err)
	}
	want(t, x, "T", "k", desc(2400, 0)...)
	want(t, x, "T", "u2500")
	wantApplied(t, x, 2450)
	x.Abandon()
	x = openSized(t, dir, 7, 6)
	wantApplied(t, x, 2450)
	want(t, x, "T", "k", desc(2400, 0)...)
	want(t, x, "T", "u2400", 2400)
	// At a file's first entry (files hold 3 records): the files from there go whole.
	if err := x.Truncate(900); err != nil {
		t.Fatal(err)
	}
	if n := len(indexFiles(t, dir)); n != 3 {
		t.Fatalf("%d files left, want 3: %v", n, indexFiles(t, dir))
	}
	want(t, x, "T", "k", desc(800, 0)...)
	want(t, x, "T", "u900")
	x.Abandon()
	x = openSized(t, dir, 7, 6)
	want(t, x, "T", "k", desc(800, 0)...)
	// Indexing goes on from the cut; nothing old comes back.
	addRange(t, x, 900, 1200)
	want(t, x, "T", "k", desc(1100, 0)...)
	want(t, x, "T", "u2400")
	// Below the first entry: nothing is left.
	if err := x.Truncate(0); err != nil {
		t.Fatal(err)
	}
	want(t, x, "T", "k")
	x.Abandon()
	x = openSized(t, dir, 7, 6)
	want(t, x, "T", "k")
	wantApplied(t, x, 0)
}

// TestCrashLosesUnsynced: after a crash the index holds exactly what the last Sync
// made durable, across a file roll too, and entries written past the durable count
// are overwritten without coming back.
func TestCrashLosesUnsynced(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 5, 8)
	addRange(t, x, 0, 500)
	mustSync(t, x)
	addRange(t, x, 500, 900) // rolls into a second file
	want(t, x, "T", "k", desc(800, 0)...)
	x.Abandon()

	x = openSized(t, dir, 5, 8)
	wantApplied(t, x, 500)
	want(t, x, "T", "k", desc(400, 0)...)
	want(t, x, "T", "u600")
	// The first file was sealed by the Sync, the second named by it; the third,
	// created after it, is dropped.
	if got := indexFiles(t, dir); !slices.Equal(got, []string{"000000000001.ix", "000000000002.ix"}) {
		t.Fatalf("files after the crash: %v", got)
	}
	// Different keys now, over the old entries' places.
	for off := int64(500); off < 900; off += 100 {
		mustAdd(t, x, "T", "k", off)
		mustAdd(t, x, "T", fmt.Sprintf("v%d", off), off)
	}
	mustCommit(t, x, 900)
	want(t, x, "T", "k", desc(800, 0)...)
	want(t, x, "T", "u600")
	want(t, x, "T", "v600", 600)
	mustSync(t, x)
	x.Abandon()
	x = openSized(t, dir, 5, 8)
	want(t, x, "T", "k", desc(800, 0)...)
	want(t, x, "T", "v800", 800)
	want(t, x, "T", "u800")
}

// TestCrashAfterSealKeepsOneCopy: a crash after a full file was sealed, with the
// records that straddle it indexed again, reports each record once.
func TestCrashAfterSealKeepsOneCopy(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 5, 5)
	addRange(t, x, 0, 300) // 6 entries: the record at 200 straddles the two files
	mustSync(t, x)
	x.Abandon()
	// Lose the second file's header: the sealed file's applied offset (200) is used.
	corruptHeader(t, x.path(2))
	x = openSized(t, dir, 5, 5)
	wantApplied(t, x, 200)
	addRange(t, x, 200, 400)
	want(t, x, "T", "k", 300, 200, 100, 0)
	want(t, x, "T", "u200", 200)
	if err := x.Truncate(250); err != nil {
		t.Fatal(err)
	}
	want(t, x, "T", "k", 200, 100, 0)
}

func corruptHeader(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0xff}, 17); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptHeader: a file with a damaged header is dropped with every later one, and
// the applied offset falls back to the last file kept.
func TestCorruptHeader(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 3, 4)
	addRange(t, x, 0, 1000) // 20 entries, 5 files; file 3 starts at record 400
	mustSync(t, x)
	x.Close()
	corruptHeader(t, x.path(3))
	x = openSized(t, dir, 3, 4)
	wantApplied(t, x, 400)
	want(t, x, "T", "k", desc(300, 0)...)
	for _, n := range indexFiles(t, dir) {
		if n == "000000000004"+fileSuffix || n == "000000000005"+fileSuffix {
			t.Fatalf("file %s after the damaged one kept", n)
		}
	}
	addRange(t, x, 400, 1000)
	want(t, x, "T", "k", desc(900, 0)...)
}

// TestDeleteBefore drops exactly the files whose entries all lie below the new log
// start, never the file being written, durably.
func TestDeleteBefore(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 3, 4)
	addRange(t, x, 0, 1000) // files of 2 records: [0,100] [200,300] … [800,900]
	if err := x.DeleteBefore(450); err != nil {
		t.Fatal(err)
	}
	if got := indexFiles(t, dir); !slices.Equal(got, []string{"000000000003.ix", "000000000004.ix", "000000000005.ix"}) {
		t.Fatalf("files left: %v", got)
	}
	want(t, x, "T", "k", desc(900, 400)...)
	if err := x.DeleteBefore(1 << 40); err != nil {
		t.Fatal(err)
	}
	if got := indexFiles(t, dir); !slices.Equal(got, []string{"000000000005.ix"}) {
		t.Fatalf("files left: %v", got)
	}
	x.Close()
	x = openSized(t, dir, 3, 4)
	want(t, x, "T", "k", 900, 800)
	wantApplied(t, x, 1000)
}

// TestDeleteTopic hides a deleted topic's entries below the offset, keeps the other
// topics', survives a restart, and goes once retention passes it.
func TestDeleteTopic(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 3, 100)
	addRange(t, x, 0, 500)
	mustAdd(t, x, "Other", "k", 500)
	mustCommit(t, x, 600)
	mustSync(t, x)
	if err := x.DeleteTopic("T", 600); err != nil {
		t.Fatal(err)
	}
	want(t, x, "T", "k")
	want(t, x, "Other", "k", 500)
	x.Abandon() // the tombstone is durable without a Sync
	x = openSized(t, dir, 3, 100)
	want(t, x, "T", "k")
	want(t, x, "Other", "k", 500)
	mustAdd(t, x, "T", "k", 600)
	mustCommit(t, x, 700)
	want(t, x, "T", "k", 600)
	if err := x.DeleteBefore(600); err != nil {
		t.Fatal(err)
	}
	if h := x.tomb.hidden([]byte("T")); h != 0 {
		t.Fatalf("tombstone still at %d", h)
	}
	if _, err := os.Stat(filepath.Join(dir, tombstoneFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("tombstone file left: %v", err)
	}
}

// TestPebbleUpgrade: a directory holding the earlier pebble index is emptied and the
// index starts at offset 0.
func TestPebbleUpgrade(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"CURRENT", "MANIFEST-000001", "000002.sst", "OPTIONS-000003", "LOCK"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x := openSized(t, dir, 3, 10)
	wantApplied(t, x, 0)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "000000000001.ix" {
		t.Fatalf("directory after the upgrade: %v", ents)
	}
	addRange(t, x, 0, 300)
	want(t, x, "T", "k", 200, 100, 0)
}

// TestFailedRoundAddedAgain: when an Add fails (no room on the disk), the round's
// entries are dropped, across a file roll too, and Commit reports the failure; the
// round added again is found exactly once.
func TestFailedRoundAddedAgain(t *testing.T) {
	dir := t.TempDir()
	x := openSized(t, dir, 3, 4)
	addRange(t, x, 0, 300)
	for off := int64(300); off < 600; off += 100 {
		mustAdd(t, x, "T", "k", off)
	}
	// Write the queued entries, so that the round's entries are in the files (one of
	// them new) when it fails.
	if err := x.drain(); err != nil {
		t.Fatal(err)
	}
	if got := indexFiles(t, dir); len(got) != 3 {
		t.Fatalf("files before the failure: %v", got)
	}
	full := fmt.Errorf("index: %w", diskguard.ErrFull)
	if err := x.fail(full); err != full {
		t.Fatal(err)
	}
	if err := x.Add([]byte("T"), []byte("k"), 600, 1); err != full {
		t.Fatalf("add after a failure: %v", err)
	}
	if err := x.Commit(700); !errors.Is(err, diskguard.ErrFull) {
		t.Fatalf("commit after a failure: %v", err)
	}
	wantApplied(t, x, 300)
	want(t, x, "T", "k", 200, 100, 0)
	if got := indexFiles(t, dir); len(got) != 2 {
		t.Fatalf("files: %v", got)
	}
	addRange(t, x, 300, 700)
	want(t, x, "T", "k", desc(600, 0)...)
	want(t, x, "T", "u300", 300)
}
