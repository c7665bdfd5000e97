package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

// props is the message every evaluation case runs against.
var props = map[string]string{
	"a":      "10",
	"b":      "2.5",
	"s":      "hello",
	"flag":   "true",
	"neg":    "-3",
	"big":    "3000000000",
	"quote":  "it's",
	"TAGS":   "TagA",
	"empty2": " 7 ",
	"hexish": "0x10",
}

func get(name string) (string, bool) {
	v, ok := props[name]
	return v, ok
}

// TestEvalMatrix evaluates each expression against props and checks the three-valued
// result as Match sees it, with RocketMQ's conversions: unknown and type mismatches do
// not match.
func TestEvalMatrix(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		// equality, strings and numbers
		{"s = 'hello'", true},
		{"s = 'Hello'", false},
		{"s <> 'x'", true},
		{"a = 10", true},
		{"a = 10.0", true},
		{"a = 11", false},
		{"10 = a", true},
		{"a <> 10", false},
		{"b = 2.5", true},
		{"quote = 'it''s'", true},
		{"TAGS = 'TagA'", true},
		// ordered comparisons convert the property to the literal's type
		{"a > 5", true},
		{"a >= 10", true},
		{"a < 10", false},
		{"a <= 10", true},
		{"b > 2", false}, // "2.5" is not an integer: a type mismatch, as in RocketMQ
		{"b > 2.0", true},
		{"neg < 0", true},
		{"big > 5", true},
		{"a > b", true}, // two strings compare as decimals
		{"empty2 > 6.5", true},
		// unknown property: unknown, so neither it nor its negation matches
		{"missing = 'x'", false},
		{"missing <> 'x'", false},
		{"NOT (missing = 'x')", false},
		{"missing > 1", false},
		{"'x' = missing", false},
		{"NOT ('x' = missing)", true}, // only the left side missing is unknown
		// IS NULL
		{"missing IS NULL", true},
		{"missing IS NOT NULL", false},
		{"a IS NULL", false},
		{"a IS NOT NULL", true},
		// type mismatch: no match at all, even under OR or NOT
		{"s > 1", false},
		{"s > 1 OR a = 10", false},
		{"a = 10 OR s > 1", true}, // OR stops at the first TRUE
		{"NOT (s > 1)", false},
		{"s = 5", false},
		{"hexish = 16", false},
		// booleans
		{"flag = TRUE", true},
		{"flag = FALSE", false},
		{"s = FALSE", true}, // "hello" is not "true"
		{"TRUE", true},
		{"FALSE", false},
		{"NULL", false},
		{"flag", false}, // a string is never a boolean
		{"NOT flag", true},
		{"missing", false},
		{"NOT missing", false},
		{"TRUE = flag", true},
		{"(a = 10) = 1", false}, // a boolean never equals a number
		{"1 = (a = 10)", false},
		// AND / OR with unknown
		{"a = 10 AND missing = 1", false},
		{"a = 11 AND missing = 1", false},
		{"NOT (a = 11 AND missing = 1)", true}, // FALSE AND unknown is FALSE
		{"NOT (a = 10 AND missing = 1)", false},
		{"a = 10 OR missing = 1", true},
		{"NOT (a = 11 OR missing = 1)", false}, // FALSE OR unknown is unknown
		{"a = 11 OR a = 12 OR a = 10", true},
		{"a = 10 AND (b = 2.5 AND s = 'hello')", true},
		// BETWEEN
		{"a BETWEEN 1 AND 10", true},
		{"a BETWEEN 11 AND 20", false},
		{"a NOT BETWEEN 11 AND 20", true},
		{"a NOT BETWEEN 1 AND 10", false},
		{"b BETWEEN 2 AND 3.0", false}, // "2.5" >= 2 is a mismatch
		{"b BETWEEN 2.0 AND 3.0", true},
		{"missing BETWEEN 1 AND 2", false},
		{"missing NOT BETWEEN 1 AND 2", false},
		{"a BETWEEN -5 AND 10", true},
		// IN
		{"s IN ('a', 'hello')", true},
		{"s IN ('a', 'b')", false},
		{"s NOT IN ('a', 'b')", true},
		{"s NOT IN ('hello')", false},
		{"missing IN ('a')", false},
		{"missing NOT IN ('a')", false},
		{"a IN ('10')", true},
		// string functions
		{"s CONTAINS 'ell'", true},
		{"s NOT CONTAINS 'ell'", false},
		{"s STARTSWITH 'he'", true},
		{"s ENDSWITH 'lo'", true},
		{"s NOT ENDSWITH 'x'", true},
		{"s CONTAINS ''", false},
		{"missing CONTAINS 'x'", false},
		{"missing NOT CONTAINS 'x'", false},
		// arithmetic signs
		{"neg = -3", true},
		{"a = +10", true},
		{"a > -(-5)", true},
		{"-a IS NULL", true}, // a string cannot be negated: NULL
		// keywords in any case, comments, whitespace
		{"a between 1 and 10 and s in ('hello')", true},
		{"a = 10 -- trailing comment", true},
		{"a /* inline */ = 10", true},
		{"\n\ta\r\n=\f10\n", true},
		// NOT binds tighter than comparisons: NOT a is TRUE (a is not a boolean), TRUE = 1
		// orders the boolean first, so it is FALSE.
		{"NOT a = 1", false},
	}
	for _, c := range cases {
		e, err := Compile(c.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.expr, err)
			continue
		}
		if got := e.Match(get); got != c.want {
			t.Errorf("%q: got %v, want %v (canonical %s)", c.expr, got, c.want, e)
		}
		// The canonical form evaluates the same.
		e2, err := Compile(e.String())
		if err != nil {
			t.Errorf("%q: canonical %q does not compile: %v", c.expr, e.String(), err)
			continue
		}
		if got := e2.Match(get); got != c.want {
			t.Errorf("%q: canonical %q gives %v, want %v", c.expr, e.String(), got, c.want)
		}
	}
}

