package pop

import (
	"context"
	"fmt"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// Init modes of a group new to a queue (ConsumeInitMode.java).
const (
	InitMax int32 = 0 // start at the queue's last message
	InitMin int32 = 1 // start at the queue's first message
)

// ReceiveRequest asks for messages of one topic.
type ReceiveRequest struct {
	Group string
	Topic string
	// QueueID is one queue, or -1 for any of the topic's Queues queues.
	QueueID int32
	Queues  int32 // the topic's read queue count
	MaxNum  int   // 1..32
	// InvisibleTime is how long the received messages stay invisible (1s..12h).
	InvisibleTime time.Duration
	// Filter selects messages by tags hash code; nil takes every message. Messages
	// it skips are done for the group.
	Filter func(tagsCode int64) bool
	// LongPoll is how long to wait for a message when none is ready (at most 25s).
	LongPoll time.Duration
	// FIFO delivers a queue's messages in order with one batch in flight per queue.
	FIFO bool
	// InitMode is where a group new to a queue starts: InitMax or InitMin.
	InitMode int32
}

// Message is one delivered message.
type Message struct {
	// Record is the stored v1 record — a slice of the store's mapping for a first
	// delivery, a copy with RECONSUMETIMES = Attempt-1 for a later one. It is valid
	// for store.ReadGrace and must not be modified.
	Record  []byte
	QueueID int32
	Offset  int64
	Attempt int32 // delivery attempt, 1 for the first
	Handle  Handle
}

// QueueRun is what one queue contributed to a receive: the parts of the
// startOffsetInfo, msgOffsetInfo and orderCountInfo header fields.
type QueueRun struct {
	QueueID     int32
	StartOffset int64   // the handles' CkOffset
	Offsets     []int64 // ascending
	Attempts    []int32 // per offset
}

// ReceiveResult is the answer of Receive.
type ReceiveResult struct {
	PopTime       int64 // ms
	InvisibleTime int64 // ms
	ReviveQid     int32
	Messages      []Message
	Runs          []QueueRun
	RestNum       int64 // messages still waiting in the queues looked at
}

// Receive delivers up to MaxNum visible messages: first, per queue, deliveries whose
// invisible time has passed (in offset order, attempt + 1), then messages never
// delivered. Each returned message is invisible for InvisibleTime; a FIFO receive
// skips a queue that has a delivery still invisible. With nothing to deliver it
// waits up to LongPoll for an arrival, an expiry or an acknowledgement that unblocks
// a FIFO queue, or until ctx is done; it then answers with no messages.
func (s *Service) Receive(ctx context.Context, r ReceiveRequest) (*ReceiveResult, error) {
	if r.MaxNum < 1 || r.MaxNum > MaxReceiveNum {
		return nil, fmt.Errorf("%w: maxNum %d, want 1..%d", ErrBadRequest, r.MaxNum, MaxReceiveNum)
	}
	if r.Queues <= 0 || r.QueueID < -1 || r.QueueID >= r.Queues {
		return nil, fmt.Errorf("%w: queueId %d of a topic with %d read queues", ErrBadRequest, r.QueueID, r.Queues)
	}
	if r.InvisibleTime < MinInvisibleTime || r.InvisibleTime > MaxInvisibleTime {
		return nil, fmt.Errorf("%w: invisibleTime %v, want %v..%v", ErrBadRequest, r.InvisibleTime, MinInvisibleTime, MaxInvisibleTime)
	}
	deadline := time.Now().Add(min(max(r.LongPoll, 0), MaxLongPoll))
	for {
		wake := s.waits.channel(r.Topic) // before looking, so no wake-up is missed
		res, nextVisible, end, err := s.receiveOnce(&r)
		if err != nil {
			return nil, err
		}
		if len(res.Messages) > 0 {
			return res, s.durable(ctx, end)
		}
		wait := time.Until(deadline)
		if wait <= 0 || s.closed() {
			return res, nil
		}
		if nextVisible != never {
			// The clock may be a test's: wake at the expiry as it reads now.
			wait = min(wait, time.Duration(nextVisible-s.nowMS())*time.Millisecond+time.Millisecond)
		}
		if !s.waits.enter(s.o.MaxWaiters) {
			return nil, fmt.Errorf("%w: %d receives are waiting", ErrBusy, s.o.MaxWaiters)
		}
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
		case <-s.stop:
		}
		t.Stop()
		s.waits.leave()
		if ctx.Err() != nil {
			return res, nil
		}
	}
}

