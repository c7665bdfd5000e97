package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what Compile accepts.
const (
	// MaxLen bounds an expression in bytes.
	MaxLen = 32 << 10
	// MaxDepth bounds the nesting of parentheses, NOT and signs.
	MaxDepth = 100
)

// ErrSyntax is the class of every compile error; errors.Is(err, ErrSyntax) tells a bad
// expression from other failures.
var ErrSyntax = errors.New("filter: invalid SQL92 expression")

// SyntaxError is a compile error with the position it refers to.
type SyntaxError struct {
	Offset int    // byte offset in the expression, 0-based
	Line   int    // 1-based
	Column int    // 1-based, in characters
	Msg    string // what is wrong
}

// Error returns "filter: invalid SQL92 expression at line L, column C: msg".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%v at line %d, column %d: %s", ErrSyntax, e.Line, e.Column, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// syntaxErrorAt builds the error for offset off of src, counting lines and columns.
func syntaxErrorAt(src string, off int, format string, args ...any) *SyntaxError {
	off = min(max(off, 0), len(src))
	line, col := 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// tokKind is the kind of a token.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tInt
	tFloat
	tLParen
	tRParen
	tComma
	tPlus
	tMinus
	tEq
	tNe
	tGt
	tGe
	tLt
	tLe
	// keywords
	tNot
	tAnd
	tOr
	tBetween
	tIn
	tTrue
	tFalse
	tNull
	tIs
	tContains
	tStartsWith
	tEndsWith
)

var keywords = map[string]tokKind{
	"NOT": tNot, "AND": tAnd, "OR": tOr, "BETWEEN": tBetween, "IN": tIn, "TRUE": tTrue,
	"FALSE": tFalse, "NULL": tNull, "IS": tIs, "CONTAINS": tContains,
	"STARTSWITH": tStartsWith, "ENDSWITH": tEndsWith,
}

var tokNames = map[tokKind]string{
	tEOF: "end of expression", tIdent: "property name", tString: "string", tInt: "integer",
	tFloat: "decimal", tLParen: "'('", tRParen: "')'", tComma: "','", tPlus: "'+'",
	tMinus: "'-'", tEq: "'='", tNe: "'<>'", tGt: "'>'", tGe: "'>='", tLt: "'<'", tLe: "'<='",
}

func (k tokKind) String() string {
	if s, ok := tokNames[k]; ok {
		return s
	}
	for w, kw := range keywords {
		if kw == k {
			return w
		}
	}
	return fmt.Sprintf("token(%d)", int(k))
}

// token is one lexical unit: its kind, its position and, for names and literals, its
// value.
type token struct {
	kind tokKind
	off  int
	text string  // identifier, decoded string, or the source text of anything else
	i    int64   // tInt
	f    float64 // tFloat
}

// describe names the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tIdent:
		return "property " + t.text
	case tString:
		return "string " + quote(t.text)
	case tInt, tFloat:
		return "number " + t.text
	}
	return t.kind.String()
}

// lexer splits an expression into tokens.
type lexer struct {
	src string
	pos int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// skip passes over whitespace and comments.
func (l *lexer) skip() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case strings.HasPrefix(l.src[l.pos:], "--"):
			if i := strings.IndexAny(l.src[l.pos:], "\r\n"); i >= 0 {
				l.pos += i
			} else {
				l.pos = len(l.src)
			}
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			i := strings.Index(l.src[l.pos+2:], "*/")
			if i < 0 {
				return syntaxErrorAt(l.src, l.pos, "comment not closed: /* without */")
			}
			l.pos += 2 + i + 2
		default:
			return nil
		}
	}
	return nil
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tEOF, off: start}, nil
	}
	c := l.src[start]
	two := ""
	if start+1 < len(l.src) {
		two = l.src[start : start+2]
	}
	single := func(k tokKind) (token, error) {
		l.pos++
		return token{kind: k, off: start, text: l.src[start:l.pos]}, nil
	}
	if two == "!=" || two == "==" {
		return token{}, syntaxErrorAt(l.src, start, "unknown operator %s: use = or <>", two)
	}
	switch {
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
			l.pos++
		}
		word := l.src[start:l.pos]
		if k, ok := keywords[strings.ToUpper(word)]; ok {
			return token{kind: k, off: start, text: word}, nil
		}
		return token{kind: tIdent, off: start, text: word}, nil
	case isDigit(c) || c == '.' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		return l.number()
	case c == '\'':
		return l.str()
	case two == "<>":
		l.pos += 2
		return token{kind: tNe, off: start, text: two}, nil
	case two == ">=":
		l.pos += 2
		return token{kind: tGe, off: start, text: two}, nil
	case two == "<=":
		l.pos += 2
		return token{kind: tLe, off: start, text: two}, nil
	case c == '(':
		return single(tLParen)
	case c == ')':
		return single(tRParen)
	case c == ',':
		return single(tComma)
	case c == '+':
		return single(tPlus)
	case c == '-':
		return single(tMinus)
	case c == '=':
		return single(tEq)
	case c == '>':
		return single(tGt)
	case c == '<':
		return single(tLt)
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	return token{}, syntaxErrorAt(l.src, start, "unexpected character %q", r)
}

// number lexes an integer (digits, an optional L) or a decimal (digits with a point
// and/or an exponent), as DECIMAL_LITERAL and FLOATING_POINT_LITERAL do.
func (l *lexer) number() (token, error) {
	start := l.pos
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			n++
		}
		return n
	}
	intDigits := digits()
	decimal := false
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		decimal = true
		l.pos++
		digits()
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		expAt := l.pos
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.pos++
		}
		if digits() == 0 {
			return token{}, syntaxErrorAt(l.src, expAt, "number %s has an exponent without digits", l.src[start:l.pos])
		}
		decimal = true
	}
	text := l.src[start:l.pos]
	if decimal {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, syntaxErrorAt(l.src, start, "decimal %s is out of range", text)
		}
		return l.checkEnd(token{kind: tFloat, off: start, text: text, f: f})
	}
	if intDigits > 1 && text[0] == '0' {
		return token{}, syntaxErrorAt(l.src, start, "integer %s has a leading zero", text)
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'l' || l.src[l.pos] == 'L') {
		l.pos++
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return token{}, syntaxErrorAt(l.src, start, "integer %s is out of the 64-bit range", text)
	}
	return l.checkEnd(token{kind: tInt, off: start, text: text, i: i})
}

// checkEnd refuses a number run into a name ("5abc"), which RocketMQ's lexer would
// split into two tokens that no rule accepts.
func (l *lexer) checkEnd(t token) (token, error) {
	if l.pos < len(l.src) && (isIdentPart(l.src[l.pos]) || l.src[l.pos] == '.') {
		return token{}, syntaxErrorAt(l.src, t.off, "malformed number %s%c", l.src[t.off:l.pos], l.src[l.pos])
	}
	return t, nil
}

// str lexes a quoted string; ” inside stands for one quote.
func (l *lexer) str() (token, error) {
	start := l.pos
	l.pos++
	var sb strings.Builder
	for {
		i := strings.IndexByte(l.src[l.pos:], '\'')
		if i < 0 {
			return token{}, syntaxErrorAt(l.src, start, "string not closed: missing '")
		}
		sb.WriteString(l.src[l.pos : l.pos+i])
		l.pos += i + 1
		if l.pos < len(l.src) && l.src[l.pos] == '\'' {
			sb.WriteByte('\'')
			l.pos++
			continue
		}
		return token{kind: tString, off: start, text: sb.String()}, nil
	}
}

// quote renders s as a string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
