package index

import (
	"maps"
	"testing"
)

// TestTombstoneUpdates: each update keeps the other topics' tombstones as they were,
// and what is in memory is what the file holds after a reload.
func TestTombstoneUpdates(t *testing.T) {
	dir := t.TempDir()
	var tb tombstones
	steps := []struct {
		name string
		do   func() error
		want map[string]int64
	}{
		{"set A", func() error { return tb.set(dir, "A", 100) }, map[string]int64{"A": 100}},
		{"set B", func() error { return tb.set(dir, "B", 500) }, map[string]int64{"A": 100, "B": 500}},
		{"set C", func() error { return tb.set(dir, "C", 900) }, map[string]int64{"A": 100, "B": 500, "C": 900}},
		{"lower above 600", func() error { return tb.lowerAbove(dir, 600) }, map[string]int64{"A": 100, "B": 500, "C": 600}},
		{"drop below 100", func() error { return tb.dropBelow(dir, 100) }, map[string]int64{"B": 500, "C": 600}},
		{"drop below 50 (no change)", func() error { return tb.dropBelow(dir, 50) }, map[string]int64{"B": 500, "C": 600}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !maps.Equal(tb.m, s.want) {
			t.Fatalf("%s: in memory %v, want %v", s.name, tb.m, s.want)
		}
		var reloaded tombstones
		if err := reloaded.load(dir); err != nil {
			t.Fatalf("%s: reload: %v", s.name, err)
		}
		if !maps.Equal(reloaded.m, s.want) {
			t.Fatalf("%s: file holds %v, want %v", s.name, reloaded.m, s.want)
		}
	}
}