// TestCompileErrors checks that each bad expression is refused with ErrSyntax and a
// position pointing at the problem.
func TestCompileErrors(t *testing.T) {
	cases := []struct {
		expr      string
		line, col int
		msg       string
	}{
		{"", 1, 1, "want a value"},
		{"a =", 1, 4, "want a value"},
		{"a = 1 )", 1, 7, "after a complete expression"},
		{"a = 'x", 1, 5, "string not closed"},
		{"(a = 1", 1, 7, "want ')'"},
		{"a == 1", 1, 3, "unknown operator =="},
		{"a != 1", 1, 3, "unknown operator !="},
		{"a = 1 AND", 1, 10, "want a value"},
		{"a > 'x'", 1, 3, "numbers only"},
		{"a > TRUE", 1, 3, "numbers only"},
		{"a > NULL", 1, 3, "numbers only"},
		{"(a = 1) > 2", 1, 9, "condition cannot be compared"},
		{"a = NULL", 1, 3, "use IS NULL"},
		{"NULL <> a", 1, 6, "use IS NULL"},
		{"TRUE = 1", 1, 6, "cannot be compared"},
		{"a BETWEEN 5 AND 1", 1, 3, "out of order"},
		{"a BETWEEN 'x' AND 'y'", 1, 3, "numbers only"},
		{"a BETWEEN 1 OR 2", 1, 13, "want AND"},
		{"'x' IN ('x')", 1, 5, "IN applies to a property"},
		{"a IN ()", 1, 7, "want a string"},
		{"a IN (1)", 1, 7, "want a string"},
		{"a IN ('x' 'y')", 1, 11, "want ',' or ')'"},
		{"a CONTAINS 1", 1, 12, "want a string"},
		{"5", 1, 1, "not a condition"},
		{"'x'", 1, 1, "not a condition"},
		{"-a", 1, 1, "not a condition"},
		{"a AND 5", 1, 7, "not a condition"},
		{"NOT 5", 1, 1, "NOT needs a condition"},
		{"a = 1\nAND b = 'x' OR", 2, 15, "want a value"},
		{"a IS 5", 1, 6, "want NULL"},
		{"a = 012", 1, 5, "leading zero"},
		{"a = 1e", 1, 6, "exponent without digits"},
		{"a = 99999999999999999999", 1, 5, "64-bit range"},
		{"a = 1e999", 1, 5, "out of range"},
		{"a = 5abc", 1, 5, "malformed number"},
		{"a = 1 /* open", 1, 7, "comment not closed"},
		{"a.b = 1", 1, 2, "unexpected character '.'"},
		{"a = 1 # x", 1, 7, "unexpected character '#'"},
		{"é = 1", 1, 1, "unexpected character 'é'"},
		{"a = 5L = a - 0", 1, 12, "after a complete expression"},
		{strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), 1, MaxDepth + 1, "nested more than"},
		{strings.Repeat("NOT ", MaxDepth+1) + "a", 1, 4*MaxDepth + 1, "nested more than"},
	}
	for _, c := range cases {
		_, err := Compile(c.expr)
		if err == nil {
			t.Errorf("Compile(%q): no error, want %q", c.expr, c.msg)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Compile(%q): %T %v, want a *SyntaxError", c.expr, err, err)
			continue
		}
		if se.Line != c.line || se.Column != c.col || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("Compile(%q): line %d column %d %q, want line %d column %d containing %q",
				c.expr, se.Line, se.Column, se.Msg, c.line, c.col, c.msg)
		}
		if !strings.Contains(err.Error(), "line ") || !strings.Contains(err.Error(), "column ") {
			t.Errorf("Compile(%q): error text %q lacks the position", c.expr, err)
		}
	}
	long := strings.Repeat("a = 1 OR ", MaxLen/9+1) + "a = 1"
	if _, err := Compile(long); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("Compile of %d bytes: %v, want a length error", len(long), err)
	}
}

