package client

import (
	"context"
	"errors"
	"slices"

	"github.com/rocketgo/rocketgo/proto/code"
)

// This file holds the life of one assigned queue (see consumerCore): adding it,
// replacing it (a seek or a reset), dropping it, and the goroutine that runs it from
// lock and start offset to its final commit.

// addQueue starts reading mq, from startAt when >= 0 (a seek) or else from its stored
// offset. A previous processQueue of mq still draining is waited for by the new one's
// goroutine, so two never run for one queue.
func (c *consumerCore) addQueue(mq MessageQueue, startAt int64) *processQueue {
	c.queues.Lock()
	if old := c.queues.m[mq]; old != nil {
		c.queues.Unlock()
		return old
	}
	pq := newProcessQueue(c.ctx, mq)
	pq.startAt = startAt
	c.queues.m[mq] = pq
	prev := c.queues.draining[mq]
	c.queues.Unlock()
	c.qwg.Add(1)
	go c.runQueue(pq, prev)
	return pq
}

// replaceQueue restarts mq at offset (a seek): the current processQueue is dropped
// without a final commit, and a new one reads from offset once the old one finished.
// It returns false when mq is not assigned.
func (c *consumerCore) replaceQueue(mq MessageQueue, offset int64) bool {
	c.queues.Lock()
	old := c.queues.m[mq]
	if old == nil {
		c.queues.Unlock()
		return false
	}
	pq := newProcessQueue(c.ctx, mq)
	pq.startAt = offset
	c.queues.m[mq] = pq
	c.queues.draining[mq] = old
	c.queues.Unlock()
	old.skipCommit.Store(true)
	old.drop()
	c.qwg.Add(1)
	go c.runQueue(pq, old)
	return true
}

// dropQueue takes pq out of the table and stops it. A concurrent consumer abandons the
// queue's in-flight messages at once (their results no longer move the offset; the new
// owner gets them again); an orderly one lets its batch in flight finish first.
func (c *consumerCore) dropQueue(pq *processQueue) {
	c.queues.Lock()
	if c.queues.m[pq.mq] == pq {
		delete(c.queues.m, pq.mq)
	}
	c.queues.draining[pq.mq] = pq
	c.queues.Unlock()
	if c.orderly {
		pq.stop()
	} else {
		pq.drop()
	}
}

// runQueue is the life of one assigned queue: wait for its predecessor, lock, find the
// start offset, pull until stopped, then finish.
func (c *consumerCore) runQueue(pq *processQueue, prev *processQueue) {
	defer c.qwg.Done()
	defer c.finishQueue(pq)
	if prev != nil {
		// Even when pq is stopped before it starts, it finishes only after prev: a
		// later processQueue of the queue waits for pq alone, so pq must stand for
		// the whole chain.
		<-prev.done
		if pq.stopped() {
			return
		}
	}
	if c.lockedQueues() && !c.waitLock(pq) {
		return
	}
	offset, ok := c.startOffset(pq)
	if !ok {
		return
	}
	wait := func() {}
	if c.startConsume != nil {
		wait = c.startConsume(pq)
	}
	c.pullLoop(pq, offset)
	wait()
}

// waitLock wins the broker lock of pq's queue, retrying until it is won or the queue
// stopped. The previous owner releases it after its final commit, so the offset read
// next is the one it left.
func (c *consumerCore) waitLock(pq *processQueue) bool {
	for {
		ctx, cancel := context.WithTimeout(pq.ctx, c.o.client.callTimeout)
		got, err := c.lockQueues(ctx, pq.mq.BrokerName, []MessageQueue{pq.mq})
		cancel()
		if err == nil && slices.Contains(got, pq.mq) {
			pq.setLocked(true, c.now())
			return true
		}
		if err != nil && pq.ctx.Err() == nil {
			c.log.Debug().Err(err).Str("queue", pq.mq.String()).Msg("lock queue")
		}
		if !sleepCtx(pq.ctx, c.o.rebalanceRetry) {
			return false
		}
	}
}

// startOffset finds where pq starts: its seek offset, its committed offset, or the
// consume-from-where rule. It retries failures (a broker restarting, say) with the pull
// back-off until it succeeds or the queue is stopped, instead of leaving the queue
// unassigned until the next rebalance.
func (c *consumerCore) startOffset(pq *processQueue) (int64, bool) {
	for {
		off, fresh, err := c.computeStart(pq)
		if err == nil {
			c.log.Debug().Str("queue", pq.mq.String()).Int64("offset", off).Bool("stored", !fresh).Msg("queue started")
			if fresh {
				// Record where we start, so it is committed even if nothing is
				// consumed: a restart must not apply consume-from-where again and
				// skip what arrived meanwhile.
				pq.commit(func() { c.store.update(pq.mq, off, false) })
			}
			return off, true
		}
		if pq.ctx.Err() != nil {
			return 0, false
		}
		c.log.Warn().Err(err).Str("queue", pq.mq.String()).Msg("start offset")
		c.pullFailed(pq.mq, err)
		if !sleepCtx(pq.ctx, c.o.pullBackoff) {
			return 0, false
		}
	}
}

// computeStart applies the start rules of docs/protocol.md §2.5. fresh means the offset did
// not come from the store.
func (c *consumerCore) computeStart(pq *processQueue) (offset int64, fresh bool, err error) {
	ctx, cancel := context.WithTimeout(pq.ctx, c.o.client.callTimeout)
	defer cancel()
	mq := pq.mq
	if pq.startAt >= 0 {
		return pq.startAt, true, nil
	}
	off, err := c.store.read(ctx, mq, true)
	if err == nil {
		return off, false, nil
	}
	if !errors.Is(err, errNoOffset) {
		return 0, false, err
	}
	retry := isRetryTopic(mq.Topic)
	switch c.o.from {
	case ConsumeFromFirstOffset:
		return 0, true, nil
	case ConsumeFromTimestamp:
		if retry {
			off, err = c.queueOffset(ctx, mq, code.GetMaxOffset, 0)
		} else {
			off, err = c.queueOffset(ctx, mq, code.SearchOffsetByTimestamp, c.o.timestamp.UnixMilli())
		}
	default:
		if retry {
			return 0, true, nil
		}
		off, err = c.queueOffset(ctx, mq, code.GetMaxOffset, 0)
	}
	return off, true, err
}

// finishQueue ends a queue: freezes it, commits its final offset (unless a seek
// replaces it), releases its broker lock, forgets its offset, and closes done.
func (c *consumerCore) finishQueue(pq *processQueue) {
	pq.stop()
	pq.freeze()
	mq := pq.mq
	ctx, cancel := context.WithTimeout(context.Background(), c.o.client.callTimeout)
	defer cancel()
	if !pq.skipCommit.Load() {
		if c.beforeCommit != nil {
			c.beforeCommit([]MessageQueue{mq})
		}
		if err := c.store.persist(ctx, []MessageQueue{mq}); err != nil {
			c.log.Warn().Err(err).Str("queue", mq.String()).Msg("final commit")
		}
	}
	if c.lockedQueues() && pq.isLocked() {
		if err := c.unlockQueues(ctx, mq.BrokerName, []MessageQueue{mq}); err != nil {
			c.log.Warn().Err(err).Str("queue", mq.String()).Msg("unlock")
		}
	}
	c.queues.Lock()
	if c.queues.draining[mq] == pq {
		delete(c.queues.draining, mq)
	}
	if c.queues.m[mq] == pq {
		delete(c.queues.m, mq)
	}
	c.queues.Unlock()
	c.store.remove(mq)
	pq.finish()
}
