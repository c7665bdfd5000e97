package client

import (
	"context"
	"time"
)

// Orderly consumption. Each queue has one goroutine (orderlyLoop) that takes one batch
// at a time from the front of the queue's cache, in offset order, and commits it
// before taking the next. In clustering mode it works only while this member holds the
// broker's lock on the queue, confirmed within the lock TTL, so no other member can be
// consuming the same queue: the lock is won before the queue's offset is read
// (runQueue), renewed every lock interval (lockLoop), and released only after the queue's
// last batch committed (finishQueue). A failed batch is put back at the front and the
// queue pauses for the suspend interval; after MaxReconsumeTimes the batch goes to the
// dead-letter topic (send-back with delay level -1) so the queue can move on.

// orderlyLoop consumes pq until it is stopped. A batch in flight when the queue is
// stopped finishes and commits; then the loop ends and the queue is finished.
func (p *PushConsumer) orderlyLoop(pq *processQueue) {
	for {
		select {
		case <-pq.ready:
		case <-pq.ctx.Done():
			return
		}
		for pq.ctx.Err() == nil {
			if p.core.lockedQueues() && !pq.lockValid(p.core.now(), p.o.lockTTL) {
				if !p.relock(pq) {
					if !sleepCtx(pq.ctx, p.o.suspendInterval) {
						return
					}
					continue
				}
			}
			msgs := pq.take(p.o.batchSize)
			if msgs == nil {
				break
			}
			select {
			case p.sem <- struct{}{}:
			case <-pq.ctx.Done():
				pq.returnUntouched()
				return
			}
			res, err := p.callListener(pq, msgs)
			<-p.sem
			if !p.settleOrderly(pq, msgs, res, err) {
				if !sleepCtx(pq.ctx, p.o.suspendInterval) {
					return
				}
			}
		}
	}
}

// settleOrderly settles a batch's result and reports whether the queue may go on at
// once (false: suspend it).
func (p *PushConsumer) settleOrderly(pq *processQueue, msgs []*MessageExt, res ConsumeResult, err error) bool {
	commit := func(off int64) { p.core.advance(pq, off, true) }
	if res == ConsumeSuccess {
		pq.commitTaken(commit)
		return true
	}
	p.consumeFailed(msgs, err)
	exhausted := false
	for _, m := range msgs {
		if m.ReconsumeTimes >= p.core.maxRecon {
			exhausted = true
			break
		}
	}
	if !exhausted {
		pq.returnTaken()
		return false
	}
	if p.o.model == Broadcasting {
		p.core.log.Error().Err(err).Str("queue", pq.mq.String()).Int64("offset", msgs[0].QueueOffset).
			Int("messages", len(msgs)).Msg("orderly consumption failed too often; messages dropped")
		pq.commitTaken(commit)
		return true
	}
	for _, m := range msgs {
		ctx, cancel := p.sendBackCtx()
		serr := p.core.sendBack(ctx, pq.mq, m, -1, p.core.maxRecon)
		cancel()
		if serr != nil {
			// The batch stays at the front of the queue: nothing behind it may be
			// consumed before it is either consumed or dead-lettered.
			p.sendBackFailed(m, serr)
			pq.returnTaken()
			return false
		}
	}
	p.core.log.Warn().Str("queue", pq.mq.String()).Int64("offset", msgs[0].QueueOffset).Int("messages", len(msgs)).
		Msg("orderly messages sent to the dead-letter topic")
	pq.commitTaken(commit)
	return true
}

// relock tries to renew pq's broker lock now; it reports whether the lock is held.
func (p *PushConsumer) relock(pq *processQueue) bool {
	ctx, cancel := context.WithTimeout(pq.ctx, p.o.client.callTimeout)
	defer cancel()
	got, err := p.core.lockQueues(ctx, pq.mq.BrokerName, []MessageQueue{pq.mq})
	ok := err == nil && len(got) == 1 && got[0] == pq.mq
	pq.setLocked(ok, p.core.now())
	return ok
}

// lockLoop renews the locks of every assigned queue, per broker, every lock interval.
func (p *PushConsumer) lockLoop(ctx context.Context) {
	t := time.NewTicker(p.o.lockInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.lockAll(ctx)
		}
	}
}

// lockAll sends one LOCK_BATCH_MQ per broker for the assigned queues and records which
// are held. A broker that cannot be reached leaves its queues' locks to expire.
func (p *PushConsumer) lockAll(ctx context.Context) {
	byBroker := make(map[string][]*processQueue)
	for _, pq := range p.core.assigned() {
		byBroker[pq.mq.BrokerName] = append(byBroker[pq.mq.BrokerName], pq)
	}
	for broker, pqs := range byBroker {
		mqs := make([]MessageQueue, len(pqs))
		for i, pq := range pqs {
			mqs[i] = pq.mq
		}
		cctx, cancel := context.WithTimeout(ctx, p.o.client.callTimeout)
		got, err := p.core.lockQueues(cctx, broker, mqs)
		cancel()
		if err != nil {
			p.core.log.Warn().Err(err).Str("broker", broker).Msg("renew queue locks")
			continue
		}
		held := make(map[MessageQueue]bool, len(got))
		for _, mq := range got {
			held[mq] = true
		}
		now := p.core.now()
		for _, pq := range pqs {
			pq.setLocked(held[pq.mq], now)
		}
	}
}
