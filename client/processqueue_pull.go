package client

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// quickAnswer is how fast an answer that did not move the offset must come for the
// next pull to wait: a broker that holds pulls (long polling) never answers
// PULL_NOT_FOUND that fast, one that does not would otherwise be polled in a hot loop.
const quickAnswer = 100 * time.Millisecond

// pullLoop pulls pq's queue from offset until pq is stopped: one pull in flight at a
// time, long-polled, paused while the queue's cache is over its limits. Every answer
// is handled as docs/protocol.md §2.4 says; anything unexpected backs off and pulls the same
// offset again, so no message is ever skipped.
func (c *consumerCore) pullLoop(pq *processQueue, offset int64) {
	for pq.ctx.Err() == nil {
		if !c.waitForSpace(pq) {
			return
		}
		sub := c.subscription(pq.mq.Topic)
		if sub == nil {
			// Assign mode with a topic that has no subscription, or a topic being
			// unsubscribed: read everything.
			sub = &subscription{topic: pq.mq.Topic, expr: "*"}
		}
		started := time.Now()
		next, wait, err := c.pullOnce(pq, sub, offset)
		if pq.ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn().Err(err).Str("queue", pq.mq.String()).Int64("offset", offset).Msg("pull")
			c.pullFailed(pq.mq, err)
			if !sleepCtx(pq.ctx, c.o.pullBackoff) {
				return
			}
			continue
		}
		if next == offset && wait && time.Since(started) < quickAnswer {
			if !sleepCtx(pq.ctx, quickAnswer) {
				return
			}
		}
		offset = next
	}
}

// waitForSpace blocks while pq caches more than the limits allow (count, bytes, and for
// concurrent consumers the offset span). It returns false when pq is stopped.
func (c *consumerCore) waitForSpace(pq *processQueue) bool {
	for {
		n, b := pq.cached()
		over := n > c.o.cacheCount || b > c.o.cacheBytes
		if !over && !c.orderly && n > 0 && c.o.maxSpan > 0 {
			over = pq.span() > c.o.maxSpan
		}
		if !over {
			return true
		}
		select {
		case <-pq.space:
		case <-pq.ctx.Done():
			return false
		}
	}
}

// pullOnce sends one PULL_MESSAGE and handles its answer. It returns the next offset to
// pull, whether the answer was "nothing there yet" (so a too-fast answer is paced), or
// an error after which the same offset is pulled again after the back-off.
func (c *consumerCore) pullOnce(pq *processQueue, sub *subscription, offset int64) (int64, bool, error) {
	mq := pq.mq
	addr, brokerID, ok := c.inst.brokerAddr(mq.BrokerName, pq.brokerID.Load(), false)
	if !ok {
		ctx, cancel := context.WithTimeout(pq.ctx, c.o.client.routeTimeout)
		_, err := c.inst.route(ctx, mq.Topic)
		cancel()
		if addr, brokerID, ok = c.inst.brokerAddr(mq.BrokerName, pq.brokerID.Load(), false); !ok {
			return offset, false, fmt.Errorf("pull %s: %w (route: %v)", mq, ErrBrokerNotFound, err)
		}
	}
	h := header.PullMessageRequest{
		ConsumerGroup:        c.group,
		Topic:                mq.Topic,
		QueueID:              mq.QueueID,
		QueueOffset:          offset,
		MaxMsgNums:           c.o.pullBatchSize,
		SysFlag:              header.PullSuspend | header.PullSubscription,
		SuspendTimeoutMillis: c.o.longPoll.Milliseconds(),
		Subscription:         sub.expr,
		SubVersion:           sub.version,
		ExpressionType:       sub.expressionType(),
	}
	if c.o.model == Clustering && brokerID == 0 {
		// Piggyback the consumed offset on the pull; only a master stores it.
		if committed, err := c.store.read(pq.ctx, mq, false); err == nil && committed > 0 {
			h.SysFlag |= header.PullCommitOffset
			h.CommitOffset = committed
		}
	}
	req := pq.pull.req.command(&h) // pull_header.go
	if c.tryDeliver != nil {
		return c.pullEarly(addr, req, pq, sub, offset)
	}
	ctx, cancel := context.WithTimeout(pq.ctx, c.o.pullTimeout)
	defer cancel()
	resp, err := c.inst.invoke(ctx, addr, req)
	if err != nil {
		return offset, false, fmt.Errorf("pull %s at %d: %w", mq, offset, err)
	}
	next, wait, _, err := c.answer(pq, sub, offset, resp, nil, false)
	return next, wait, err
}