// receiveOnce looks at the queues once. It returns the earliest time an in-flight
// message of those queues becomes visible (never if none) and the log end after
// the records it wrote.
func (s *Service) receiveOnce(r *ReceiveRequest) (*ReceiveResult, int64, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed() {
		return nil, never, 0, ErrClosed
	}
	now := s.nowMS()
	inv := clampMS(r.InvisibleTime, MinInvisibleTime, MaxInvisibleTime)
	res := &ReceiveResult{PopTime: now, InvisibleTime: inv}
	if r.FIFO {
		res.ReviveQid = ReviveQidFIFO
	}
	queues := []int32{r.QueueID}
	if r.QueueID < 0 {
		queues = make([]int32, r.Queues)
		s.rr++
		for i := range queues {
			queues[i] = int32((uint32(i) + s.rr) % uint32(r.Queues))
		}
	}
	nextVisible, end := never, int64(0)
	for _, qid := range queues {
		k := qkey{r.Group, r.Topic, qid}
		q := s.queue(k, r.InitMode)
		left := r.MaxNum - len(res.Messages)
		if left <= 0 || (r.FIFO && q.blocked(now)) {
			res.RestNum += max(s.o.Store.MaxOffset(r.Topic, qid)-q.next, 0) + int64(len(q.expired(now)))
			nextVisible = min(nextVisible, q.nextVisible(now))
			continue
		}
		e, err := s.popQueue(k, q, r, res, now, inv, left)
		if err != nil {
			return nil, never, 0, err
		}
		end = max(end, e)
		nextVisible = min(nextVisible, q.nextVisible(now))
	}
	return res, nextVisible, end, nil
}

// popQueue delivers up to left messages of one queue and records the pop. s.mu is
// held.
func (s *Service) popQueue(k qkey, q *queueState, r *ReceiveRequest, res *ReceiveResult, now, inv int64, left int) (int64, error) {
	var msgs []Message
	var items []item
	add := func(rec []byte, off int64, attempts int32) {
		if attempts > 1 {
			rec = append([]byte(nil), rec...)
			message.SetRecordReconsumeTimes(rec, attempts-1)
		}
		msgs = append(msgs, Message{Record: rec, QueueID: k.queueID, Offset: off, Attempt: attempts})
		items = append(items, item{offset: off, attempts: attempts})
	}
	maxAttempts := s.o.MaxAttempts(k.group)
	// Redeliveries first: they are the oldest. One that has used its attempts goes
	// to the DLQ now, before anything after it is delivered (FIFO order).
	for _, off := range q.expired(now) {
		if len(msgs) >= left {
			break
		}
		e := q.inflight[off]
		if e.attempts >= maxAttempts {
			if err := s.deadLetter(k, off, e); err != nil {
				return 0, err
			}
			continue
		}
		g := s.o.Store.GetMessages(k.topic, k.queueID, off, 1, 0, nil)
		if g.Status != store.Found || len(g.Records) == 0 || message.RecordQueueOffset(g.Records[0]) != off {
			// Gone with retention: nothing to deliver, and never will be.
			if _, err := s.put(&record{kind: kindDLQ, group: k.group, topic: k.topic, queueID: k.queueID, offset: off, oldPop: e.popTime}); err != nil {
				return 0, err
			}
			continue
		}
		add(g.Records[0], off, e.attempts+1)
	}
	next := q.next
	if minOff := s.o.Store.MinOffset(k.topic, k.queueID); next < minOff {
		next = minOff // retention removed what the group never got
	}
	if left -= len(msgs); left > 0 {
		g := s.o.Store.GetMessages(k.topic, k.queueID, next, left, s.o.MaxTransferBytes, r.Filter)
		switch g.Status {
		case store.Found:
			for _, rec := range g.Records {
				add(rec, message.RecordQueueOffset(rec), 1)
			}
			next = g.NextBegin
		case store.NoMatchedMessage, store.MessageWasRemoving:
			next = g.NextBegin
		case store.OffsetOverflowBadly:
			next = g.MaxOffset
		}
	}
	res.RestNum += max(s.o.Store.MaxOffset(k.topic, k.queueID)-next, 0)
	if len(items) == 0 && next == q.next {
		return 0, nil
	}
	sortMessages(msgs)
	for i := range items {
		items[i] = item{offset: msgs[i].Offset, attempts: msgs[i].Attempt}
	}
	end, err := s.put(&record{kind: kindCK, group: k.group, topic: k.topic, queueID: k.queueID,
		popTime: now, invisibleTime: inv, fifo: r.FIFO, next: next, items: items})
	if err != nil {
		return 0, err
	}
	s.commit(k, q)
	if len(msgs) == 0 {
		return end, nil
	}
	run := QueueRun{QueueID: k.queueID, StartOffset: msgs[0].Offset}
	for i := range msgs {
		msgs[i].Handle = Handle{CkOffset: run.StartOffset, PopTime: now, InvisibleTime: inv, ReviveQid: res.ReviveQid,
			Retry: RetryNormal, BrokerName: s.o.BrokerName, QueueID: k.queueID, Offset: msgs[i].Offset}
		run.Offsets = append(run.Offsets, msgs[i].Offset)
		run.Attempts = append(run.Attempts, msgs[i].Attempt)
	}
	res.Messages = append(res.Messages, msgs...)
	res.Runs = append(res.Runs, run)
	return end, nil
}

// sortMessages orders one queue's messages by offset: the client pairs them with
// msgOffsetInfo in that order.
func sortMessages(m []Message) {
	for i := 1; i < len(m); i++ {
		for j := i; j > 0 && m[j].Offset < m[j-1].Offset; j-- {
			m[j], m[j-1] = m[j-1], m[j]
		}
	}
}
