package filter

import (
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/rocketgo/rocketgo/proto/message"
)

// Expr is a compiled SQL92 selector. It is immutable and safe for concurrent use.
type Expr struct {
	root node
	src  string
}

// Compile parses src. Errors are *SyntaxError (errors.Is(err, ErrSyntax)) naming the
// line and column of the problem.
func Compile(src string) (*Expr, error) {
	if len(src) > MaxLen {
		return nil, &SyntaxError{Offset: MaxLen, Line: 1, Column: 1,
			Msg: "expression of " + strconv.Itoa(len(src)) + " bytes exceeds the limit of " + strconv.Itoa(MaxLen)}
	}
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("unexpected %s after a complete expression", p.tok.describe())
	}
	b, err := p.asBool(n, 0)
	if err != nil {
		return nil, err
	}
	return &Expr{root: b, src: src}, nil
}

// Source returns the text Expr was compiled from.
func (e *Expr) Source() string { return e.src }

// String returns a canonical, fully parenthesized form of the expression: it compiles
// to an expression that evaluates the same as e on every message (BETWEEN, <> and
// IS NOT NULL appear in their expanded forms).
func (e *Expr) String() string {
	var sb strings.Builder
	e.root.format(&sb)
	return sb.String()
}

// Match reports whether the expression is TRUE for a message whose properties get
// returns (ok false for a missing one).
func (e *Expr) Match(get func(name string) (string, bool)) bool {
	v, err := e.root.eval(get)
	return err == nil && v.k == kBool && v.b
}

// MatchProperties is Match over encoded message properties (key 0x01 value pairs
// separated by 0x02, as stored in a record). It does not allocate for the values: they
// are read in place, and never kept past the call.
func (e *Expr) MatchProperties(props []byte) bool {
	return e.Match(func(name string) (string, bool) { return propertyView(props, name) })
}

// propertyView is message.PropertyOf without the copy: the returned string aliases
// props (the last occurrence of name wins, malformed pairs are skipped), so it is valid
// only while props is.
func propertyView(props []byte, name string) (string, bool) {
	val, ok := message.PropertyView(props, name)
	if !ok {
		return "", false
	}
	return unsafe.String(&val[0], len(val)), true
}

// parser is a recursive-descent parser over the lexer's tokens, one rule per
// precedence level of SelectorParser.jj.
type parser struct {
	lex   lexer
	tok   token // current
	peek  token // next, valid when hasPk
	hasPk bool
	depth int
}

func (p *parser) advance() error {
	if p.hasPk {
		p.tok, p.hasPk = p.peek, false
		return nil
	}
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// lookahead returns the token after the current one.
func (p *parser) lookahead() (token, error) {
	if !p.hasPk {
		t, err := p.lex.next()
		if err != nil {
			return token{}, err
		}
		p.peek, p.hasPk = t, true
	}
	return p.peek, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return syntaxErrorAt(p.lex.src, p.tok.off, format, args...)
}

func (p *parser) errorAt(off int, format string, args ...any) error {
	return syntaxErrorAt(p.lex.src, off, format, args...)
}

// expect consumes a token of kind k.
func (p *parser) expect(k tokKind, what string) (token, error) {
	if p.tok.kind != k {
		return token{}, p.errorf("unexpected %s, want %s", p.tok.describe(), what)
	}
	t := p.tok
	return t, p.advance()
}

// enter counts one level of nesting and refuses more than MaxDepth.
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf("expression nested more than %d levels deep", MaxDepth)
	}
	return nil
}

// or := and (OR and)*
func (p *parser) or() (node, error) {
	at := p.tok.off
	left, err := p.and()
	if err != nil || p.tok.kind != tOr {
		return left, err
	}
	l, err := p.asBool(left, at)
	if err != nil {
		return nil, err
	}
	items := []node{l}
	for p.tok.kind == tOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		at := p.tok.off
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		r, err := p.asBool(right, at)
		if err != nil {
			return nil, err
		}
		items = append(items, r)
	}
	return newLogic(true, items), nil
}

// and := equality (AND equality)*
func (p *parser) and() (node, error) {
	at := p.tok.off
	left, err := p.equality()
	if err != nil || p.tok.kind != tAnd {
		return left, err
	}
	l, err := p.asBool(left, at)
	if err != nil {
		return nil, err
	}
	items := []node{l}
	for p.tok.kind == tAnd {
		if err := p.advance(); err != nil {
			return nil, err
		}
		at := p.tok.off
		right, err := p.equality()
		if err != nil {
			return nil, err
		}
		r, err := p.asBool(right, at)
		if err != nil {
			return nil, err
		}
		items = append(items, r)
	}
	return newLogic(false, items), nil
}

