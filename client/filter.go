package client

import (
	"strings"
)

// maxSQL92Len bounds a SQL92 expression; the broker refuses longer ones.
const maxSQL92Len = 32 << 10

// BySQL92 selects the messages whose properties satisfy expr, a SQL92 condition such
// as "region = 'eu' AND price > 10" (RocketMQ's selector language: = <> > >= < <=,
// BETWEEN, IN, IS [NOT] NULL, AND, OR, NOT, string, number and boolean literals; TAGS
// is the tag). The broker evaluates it, so it must run with enablePropertyFilter on;
// it refuses an invalid expression with SUBSCRIPTION_PARSE_FAILED naming the line and
// column. A message lacking a property the expression compares, or holding a value of
// the wrong type, does not match.
func BySQL92(expr string) MessageSelector {
	return MessageSelector{Type: ExpressionSQL92, Expression: expr}
}

// sqlSubscription returns the subscription of a SQL92 selector: the expression as
// given, no tags (the broker filters exactly, so there is nothing to check again).
func sqlSubscription(topic string, sel MessageSelector, version int64) (*subscription, error) {
	expr := strings.TrimSpace(sel.Expression)
	if expr == "" {
		return nil, invalidOption("subscribe %s: empty SQL92 expression", topic)
	}
	if len(expr) > maxSQL92Len {
		return nil, invalidOption("subscribe %s: SQL92 expression of %d bytes, at most %d", topic, len(expr), maxSQL92Len)
	}
	return &subscription{topic: topic, expr: expr, sql: true, version: version}, nil
}

// expressionType is the expression type the subscription is registered and pulled
// with.
func (s *subscription) expressionType() string {
	if s.sql {
		return ExpressionSQL92
	}
	return ExpressionTag
}
