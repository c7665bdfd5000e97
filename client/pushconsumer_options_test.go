package client

import (
	"errors"
	"slices"
	"testing"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		sel      MessageSelector
		wantExpr string
		wantTags []string
	}{
		{SelectAll, "*", nil},
		{MessageSelector{}, "*", nil},
		{ByTag("  "), "*", nil},
		{ByTag("a"), "a", []string{"a"}},
		{ByTag(" b || a ||b "), "b || a ||b", []string{"a", "b"}},
		{ByTag("a || *"), "*", nil},
	}
	for _, tt := range tests {
		s, err := parseSelector("T", tt.sel, 1)
		if err != nil {
			t.Errorf("%+v: %v", tt.sel, err)
			continue
		}
		if s.expr != tt.wantExpr || !slices.Equal(s.tags, tt.wantTags) {
			t.Errorf("%+v: expr %q tags %v, want %q %v", tt.sel, s.expr, s.tags, tt.wantExpr, tt.wantTags)
		}
	}
	if _, err := parseSelector("T", ByTag("a || || b"), 1); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("empty tag: %v", err)
	}
	// SQL92 goes to the broker as written (filter.go).
	if s, err := parseSelector("T", BySQL92(" a > 1 "), 1); err != nil || s.expr != "a > 1" || s.tags != nil ||
		s.expressionType() != ExpressionSQL92 || s.data().ExpressionType != ExpressionSQL92 {
		t.Errorf("SQL92: %+v %v", s, err)
	}
	if _, err := parseSelector("T", BySQL92("  "), 1); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("empty SQL92: %v", err)
	}
	if _, err := parseSelector("T", MessageSelector{Type: "XPATH", Expression: "a"}, 1); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("unknown type: %v", err)
	}
}

func TestSubscriptionMatchesExactTags(t *testing.T) {
	s, _ := parseSelector("T", ByTag("tagA || tagB"), 1)
	for tags, want := range map[string]bool{"tagA": true, "tagB": true, "tagC": false, "": false, "tagA ": false, "taga": false} {
		if got := s.matches(tags); got != want {
			t.Errorf("matches(%q) = %v, want %v", tags, got, want)
		}
	}
	all, _ := parseSelector("T", SelectAll, 1)
	if !all.matches("") || !all.matches("x") {
		t.Error("* does not match everything")
	}
}

// TestSubscriptionData checks the heartbeat form: raw expression, sorted tags, and the
// Java String.hashCode codes as strings (docs/protocol.md §9.7: "tagA" → 3552231).
func TestSubscriptionData(t *testing.T) {
	s, _ := parseSelector("TopicA", ByTag("tagB || tagA"), 42)
	d := s.data()
	if d.Topic != "TopicA" || d.SubString != "tagB || tagA" || d.SubVersion != 42 || d.ExpressionType != "TAG" {
		t.Fatalf("data %+v", d)
	}
	if !slices.Equal(d.TagsSet, []string{"tagA", "tagB"}) || !slices.Equal([]string(d.CodeSet), []string{"3552231", "3552232"}) {
		t.Fatalf("tags %v codes %v", d.TagsSet, d.CodeSet)
	}
	all, _ := parseSelector("T", SelectAll, 1)
	if d := all.data(); d.TagsSet == nil || len(d.TagsSet) != 0 || len(d.CodeSet) != 0 || d.SubString != "*" {
		t.Fatalf("select-all data %+v", d)
	}
}

func TestSplitBatches(t *testing.T) {
	ms := msgsAt(1, 2, 3, 4, 5)
	ms[2].Topic = "U"
	var got [][]int64
	for _, b := range splitBatches(ms, 2) {
		got = append(got, offsetsOf(b))
	}
	want := [][]int64{{1, 2}, {3}, {4, 5}}
	if len(got) != len(want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	for i := range want {
		if !equalInts(got[i], want[i]) {
			t.Fatalf("batches %v, want %v", got, want)
		}
	}
}