// equality := comparison ( = comparison | <> comparison | IS NULL | IS NOT NULL )*
func (p *parser) equality() (node, error) {
	left, err := p.comparison()
	if err != nil {
		return nil, err
	}
	for {
		opAt := p.tok.off
		switch p.tok.kind {
		case tEq, tNe:
			ne := p.tok.kind == tNe
			if err := p.advance(); err != nil {
				return nil, err
			}
			right, err := p.comparison()
			if err != nil {
				return nil, err
			}
			if err := checkEqualOperands(left, right); err != "" {
				return nil, p.errorAt(opAt, "%s", err)
			}
			left = &cmpNode{op: opEq, l: left, r: right}
			if ne {
				left = &notNode{x: left}
			}
		case tIs:
			if err := p.advance(); err != nil {
				return nil, err
			}
			not := false
			if p.tok.kind == tNot {
				not = true
				if err := p.advance(); err != nil {
					return nil, err
				}
			}
			if _, err := p.expect(tNull, "NULL after IS"); err != nil {
				return nil, err
			}
			left = &cmpNode{op: opEq, l: left, r: constNode{v: value{}}}
			if not {
				left = &notNode{x: left}
			}
		default:
			return left, nil
		}
	}
}

// comparison := unary ( > unary | >= unary | < unary | <= unary
//
//	| [NOT] CONTAINS|STARTSWITH|ENDSWITH string | [NOT] BETWEEN unary AND unary
//	| [NOT] IN ( string, ... ) )*
func (p *parser) comparison() (node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		opAt := p.tok.off
		not := false
		kind := p.tok.kind
		if kind == tNot {
			// NOT here only when a comparison keyword follows (LOOKAHEAD(2) in the
			// grammar); otherwise the comparison ends and a caller reports the NOT.
			nx, err := p.lookahead()
			if err != nil {
				return nil, err
			}
			switch nx.kind {
			case tContains, tStartsWith, tEndsWith, tBetween, tIn:
				not, kind = true, nx.kind
				if err := p.advance(); err != nil {
					return nil, err
				}
			default:
				return left, nil
			}
		}
		switch kind {
		case tGt, tGe, tLt, tLe:
			if err := p.advance(); err != nil {
				return nil, err
			}
			right, err := p.unary()
			if err != nil {
				return nil, err
			}
			op := map[tokKind]cmpOp{tGt: opGt, tGe: opGe, tLt: opLt, tLe: opLe}[kind]
			if left, err = p.ordered(op, left, right, opAt); err != nil {
				return nil, err
			}
		case tContains, tStartsWith, tEndsWith:
			if err := p.advance(); err != nil {
				return nil, err
			}
			s, err := p.expect(tString, "a string after "+kind.String())
			if err != nil {
				return nil, err
			}
			fn := map[tokKind]strFunc{tContains: fnContains, tStartsWith: fnStartsWith, tEndsWith: fnEndsWith}[kind]
			left = &strNode{fn: fn, x: left, search: s.text, not: not}
		case tBetween:
			if left, err = p.between(left, not, opAt); err != nil {
				return nil, err
			}
		case tIn:
			if left, err = p.in(left, not, opAt); err != nil {
				return nil, err
			}
		default:
			return left, nil
		}
	}
}

// ordered builds a > >= < <= comparison after RocketMQ's checkLessThanOperand: no
// literal other than a number, and no condition, on either side.
func (p *parser) ordered(op cmpOp, l, r node, at int) (node, error) {
	for _, n := range []node{l, r} {
		if msg := checkOrderedOperand(n); msg != "" {
			return nil, p.errorAt(at, "%s", msg)
		}
	}
	return &cmpNode{op: op, l: l, r: r}, nil
}

// between := [NOT] BETWEEN low AND high, expanded to (x >= low AND x <= high) or
// (x < low OR x > high).
func (p *parser) between(x node, not bool, at int) (node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	low, err := p.unary()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tAnd, "AND between the bounds of BETWEEN"); err != nil {
		return nil, err
	}
	high, err := p.unary()
	if err != nil {
		return nil, err
	}
	if not {
		lt, err := p.ordered(opLt, x, low, at)
		if err != nil {
			return nil, err
		}
		gt, err := p.ordered(opGt, x, high, at)
		if err != nil {
			return nil, err
		}
		return newLogic(true, []node{lt, gt}), nil
	}
	lc, lok := low.(constNode)
	hc, hok := high.(constNode)
	if lok && hok {
		if lc.v.k == kNull || hc.v.k == kNull {
			return nil, p.errorAt(at, "BETWEEN bounds cannot be NULL")
		}
		if c, err := compareValues(hc.v, lc.v); err == nil && c < 0 {
			return nil, p.errorAt(at, "BETWEEN bounds out of order: %s is greater than %s", lc.v, hc.v)
		}
	}
	ge, err := p.ordered(opGe, x, low, at)
	if err != nil {
		return nil, err
	}
	le, err := p.ordered(opLe, x, high, at)
	if err != nil {
		return nil, err
	}
	return newLogic(false, []node{ge, le}), nil
}

