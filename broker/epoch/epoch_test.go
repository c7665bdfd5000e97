package epoch

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestAppendReplaceAndReopen(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{{1, 0}, {2, 100}, {2, 500}, {4, 700}} {
		if err := f.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	// Epoch 2 keeps its first start; a stale future (epoch 4) gives way to epoch 3.
	if err := f.Append(Entry{3, 650}); err != nil {
		t.Fatal(err)
	}
	want := []Entry{{1, 0}, {2, 100}, {3, 650}}
	g, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Entries(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("reopened entries %v, want %v", got, want)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if string(raw) != "1 0\n2 100\n3 650\n" {
		t.Fatalf("file %q", raw)
	}
}

func TestParseRefusesDisorder(t *testing.T) {
	for _, in := range []string{"2 100\n1 200\n", "1 200\n2 100\n", "x 1\n", "1\n", "0 5\n", "1 -4\n"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

// The shared end: the last epoch both hold from the same start, up to the smaller end.
func TestConsistentEnd(t *testing.T) {
	old := []Entry{{1, 0}, {2, 100}}              // an old master that wrote epoch 2 to 900
	master := []Entry{{1, 0}, {2, 100}, {3, 600}} // the new master had epoch 2 up to 600
	if end, ok := ConsistentEnd(old, 900, master, 2000); !ok || end != 600 {
		t.Fatalf("old master: end %d ok %v, want 600", end, ok)
	}
	// A slave behind the master in the same epoch keeps everything.
	if end, ok := ConsistentEnd(master[:2], math.MaxInt64, master[:2], 800); !ok || end != 800 {
		t.Fatalf("same epoch: end %d ok %v, want 800", end, ok)
	}
	// Same epoch number from another start: not shared; fall back to epoch 1.
	if end, ok := ConsistentEnd([]Entry{{1, 0}, {2, 300}}, 900, master, 2000); !ok || end != 100 {
		t.Fatalf("diverged epoch 2: end %d ok %v, want 100", end, ok)
	}
	if _, ok := ConsistentEnd([]Entry{{5, 0}}, 10, master, 2000); ok {
		t.Fatal("no shared epoch reported as shared")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("1 0\n2 100\n"))
	f.Add([]byte("3 5\n\n4 5\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := Parse(b)
		if err != nil {
			return
		}
		for i := 1; i < len(es); i++ {
			if es[i].Epoch <= es[i-1].Epoch || es[i].Start < es[i-1].Start {
				t.Fatalf("accepted disorder %v", es)
			}
		}
	})
}
