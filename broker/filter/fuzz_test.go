package filter

import (
	"testing"
)

// fuzzSeeds are the golden expressions of the table tests plus a few awkward ones.
var fuzzSeeds = []string{
	"a = 10 AND b > 2.5 OR s IN ('x', 'y''z')",
	"a BETWEEN -5 AND 10 AND NOT (s IS NULL)",
	"s NOT CONTAINS 'x' OR s STARTSWITH 'he' OR s ENDSWITH 'lo'",
	"TAGS = 'TagA' -- comment\n AND a <> 3",
	"/* c */ flag = TRUE AND x NOT BETWEEN 1e3 AND .5e4",
	"NOT a = 1", "a IS NOT NULL", "-(-a) > +3L", "((((a))))", "TRUE", "NULL",
	"a = 012", "a == 1", "'unterminated", "a IN ()", "é",
}

// propSets are the messages every compiled expression is evaluated against.
var propSets = []map[string]string{
	nil,
	{"a": "10", "b": "2.5", "s": "hello", "flag": "true", "TAGS": "TagA", "x": "700"},
	{"a": "x", "b": "", "s": "10", "flag": "TRUE", "TAGS": "b", "x": "-1e400"},
	{"a": "-3", "b": "NaN", "s": "y'z", "flag": "no", "x": " 5 "},
}

// FuzzParseSQL92 checks that Compile never panics, and that an expression that compiles
// prints as text which compiles to the same canonical form and evaluates the same on
// every property set.
func FuzzParseSQL92(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			if e != nil {
				t.Fatalf("Compile(%q) returned an expression and an error", src)
			}
			return
		}
		canon := e.String()
		e2, err := Compile(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not compile: %v", canon, src, err)
		}
		if again := e2.String(); again != canon {
			t.Fatalf("canonical form not stable: %q → %q", canon, again)
		}
		for _, ps := range propSets {
			get := func(k string) (string, bool) { v, ok := ps[k]; return v, ok }
			if a, b := e.Match(get), e2.Match(get); a != b {
				t.Fatalf("%q and its canonical form %q disagree on %v: %v vs %v", src, canon, ps, a, b)
			}
		}
	})
}
