package filter

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// kind is the type of a value.
type kind uint8

const (
	kNull kind = iota // missing property, NULL literal, unknown truth value
	kString
	kInt
	kFloat
	kBool
)

// value is one evaluated operand: a property string, a literal, or a truth value.
type value struct {
	k kind
	s string
	i int64
	f float64
	b bool
}

var (
	valTrue  = value{k: kBool, b: true}
	valFalse = value{k: kBool}
	valNull  = value{}
)

func boolValue(b bool) value {
	if b {
		return valTrue
	}
	return valFalse
}

// String renders v as a literal.
func (v value) String() string {
	switch v.k {
	case kString:
		return quote(v.s)
	case kInt:
		return strconv.FormatInt(v.i, 10)
	case kFloat:
		return formatFloat(v.f)
	case kBool:
		if v.b {
			return "TRUE"
		}
		return "FALSE"
	}
	return "NULL"
}

// errMismatch is a failed conversion during evaluation: RocketMQ throws, and the broker
// treats the message as not matching.
var errMismatch = errors.New("filter: type mismatch")

// node is one operator of a compiled expression.
type node interface {
	eval(get func(string) (string, bool)) (value, error)
	format(sb *strings.Builder)
}

// constNode is a literal.
type constNode struct{ v value }

func (n constNode) eval(func(string) (string, bool)) (value, error) { return n.v, nil }
func (n constNode) format(sb *strings.Builder)                      { sb.WriteString(n.v.String()) }

// propNode is a property reference: its string value, or NULL when missing.
type propNode struct{ name string }

func (n propNode) eval(get func(string) (string, bool)) (value, error) {
	if s, ok := get(n.name); ok {
		return value{k: kString, s: s}, nil
	}
	return valNull, nil
}
func (n propNode) format(sb *strings.Builder) { sb.WriteString(n.name) }

// castNode is a property used as a condition: TRUE only for a boolean, which a property
// string never is.
type castNode struct{ prop propNode }

func (n *castNode) eval(get func(string) (string, bool)) (value, error) {
	v, err := n.prop.eval(get)
	if err != nil || v.k == kNull {
		return valNull, err
	}
	if v.k == kBool {
		return v, nil
	}
	return valFalse, nil
}
func (n *castNode) format(sb *strings.Builder) { n.prop.format(sb) }

// negNode is unary minus: numbers are negated, anything else is NULL.
type negNode struct{ x node }

func (n *negNode) eval(get func(string) (string, bool)) (value, error) {
	v, err := n.x.eval(get)
	if err != nil {
		return valNull, err
	}
	switch v.k {
	case kInt:
		v.i = -v.i
		return v, nil
	case kFloat:
		v.f = -v.f
		return v, nil
	}
	return valNull, nil
}
func (n *negNode) format(sb *strings.Builder) {
	sb.WriteString("(- ")
	n.x.format(sb)
	sb.WriteByte(')')
}

// notNode negates a condition; NOT unknown is unknown.
type notNode struct{ x node }

func (n *notNode) eval(get func(string) (string, bool)) (value, error) {
	v, err := n.x.eval(get)
	if err != nil || v.k != kBool {
		return valNull, err
	}
	return boolValue(!v.b), nil
}
func (n *notNode) format(sb *strings.Builder) {
	sb.WriteString("(NOT ")
	n.x.format(sb)
	sb.WriteByte(')')
}

// logicNode is AND (or OR) of conditions, evaluated left to right: the first FALSE
// (TRUE) operand decides without evaluating the rest; otherwise an unknown operand makes
// the result unknown.
type logicNode struct {
	or    bool
	items []node
}

func (n *logicNode) eval(get func(string) (string, bool)) (value, error) {
	unknown := false
	for _, it := range n.items {
		v, err := it.eval(get)
		if err != nil {
			return valNull, err
		}
		if v.k != kBool {
			unknown = true
			continue
		}
		if v.b == n.or {
			return v, nil
		}
	}
	if unknown {
		return valNull, nil
	}
	return boolValue(!n.or), nil
}

func (n *logicNode) format(sb *strings.Builder) {
	op := " AND "
	if n.or {
		op = " OR "
	}
	sb.WriteByte('(')
	for i, it := range n.items {
		if i > 0 {
			sb.WriteString(op)
		}
		it.format(sb)
	}
	sb.WriteByte(')')
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opGt
	opGe
	opLt
	opLe
)

var cmpSymbols = [...]string{opEq: " = ", opGt: " > ", opGe: " >= ", opLt: " < ", opLe: " <= "}

// cmpNode is a comparison. IS NULL is = with a NULL right side, which RocketMQ's
// equality treats specially.
type cmpNode struct {
	op   cmpOp
	l, r node
}

func (n *cmpNode) eval(get func(string) (string, bool)) (value, error) {
	lv, err := n.l.eval(get)
	if err != nil {
		return valNull, err
	}
	if n.op == opEq {
		rv, err := n.r.eval(get)
		if err != nil {
			return valNull, err
		}
		switch {
		case lv.k == kNull && rv.k == kNull:
			return valTrue, nil
		case lv.k == kNull:
			return valNull, nil
		case rv.k == kNull:
			return valFalse, nil
		}
		c, err := compareValues(lv, rv)
		if err != nil {
			return valNull, err
		}
		return boolValue(c == 0), nil
	}
	if lv.k == kNull {
		return valNull, nil
	}
	rv, err := n.r.eval(get)
	if err != nil || rv.k == kNull {
		return valNull, err
	}
	if lv.k == kString && rv.k == kString {
		// Strings are not ordered: both must read as decimals.
		lf, lerr := parseDecimal(lv.s)
		rf, rerr := parseDecimal(rv.s)
		if lerr != nil || rerr != nil {
			return valNull, errMismatch
		}
		lv, rv = value{k: kFloat, f: lf}, value{k: kFloat, f: rf}
	}
	c, err := compareValues(lv, rv)
	if err != nil {
		return valNull, err
	}
	switch n.op {
	case opGt:
		return boolValue(c > 0), nil
	case opGe:
		return boolValue(c >= 0), nil
	case opLt:
		return boolValue(c < 0), nil
	default:
		return boolValue(c <= 0), nil
	}
}

