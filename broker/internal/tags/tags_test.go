package tags

import (
	"slices"
	"testing"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/message"
)

func TestParse(t *testing.T) {
	for expr, want := range map[string][]string{
		"":             nil,
		" * ":          nil,
		"a":            {"a"},
		" a || b ||  ": {"a", "b"},
		"a||b||c":      {"a", "b", "c"},
	} {
		if got := Parse(expr); !slices.Equal(got, want) {
			t.Errorf("Parse(%q) = %q, want %q", expr, got, want)
		}
	}
}

func TestOfSubscriptionPrefersTagsSet(t *testing.T) {
	sd := &body.SubscriptionData{SubString: "a || b", TagsSet: []string{" x ", ""}}
	if got := OfSubscription(sd); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("tags = %q, want [x]", got)
	}
	sd = &body.SubscriptionData{SubString: "a || b"}
	if got := OfSubscription(sd); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("tags = %q, want [a b]", got)
	}
}

func TestMatcher(t *testing.T) {
	if Matcher(nil) != nil {
		t.Fatal("no tags must mean no filter")
	}
	m := Matcher([]string{"a", "b"})
	if !m(message.TagsHash("a")) || !m(message.TagsHash("b")) || m(message.TagsHash("c")) {
		t.Fatal("matcher must accept exactly the hashes of a and b")
	}
}
