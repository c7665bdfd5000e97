package client

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// This file holds how a push consumer runs its listener: the concurrent worker pool,
// the orderly per-queue loop with its queue locks, and CONSUME_MESSAGE_DIRECTLY.

// consumeTask is one batch of one queue for a concurrent worker.
type consumeTask struct {
	pq   *processQueue
	msgs []*MessageExt
}

// worker runs listener calls for concurrent consumption until shutdown.
func (p *PushConsumer) worker() {
	defer p.workers.Done()
	for {
		select {
		case t := <-p.tasks:
			p.consumeConcurrently(t)
		case <-p.stop:
			return
		}
	}
}

// consumeConcurrently runs one batch and settles its result:
//
//   - success: the messages leave the queue's cache and the queue's commit point moves
//     (unless the queue was taken away meanwhile);
//   - failure, broadcasting: logged and dropped, as RocketMQ does (there is no retry
//     topic per member);
//   - failure, clustering: each message is sent back to the broker, which redelivers it
//     through the retry topic. A message whose send-back fails (an error or any code
//     but SUCCESS) stays in the cache, holding the offset, and is given to the listener
//     again after the retry delay.
func (p *PushConsumer) consumeConcurrently(t consumeTask) {
	pq := t.pq
	pq.beginConsume()
	defer pq.endConsume()
	if pq.stopped() {
		// Taken away or shutting down: whoever reads the queue next gets these.
		return
	}
	commit := func(off int64) { p.core.advance(pq, off, true) }
	res, err := p.callListener(pq, t.msgs)
	if p.cctx.Err() != nil {
		// Shutdown stopped waiting and cancelled the listener: whatever it answered
		// after that is not a result, and the queue may not be frozen yet. Settle
		// nothing; whoever reads the queue next gets these messages again.
		return
	}
	if res == ConsumeSuccess {
		pq.remove(t.msgs, commit)
		return
	}
	p.consumeFailed(t.msgs, err)
	if p.o.model == Broadcasting {
		p.core.log.Warn().Err(err).Str("queue", pq.mq.String()).Int64("offset", t.msgs[0].QueueOffset).
			Int("messages", len(t.msgs)).Msg("broadcast consumption failed; messages dropped")
		pq.remove(t.msgs, commit)
		return
	}
	var done, failed []*MessageExt
	for _, m := range t.msgs {
		ctx, cancel := p.sendBackCtx()
		serr := p.core.sendBack(ctx, pq.mq, m, 0, p.core.maxRecon)
		cancel()
		if serr != nil {
			p.sendBackFailed(m, serr)
			failed = append(failed, m)
			continue
		}
		done = append(done, m)
	}
	if len(done) > 0 {
		pq.remove(done, commit)
	}
	if len(failed) > 0 {
		p.retryLocally(pq, failed)
	}
}

// retryLocally gives msgs to the listener again after the retry delay, unless the
// queue stops first (they are then redelivered to the queue's next reader, as their
// offsets were never committed).
func (p *PushConsumer) retryLocally(pq *processQueue, msgs []*MessageExt) {
	for _, m := range msgs {
		m.ReconsumeTimes++
	}
	p.workers.Add(1)
	go func() {
		defer p.workers.Done()
		if !sleepCtx(pq.ctx, p.o.retryDelay) {
			return
		}
		select {
		case p.tasks <- consumeTask{pq: pq, msgs: msgs}:
		case <-pq.ctx.Done():
		}
	}()
}

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

// consumeDirectlyResult is ConsumeMessageDirectlyResult.java, the answer to
// CONSUME_MESSAGE_DIRECTLY (309). ConsumeResult is a CMResult name, as fastjson writes
// Java enums.
type consumeDirectlyResult struct {
	Order          bool   `json:"order"`
	AutoCommit     bool   `json:"autoCommit"`
	ConsumeResult  string `json:"consumeResult"`
	Remark         string `json:"remark"`
	SpentTimeMills int64  `json:"spentTimeMills"`
}

// CMResult names (CMResult.java).
const (
	cmSuccess        = "CR_SUCCESS"
	cmLater          = "CR_LATER"
	cmThrowException = "CR_THROW_EXCEPTION"
)

// handleConsumeDirectly serves CONSUME_MESSAGE_DIRECTLY (309): an admin tool asks this
// member to run its listener on one stored message (mqadmin consumeMessage) and reports
// the outcome. The message is not part of any queue's progress: nothing is committed
// or sent back. A request for another client id, or with a body that holds no message
// (which panics the official client), is answered SYSTEM_ERROR.
func (p *PushConsumer) handleConsumeDirectly(_ string, req *codec.Command) *codec.Command {
	var h header.ConsumeMessageDirectlyRequest
	if err := h.Decode(req.ExtFields); err != nil || h.ConsumerGroup != p.core.group {
		return nil
	}
	if h.ClientID != "" && h.ClientID != p.core.inst.clientID {
		return req.NewResponse(code.SystemError, "Can't find specified client instance "+h.ClientID)
	}
	msgs, err := DecodeMessages(req.Body)
	if err != nil || len(msgs) == 0 {
		remark := "no message in the request body"
		if err != nil {
			remark = err.Error()
		}
		return req.NewResponse(code.SystemError, remark)
	}
	for _, m := range msgs {
		mq := MessageQueue{Topic: m.Topic, BrokerName: h.BrokerName, QueueID: m.Queue.QueueID}
		p.core.prepare(mq, m, nil)
		if m.Property(message.PropMinOffset) != "" || m.Property(message.PropMaxOffset) != "" {
			m.materialize() // a record stored with them (a consumed message sent on): not the queue's
			delete(m.Message.Properties, message.PropMinOffset)
			delete(m.Message.Properties, message.PropMaxOffset)
		}
	}
	start := time.Now()
	res, lerr := p.callListener(nil, msgs)
	out := consumeDirectlyResult{Order: p.o.orderly, AutoCommit: true, ConsumeResult: cmSuccess,
		SpentTimeMills: time.Since(start).Milliseconds()}
	switch {
	case lerr != nil:
		out.ConsumeResult, out.Remark = cmThrowException, lerr.Error()
	case res != ConsumeSuccess:
		out.ConsumeResult = cmLater
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body, _ = json.Marshal(out) // plain fields always marshal
	return resp
}