// TestCanonicalForm checks String on a few shapes: expanded operators, flattening,
// literal rendering.
func TestCanonicalForm(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"a = 1", "(a = 1)"},
		{"a <> 'x''y'", "(NOT (a = 'x''y'))"},
		{"a BETWEEN 1 AND 2.5", "((a >= 1) AND (a <= 2.5))"},
		{"a NOT BETWEEN 1 AND 2", "((a < 1) OR (a > 2))"},
		{"a IS NOT NULL", "(NOT (a IS NULL))"},
		{"a = 1 AND (b = 2 AND c = 3) AND d = 4", "((a = 1) AND (b = 2) AND (c = 3) AND (d = 4))"},
		{"a = 1 OR b = 2 AND c = 3", "((a = 1) OR ((b = 2) AND (c = 3)))"},
		{"s NOT IN ('x', 'y', 'x')", "(s NOT IN ('x', 'y'))"},
		{"s NOT STARTSWITH 'p'", "(s NOT STARTSWITH 'p')"},
		{"a = -5", "(a = (- 5))"},
		{"a = +5.", "(a = 5.0)"},
		{"a = .5e1", "(a = 5.0)"},
		{"a = 1e21", "(a = 1e+21)"},
		{"a = 7l", "(a = 7)"},
		{"flag AND NOT other", "(flag AND (NOT other))"},
		{"TRUE OR FALSE", "(TRUE OR FALSE)"},
	}
	for _, c := range cases {
		e, err := Compile(c.expr)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.expr, err)
		}
		if got := e.String(); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.expr, got, c.want)
		}
		if e.Source() != c.expr {
			t.Errorf("Source() = %q, want %q", e.Source(), c.expr)
		}
	}
}

// TestMatchProperties evaluates against encoded properties in both the Java and the Go
// client form.
func TestMatchProperties(t *testing.T) {
	e, err := Compile("region = 'eu' AND price > 9.5 AND TAGS IN ('A', 'B')")
	if err != nil {
		t.Fatal(err)
	}
	java := []byte(message.EncodeProperties(map[string]string{"region": "eu", "price": "10", "TAGS": "B"}))
	goForm := []byte("TAGS\x01A\x02price\x0199.0\x02region\x01eu\x02")
	miss := []byte(message.EncodeProperties(map[string]string{"region": "us", "price": "10", "TAGS": "B"}))
	for name, c := range map[string]struct {
		props []byte
		want  bool
	}{"java form": {java, true}, "go form": {goForm, true}, "other region": {miss, false}, "none": {nil, false}} {
		if got := e.MatchProperties(c.props); got != c.want {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
	}
}
