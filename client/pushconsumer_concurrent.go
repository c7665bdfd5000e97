package client

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