// in := [NOT] IN ( string (, string)* ), on a property only.
func (p *parser) in(x node, not bool, at int) (node, error) {
	prop, ok := x.(propNode)
	if !ok {
		return nil, p.errorAt(at, "IN applies to a property, not to %s", describeNode(x))
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if _, err := p.expect(tLParen, "'(' after IN"); err != nil {
		return nil, err
	}
	n := &inNode{prop: prop, not: not, set: map[string]struct{}{}}
	for {
		s, err := p.expect(tString, "a string in the IN list")
		if err != nil {
			return nil, err
		}
		if _, dup := n.set[s.text]; !dup {
			n.set[s.text] = struct{}{}
			n.list = append(n.list, s.text)
		}
		if p.tok.kind == tRParen {
			return n, p.advance()
		}
		if _, err := p.expect(tComma, "',' or ')' in the IN list"); err != nil {
			return nil, err
		}
	}
}

// unary := + unary | - unary | NOT unary | primary
func (p *parser) unary() (node, error) {
	switch p.tok.kind {
	case tPlus, tMinus, tNot:
		kind, at := p.tok.kind, p.tok.off
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return nil, err
		}
		operandAt := p.tok.off
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		switch kind {
		case tPlus:
			return x, nil
		case tMinus:
			return &negNode{x: x}, nil
		}
		if !isCondition(x) && !isProp(x) {
			return nil, p.errorAt(at, "NOT needs a condition, not %s", describeNode(x))
		}
		b, err := p.asBool(x, operandAt)
		if err != nil {
			return nil, err
		}
		return &notNode{x: b}, nil
	}
	return p.primary()
}

// primary := literal | property | ( or )
func (p *parser) primary() (node, error) {
	t := p.tok
	var n node
	switch t.kind {
	case tString:
		n = constNode{v: value{k: kString, s: t.text}}
	case tInt:
		n = constNode{v: value{k: kInt, i: t.i}}
	case tFloat:
		n = constNode{v: value{k: kFloat, f: t.f}}
	case tTrue, tFalse:
		n = constNode{v: value{k: kBool, b: t.kind == tTrue}}
	case tNull:
		n = constNode{v: value{}}
	case tIdent:
		n = propNode{name: t.text}
	case tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		p.depth--
		return x, nil
	default:
		return nil, p.errorf("unexpected %s, want a value, a property or '('", t.describe())
	}
	return n, p.advance()
}

// asBool makes n a condition, as the grammar's asBooleanExpression: conditions pass, a
// property becomes a boolean cast, anything else (a number, a string, a negation) is an
// error at offset at.
func (p *parser) asBool(n node, at int) (node, error) {
	if isCondition(n) {
		return n, nil
	}
	if pr, ok := n.(propNode); ok {
		return &castNode{prop: pr}, nil
	}
	return nil, p.errorAt(at, "%s is not a condition; compare it with something", describeNode(n))
}

// isCondition reports whether n is a BooleanExpression in RocketMQ's sense: the
// boolean and NULL literals, comparisons, logic, NOT, IN and the string functions.
func isCondition(n node) bool {
	switch n := n.(type) {
	case constNode:
		return n.v.k == kBool || n.v.k == kNull
	case *cmpNode, *logicNode, *notNode, *inNode, *strNode, *castNode:
		return true
	}
	return false
}

// isProp reports whether n is a property reference.
func isProp(n node) bool {
	_, ok := n.(propNode)
	return ok
}

// checkOrderedOperand is RocketMQ's checkLessThanOperand.
func checkOrderedOperand(n node) string {
	if c, ok := n.(constNode); ok {
		if c.v.k == kInt || c.v.k == kFloat {
			return ""
		}
		return "value " + c.v.String() + " cannot be compared with > >= < <= (numbers only)"
	}
	if isCondition(n) {
		return "a condition cannot be compared with > >= < <="
	}
	return ""
}

// checkEqualOperands is RocketMQ's checkEqualOperand and
// checkEqualOperandCompatability.
func checkEqualOperands(l, r node) string {
	lc, lok := l.(constNode)
	rc, rok := r.(constNode)
	if lok && lc.v.k == kNull || rok && rc.v.k == kNull {
		return "NULL cannot be compared with = or <>; use IS NULL or IS NOT NULL"
	}
	if lok && rok && lc.v.k == kBool && rc.v.k != kBool {
		return "'" + lc.v.String() + "' cannot be compared with '" + rc.v.String() + "'"
	}
	return ""
}

// describeNode names n for an error message.
func describeNode(n node) string {
	switch n := n.(type) {
	case constNode:
		return "literal " + n.v.String()
	case propNode:
		return "property " + n.name
	case *negNode:
		return "a negation"
	}
	return "a condition"
}

// newLogic builds an AND (or OR) of items, flattening nested nodes of the same kind:
// evaluation left to right stopping at the first deciding operand is associative, so
// the flat form evaluates like RocketMQ's left-deep tree and keeps the tree shallow.
func newLogic(or bool, items []node) node {
	flat := make([]node, 0, len(items))
	for _, it := range items {
		if ln, ok := it.(*logicNode); ok && ln.or == or {
			flat = append(flat, ln.items...)
			continue
		}
		flat = append(flat, it)
	}
	return &logicNode{or: or, items: flat}
}

// formatFloat renders f so that it lexes back as the same decimal.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// Not produced by the lexer; render something that compiles to NULL-like
		// behaviour rather than invalid text.
		return "NULL"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}