// answer handles a pull's answer (see pullOnce). Its header is resp's extFields, or
// what ans collected of them when ans is not nil (pull_header.go). early says it runs
// on the connection's reader goroutine (pullEarly): the messages found and newly
// cached are then returned as fresh for the caller to deliver instead of being
// delivered.
func (c *consumerCore) answer(pq *processQueue, sub *subscription, offset int64, resp *codec.Command, ans *pullAnswer, early bool) (next int64, wait bool, fresh []*MessageExt, err error) {
	mq := pq.mq
	pq.touchPull(c.now())
	switch resp.Code {
	case code.Success, code.PullNotFound, code.PullRetryImmediately, code.PullOffsetMoved:
	default:
		return offset, false, nil, fmt.Errorf("pull %s at %d: %w", mq, offset, brokerErr(resp.Code, resp.Remark))
	}
	var rh header.PullMessageResponse
	if ans != nil {
		rh, err = ans.header()
	} else {
		err = rh.Decode(resp.ExtFields)
	}
	if err != nil {
		return offset, false, nil, fmt.Errorf("pull %s at %d: %w: %w", mq, offset, ErrBadResponse, err)
	}
	if rh.NextBeginOffset < 0 {
		return offset, false, nil, fmt.Errorf("pull %s at %d: %w: nextBeginOffset %d", mq, offset, ErrBadResponse, rh.NextBeginOffset)
	}
	pq.brokerID.Store(max(rh.SuggestWhichBrokerID, 0))
	commit := func(off int64) { c.advance(pq, off, true) }
	switch resp.Code {
	case code.Success:
		return c.found(pq, sub, offset, resp.Body, &rh, early)
	case code.PullOffsetMoved:
		c.log.Warn().Str("queue", mq.String()).Int64("offset", offset).Int64("next", rh.NextBeginOffset).Msg("pull offset moved")
		if fn := c.o.events.OffsetIllegal; fn != nil {
			umq := mq
			umq.Topic = c.unwrap(mq.Topic)
			fn(umq, offset, rh.NextBeginOffset)
		}
		// The broker's answer is the truth, even backwards (a queue that was reset):
		// forget what is cached and commit the new start.
		pq.reset(rh.NextBeginOffset, func(off int64) { c.advance(pq, off, false) })
		// A broker that "moves" the offset to where it already is gets paced.
		return rh.NextBeginOffset, rh.NextBeginOffset == offset, nil, nil
	default: // PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY
		pq.skipTo(rh.NextBeginOffset, commit)
		return rh.NextBeginOffset, true, nil, nil
	}
}

// found handles a FOUND answer: decodes the records, keeps the ones of the queue's
// range that pass the tag re-check, restores retry messages' topics, caches them and
// delivers them. When the body is damaged, the records before the damage are used and
// the next pull starts right after the last good one; nothing is skipped.
func (c *consumerCore) found(pq *processQueue, sub *subscription, offset int64, b []byte, rh *header.PullMessageResponse, early bool) (int64, bool, []*MessageExt, error) {
	msgs, derr := DecodeMessages(b)
	next := rh.NextBeginOffset
	if derr != nil {
		if len(msgs) == 0 {
			return offset, false, nil, fmt.Errorf("pull %s at %d: %w", pq.mq, offset, derr)
		}
		c.log.Warn().Err(derr).Str("queue", pq.mq.String()).Int("good", len(msgs)).Msg("pull body damaged")
		next = msgs[len(msgs)-1].QueueOffset + 1
	}
	added := queueOffsets(rh.MinOffset, rh.MaxOffset)
	kept := msgs[:0]
	last := int64(-1)
	for _, m := range msgs {
		if m.QueueOffset < offset || m.QueueOffset <= last {
			// Not of the range asked for, or out of order: a broker bug; the cache
			// keys on offsets, so such a record must not get in.
			continue
		}
		last = m.QueueOffset
		if sub.tags != nil && !sub.matches(m.Tags()) { // "*" reads no tag
			continue
		}
		c.prepare(pq.mq, m, added)
		kept = append(kept, m)
	}
	if last >= next {
		// nextBeginOffset must lie past what was returned; trust the records.
		next = last + 1
	}
	var fresh []*MessageExt
	if added := pq.put(kept); len(added) > 0 {
		if early {
			fresh = added // the caller delivers them (pullEarly)
		} else {
			c.deliver(pq, added)
		}
	}
	pq.skipTo(next, func(off int64) { c.advance(pq, off, true) })
	// An answer with no record at all is paced like "nothing there": a broker that
	// keeps answering that way must not be polled in a hot loop.
	return next, len(msgs) == 0, fresh, nil
}

// queueOffsets are the MIN_OFFSET and MAX_OFFSET properties of a pull answer's
// messages, as the official client adds them: one value shared by the answer's messages.
func queueOffsets(minOff, maxOff int64) *addedProps {
	return &addedProps{
		{message.PropMinOffset, strconv.FormatInt(minOff, 10)},
		{message.PropMaxOffset, strconv.FormatInt(maxOff, 10)},
	}
}

// prepare turns a pulled record into what the user sees: the queue it came from, the
// original topic of a retry message, names without the namespace, and added (when not
// nil; the queue's offsets of queueOffsets) among its properties.
func (c *consumerCore) prepare(mq MessageQueue, m *MessageExt, added *addedProps) {
	topic := mq.Topic
	if isRetryTopic(topic) {
		if rt := m.Property(message.PropRetryTopic); rt != "" {
			topic = rt
		}
	}
	m.Topic = c.unwrap(topic)
	m.Queue = mq
	m.Queue.Topic = c.unwrap(mq.Topic)
	if added == nil {
		return
	}
	if m.Message.Properties != nil {
		for _, kv := range added {
			m.Message.Properties[kv[0]] = kv[1]
		}
		return
	}
	m.stored.added = added
}
