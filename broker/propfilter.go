package broker

import (
	"sync"

	"github.com/rocketgo/rocketgo/broker/filter"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// SQL92 property filtering (enablePropertyFilter). A consumer subscribes with
// expression type SQL92 — in its heartbeat, or in a pull that carries its subscription
// — and the pull path evaluates the expression (broker/filter) against the properties
// of each record it reads, after the store read: the ConsumeQueue holds only tag hashes.
// Java keeps a bloom filter per subscription in ConsumeQueue extensions to skip records
// without reading them; rocketgo reads them, bounded per pull by sqlScanUnits, which is
// what Java's read costs for a match.

// Bounds of the SQL92 pull path.
const (
	// sqlScanUnits bounds the ConsumeQueue units one pull examines (16000 bytes of
	// units, as a tag-filtered read), so a selective filter still answers promptly with
	// NO_MATCHED and the offset to go on from.
	sqlScanUnits = 16000 / 20
	// sqlReadBatch is how many records each store read returns to the filter.
	sqlReadBatch = 32
	// maxCachedExprs bounds the compiled expressions kept; the cache is emptied when
	// full (subscriptions change rarely, so it refills with what is in use).
	maxCachedExprs = 1024
)

// sqlCache holds compiled SQL92 subscriptions by source text, failures included, so a
// pull does not compile its consumer's expression again.
type sqlCache struct {
	mu sync.Mutex
	m  map[string]sqlEntry
}

type sqlEntry struct {
	e   *filter.Expr
	err error
}

// compileSQL92 returns the compiled expression, or the refusal: SYSTEM_ERROR while
// enablePropertyFilter is off (Java's answer), SUBSCRIPTION_PARSE_FAILED with the
// position of the problem for a bad expression.
func (b *Broker) compileSQL92(expr string) (*filter.Expr, error) {
	if !b.opts.EnablePropertyFilter {
		return nil, reject(errNotSupported, "The broker does not support consumer to filter message by SQL92 (enablePropertyFilter is off)")
	}
	c := &b.sqlCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if ent, ok := c.m[expr]; ok {
		return ent.e, ent.err
	}
	e, err := filter.Compile(expr)
	if err != nil {
		err = reject(errSubscriptionParse, "%v; expression %q", err, expr)
	}
	if c.m == nil || len(c.m) >= maxCachedExprs {
		c.m = make(map[string]sqlEntry)
	}
	c.m[expr] = sqlEntry{e, err}
	return e, err
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

// readFiltered reads records from p.offset and keeps those the SQL92 filter matches,
// until maxCount or the byte limit is reached, sqlScanUnits units were examined, or the
// queue ends. The status and nextBeginOffset follow docs/protocol.md §2.4: FOUND if one
// matched, else NO_MATCHED_MESSAGE, with nextBeginOffset past every unit examined (or
// at the first match that did not fit).
func (b *Broker) readFiltered(p *pullPlan) store.GetResult {
	off := p.offset
	limit := off + sqlScanUnits
	out := store.GetResult{Status: store.NoMatchedMessage}
	for first := true; off < limit; first = false {
		res := b.pullSrc.GetMessages(p.topic, p.queueID, off, sqlReadBatch, b.live().MaxTransferBytes, nil)
		switch res.Status {
		case store.Found, store.NoMatchedMessage, store.MessageWasRemoving:
		default:
			if first {
				return res // outside the queue, or at its end: as for any pull
			}
			out.NextBegin = off
			return out
		}
		if first {
			out.MinOffset, out.MaxOffset = res.MinOffset, res.MaxOffset
		}
		for _, rec := range res.Records {
			if !p.sql.MatchProperties(message.RecordProperties(rec)) {
				continue
			}
			if len(out.Records) >= p.maxCount || len(out.Records) > 0 && out.Bytes+len(rec) > b.live().MaxTransferBytes {
				out.NextBegin = message.RecordQueueOffset(rec)
				return out
			}
			out.Records = append(out.Records, rec)
			out.Bytes += len(rec)
			out.Status = store.Found
		}
		if res.NextBegin <= off {
			break
		}
		off = res.NextBegin
	}
	out.NextBegin = off
	return out
}