func (n *cmpNode) format(sb *strings.Builder) {
	sb.WriteByte('(')
	n.l.format(sb)
	if c, ok := n.r.(constNode); ok && n.op == opEq && c.v.k == kNull {
		sb.WriteString(" IS NULL)")
		return
	}
	sb.WriteString(cmpSymbols[n.op])
	n.r.format(sb)
	sb.WriteByte(')')
}

// inNode is [NOT] IN over string literals; a non-string or missing value is unknown.
type inNode struct {
	prop propNode
	not  bool
	list []string // distinct, in source order (for String)
	set  map[string]struct{}
}

func (n *inNode) eval(get func(string) (string, bool)) (value, error) {
	v, _ := n.prop.eval(get)
	if v.k != kString {
		return valNull, nil
	}
	_, in := n.set[v.s]
	return boolValue(in != n.not), nil
}

func (n *inNode) format(sb *strings.Builder) {
	sb.WriteByte('(')
	n.prop.format(sb)
	if n.not {
		sb.WriteString(" NOT")
	}
	sb.WriteString(" IN (")
	for i, s := range n.list {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quote(s))
	}
	sb.WriteString("))")
}

// strFunc is one of the string predicates.
type strFunc uint8

const (
	fnContains strFunc = iota
	fnStartsWith
	fnEndsWith
)

var strFuncNames = [...]string{fnContains: "CONTAINS", fnStartsWith: "STARTSWITH", fnEndsWith: "ENDSWITH"}

// strNode is [NOT] CONTAINS / STARTSWITH / ENDSWITH: FALSE for an empty search, a
// missing value or a non-string, whether negated or not.
type strNode struct {
	fn     strFunc
	x      node
	search string
	not    bool
}

func (n *strNode) eval(get func(string) (string, bool)) (value, error) {
	if n.search == "" {
		return valFalse, nil
	}
	v, err := n.x.eval(get)
	if err != nil {
		return valNull, err
	}
	if v.k != kString {
		return valFalse, nil
	}
	var hit bool
	switch n.fn {
	case fnContains:
		hit = strings.Contains(v.s, n.search)
	case fnStartsWith:
		hit = strings.HasPrefix(v.s, n.search)
	default:
		hit = strings.HasSuffix(v.s, n.search)
	}
	return boolValue(hit != n.not), nil
}

func (n *strNode) format(sb *strings.Builder) {
	sb.WriteByte('(')
	n.x.format(sb)
	if n.not {
		sb.WriteString(" NOT")
	}
	sb.WriteByte(' ')
	sb.WriteString(strFuncNames[n.fn])
	sb.WriteByte(' ')
	sb.WriteString(quote(n.search))
	sb.WriteByte(')')
}

// compareValues orders two non-NULL values as RocketMQ's __compare does with string
// conversion on: values of one kind compare directly; an integer meeting a decimal
// becomes a decimal; a string meeting a number is parsed as that number (failure is
// errMismatch); a string meeting a boolean is TRUE when it says "true" in any case; a
// boolean meeting a number orders first (-1).
func compareValues(l, r value) (int, error) {
	if l.k != r.k {
		var err error
		switch {
		case l.k == kInt && r.k == kFloat:
			l = value{k: kFloat, f: float64(l.i)}
		case l.k == kFloat && r.k == kInt:
			r = value{k: kFloat, f: float64(r.i)}
		case l.k == kString:
			l, err = convert(l.s, r.k)
		case r.k == kString:
			r, err = convert(r.s, l.k)
		default: // a boolean and a number
			return -1, nil
		}
		if err != nil {
			return 0, err
		}
	}
	switch l.k {
	case kInt:
		return cmpOrdered(l.i, r.i), nil
	case kFloat:
		return javaDoubleCompare(l.f, r.f), nil
	case kString:
		return strings.Compare(l.s, r.s), nil
	case kBool:
		return cmpOrdered(b2i(l.b), b2i(r.b)), nil
	}
	return 0, nil
}

// convert reads a property string as a value of kind k.
func convert(s string, k kind) (value, error) {
	switch k {
	case kInt:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return valNull, errMismatch
		}
		return value{k: kInt, i: i}, nil
	case kFloat:
		f, err := parseDecimal(s)
		if err != nil {
			return valNull, errMismatch
		}
		return value{k: kFloat, f: f}, nil
	case kBool:
		return boolValue(strings.EqualFold(s, "true")), nil
	}
	return value{k: kString, s: s}, nil
}

// parseDecimal reads s as Java's Double.valueOf does: surrounding whitespace ignored, an
// optional f/F/d/D suffix.
func parseDecimal(s string) (float64, error) {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if n := len(s); n > 1 && strings.IndexByte("fFdD", s[n-1]) >= 0 && s[n-2] != 'x' && s[n-2] != 'X' {
		s = s[:n-1]
	}
	return strconv.ParseFloat(s, 64)
}

// javaDoubleCompare is Double.compare: NaN is greater than everything and equal to
// itself, and -0.0 is less than 0.0.
func javaDoubleCompare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	as, bs := math.Signbit(a), math.Signbit(b)
	switch {
	case as == bs:
		return 0
	case as:
		return -1
	}
	return 1
}

func cmpOrdered[T int64 | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
