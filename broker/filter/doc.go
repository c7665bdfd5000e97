// Package filter compiles and evaluates RocketMQ's SQL92 message selectors: the
// property filter a consumer asks for by subscribing with expression type SQL92, which
// the broker evaluates against each message's properties when enablePropertyFilter is on.
//
//	e, err := filter.Compile("region = 'eu' AND (price > 9.5 OR vip IS NOT NULL)")
//	if err != nil { ... }                    // *SyntaxError with line and column
//	ok := e.MatchProperties(propertyBytes)  // the record's encoded properties
//
// # Language
//
// The grammar is RocketMQ's SelectorParser.jj (filter module, derived from ActiveMQ's
// JMS selector parser), with the same precedence, loosest first:
//
//	OR
//	AND
//	=  <>  IS [NOT] NULL                       (left-associative, chainable)
//	>  >=  <  <=  [NOT] BETWEEN x AND y  [NOT] IN ('a', 'b')
//	[NOT] CONTAINS 's'  [NOT] STARTSWITH 's'  [NOT] ENDSWITH 's'
//	unary  +x  -x  NOT x                      (NOT binds tighter than comparisons:
//	                                           write NOT (a = 1), not NOT a = 1)
//	primary: literal, property name, ( expression )
//
// Keywords are case-insensitive; property names ([A-Za-z_$][A-Za-z0-9_$]*) are not.
// Literals: 'strings' (a quote inside is written twice), integers (an optional L suffix; int64),
// decimals (1.5, .5, 5., 1e3), TRUE, FALSE and NULL. Comments run from -- to the end of
// the line and between /* and */.
//
// # Semantics
//
// A property's value is always a string; a missing property is NULL. Evaluation is
// three-valued (TRUE, FALSE, unknown) and a message matches only when the whole
// expression is TRUE. As in RocketMQ:
//
//   - a comparison with a missing property is unknown, with RocketMQ's one asymmetry:
//     for = and <>, a missing right-hand side makes = FALSE (and <> TRUE); IS NULL and
//     IS NOT NULL are always TRUE or FALSE;
//   - NOT unknown is unknown; AND and OR follow SQL's three-valued tables and stop at
//     the first operand that decides the result;
//   - when a string is compared with a number it is converted to the number's type
//     (integer or decimal); when it is compared with a boolean, "true" in any case is
//     TRUE and anything else FALSE. Two strings compared with > >= < <= are both
//     converted to decimals;
//   - a conversion that fails is a type mismatch: the message does not match, whatever
//     the rest of the expression says (RocketMQ throws and the broker logs and skips the
//     message). A boolean compared with a number orders before it;
//   - IN and CONTAINS / STARTSWITH / ENDSWITH apply to strings only; anything else is
//     unknown (IN) or FALSE (the string functions);
//   - a bare property used as a condition ("WHERE vip") is TRUE only for a boolean
//     value, which a string never is: it is FALSE when present, unknown when missing.
//
// Checks RocketMQ makes when it compiles, made here too and reported as a SyntaxError:
// > >= < <= and BETWEEN take no string, boolean or NULL literal; = and <> take no NULL
// literal (use IS NULL); a boolean literal on the left of = or <> cannot be compared
// with another kind of literal; BETWEEN's literal bounds must be in order; IN applies
// to a property only; AND, OR, NOT and the whole expression need a condition, not a
// value.
//
// Where rocketgo differs, on purpose: the whole input must be one expression (RocketMQ
// ignores text after the first complete expression); integer literals are 64-bit and
// compare with string values as 64-bit integers (RocketMQ narrows literals that fit to
// 32 bits, so "a > 5" fails for a = "3000000000"); a decimal literal may be 0.0
// (RocketMQ refuses any literal below Double.MIN_VALUE); a boolean literal on the left
// of a comparison with a string property converts the string (RocketMQ fails with a
// class cast); a line comment may end the input without a newline.
//
// Bounds: an expression is at most MaxLen bytes and nests at most MaxDepth levels of
// parentheses, NOT and signs, so a hostile subscription cannot exhaust the stack.
// Compile never panics on any input; FuzzCompile checks that, and that every compiled
// expression prints (String) as text that compiles to the same expression.
package filter
