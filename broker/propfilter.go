package broker

import (
	"github.com/rocketgo/rocketgo/broker/filter"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/header"
)

// SQL92 property filtering (enablePropertyFilter). A consumer subscribes with
// expression type SQL92 — in its heartbeat, or in a pull that carries its subscription
// — and the pull path evaluates the expression (broker/filter) against the properties
// of each record it reads (broker/internal/sqlread).

// compileSQL92 returns the compiled expression, or the refusal: SYSTEM_ERROR while
// enablePropertyFilter is off (Java's answer), SUBSCRIPTION_PARSE_FAILED with the
// position of the problem for a bad expression.
func (b *Broker) compileSQL92(expr string) (*filter.Expr, error) {
	if !b.opts.EnablePropertyFilter {
		return nil, reject(errNotSupported, "The broker does not support consumer to filter message by SQL92 (enablePropertyFilter is off)")
	}
	return b.sqlCache.Compile(expr, func(err error) error {
		return reject(errSubscriptionParse, "%v; expression %q", err, expr)
	})
}

// sqlFilterOf returns the SQL92 filter of a pull, nil when the pull filters by tag: from
// the request when it carries its subscription (sysFlag bit 2), else from the
// subscription the group registered by heartbeat.
func (b *Broker) sqlFilterOf(h *header.PullMessageRequest) (*filter.Expr, error) {
	if h.SysFlag&header.PullClassFilter != 0 {
		return nil, nil
	}
	if h.SysFlag&header.PullSubscription != 0 {
		if h.ExpressionType != exprSQL92 {
			return nil, nil
		}
		return b.compileSQL92(h.Subscription)
	}
	sd, ok := b.clients.Subscription(h.ConsumerGroup, h.Topic)
	if !ok || sd.ClassFilterMode || sd.ExpressionType != exprSQL92 {
		return nil, nil
	}
	if sd.SubVersion < h.SubVersion {
		return nil, reject(errSubscriptionNotLatest, "the consumer's subscription of %s is not latest (registered %d, pull %d), group %s",
			h.Topic, sd.SubVersion, h.SubVersion, h.ConsumerGroup)
	}
	return b.compileSQL92(sd.SubString)
}

// checkSubscriptionExpr is CHECK_CLIENT_CONFIG's test of a subscription: TAG always
// passes; SQL92 passes when property filtering is on and the expression compiles.
func (b *Broker) checkSubscriptionExpr(s *body.SubscriptionData) error {
	switch s.ExpressionType {
	case "", exprTag:
		return nil
	case exprSQL92:
		_, err := b.compileSQL92(s.SubString)
		return err
	}
	return reject(errNotSupported, "The broker does not support consumer to filter message by %s", s.ExpressionType)
}
