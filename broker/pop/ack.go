package pop

import (
	"context"
	"fmt"
	"time"

	"github.com/rocketgo/rocketgo/broker/retry"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// current returns the in-flight entry h names; s.mu is held.
func (s *Service) current(group, topic string, h Handle) (qkey, *queueState, *entry, error) {
	k := qkey{group, topic, h.QueueID}
	q := s.st.queues[k]
	if q == nil {
		return k, nil, nil, fmt.Errorf("%w: group %s never received from %s queue %d", ErrStaleHandle, group, topic, h.QueueID)
	}
	e := q.inflight[h.Offset]
	if e == nil {
		return k, q, nil, fmt.Errorf("%w: %s queue %d offset %d is not in flight for group %s", ErrStaleHandle, topic, h.QueueID, h.Offset, group)
	}
	if e.popTime != h.PopTime {
		return k, q, nil, fmt.Errorf("%w: %s queue %d offset %d was delivered again at %d (handle of %d)", ErrStaleHandle, topic, h.QueueID, h.Offset, e.popTime, h.PopTime)
	}
	return k, q, e, nil
}

// Ack acknowledges the delivery h names: the message is done for the group and the
// group's consume offset moves past it once everything before it is done too. An
// acknowledgement after the invisible time passed still counts as long as the message
// was not delivered again. A handle that is no longer current gets ErrStaleHandle and
// changes nothing.
func (s *Service) Ack(ctx context.Context, group, topic string, h Handle) error {
	end, err := s.ack(group, topic, h)
	if err != nil {
		return err
	}
	return s.durable(ctx, end)
}

func (s *Service) ack(group, topic string, h Handle) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed() {
		return 0, ErrClosed
	}
	k, q, e, err := s.current(group, topic, h)
	if err != nil {
		return 0, err
	}
	end, err := s.put(&record{kind: kindAck, group: group, topic: topic, queueID: h.QueueID, offset: h.Offset, oldPop: e.popTime})
	if err != nil {
		return 0, err
	}
	s.commit(k, q)
	if e.fifo && !q.blocked(s.nowMS()) {
		s.waits.wake(topic) // the FIFO queue is free for the next batch
	}
	return end, nil
}

// ChangeInvisible makes the delivery h names invisible for d from now and returns the
// handle of the changed delivery; the old handle is stale from then on. A normal
// delivery gets a new popTime (now) and invisibleTime d; a FIFO one keeps its popTime
// and gets invisibleTime now+d-popTime, as ChangeInvisibleTimeProcessor does for
// orderly pops.
func (s *Service) ChangeInvisible(ctx context.Context, group, topic string, h Handle, d time.Duration) (Handle, error) {
	if d < 0 || d > MaxInvisibleTime {
		return Handle{}, fmt.Errorf("%w: invisibleTime %v, want 0..%v", ErrBadRequest, d, MaxInvisibleTime)
	}
	nh, end, err := s.change(group, topic, h, d)
	if err != nil {
		return Handle{}, err
	}
	return nh, s.durable(ctx, end)
}

func (s *Service) change(group, topic string, h Handle, d time.Duration) (Handle, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed() {
		return Handle{}, 0, ErrClosed
	}
	_, _, e, err := s.current(group, topic, h)
	if err != nil {
		return Handle{}, 0, err
	}
	now := s.nowMS()
	// A normal delivery gets a new popTime, later than the old one even within one
	// millisecond so every handle is single-use, and invisibleTime d. A FIFO one keeps
	// its popTime and is visible at now + d.
	newPop := max(now, e.popTime+1)
	visible := newPop + d.Milliseconds()
	if e.fifo {
		newPop, visible = e.popTime, max(now+d.Milliseconds(), e.popTime)
	}
	end, err := s.put(&record{kind: kindChange, group: group, topic: topic, queueID: h.QueueID, offset: h.Offset,
		oldPop: e.popTime, newPop: newPop, newInv: visible - newPop})
	if err != nil {
		return Handle{}, 0, err
	}
	if visible <= now {
		defer s.waits.wake(topic) // visible again at once
	}
	nh := h
	nh.CkOffset, nh.PopTime, nh.InvisibleTime, nh.Retry = h.Offset, newPop, visible-newPop, RetryNormal
	if e.fifo {
		nh.ReviveQid = ReviveQidFIFO
	} else {
		nh.ReviveQid = 0
	}
	return nh, end, nil
}

// Revive moves every expired delivery that used all its attempts to its group's DLQ
// and wakes the receives waiting on topics with messages visible again. The broker
// runs it every ReviveInterval; tests call it after moving their clock.
func (s *Service) Revive() {
	s.mu.Lock()
	now := s.nowMS()
	woken := map[string]bool{}
	var end int64
	for k, q := range s.st.queues {
		exp := q.expired(now)
		if len(exp) == 0 {
			continue
		}
		maxAttempts := s.o.MaxAttempts(k.group)
		for _, off := range exp {
			e := q.inflight[off]
			if e.attempts < maxAttempts {
				woken[k.topic] = true
				continue
			}
			if err := s.deadLetter(k, off, e); err != nil {
				s.log.Warn().Err(err).Str("group", k.group).Str("topic", k.topic).Int32("queue_id", k.queueID).
					Int64("offset", off).Msg("dead-letter of an expired POP message failed; retried at the next revive")
				continue
			}
			end = max(end, s.o.Store.MaxPhysicalOffset())
			woken[k.topic] = true
		}
		s.commit(k, q)
	}
	s.mu.Unlock()
	for t := range woken {
		s.waits.wake(t)
	}
	_ = s.durable(context.Background(), end)
}

// deadLetter stores a copy of the message at off in the group's DLQ, then records the
// delivery as ended. A crash between the two stores the copy twice, never none.
// s.mu is held.
func (s *Service) deadLetter(k qkey, off int64, e *entry) error {
	g := s.o.Store.GetMessages(k.topic, k.queueID, off, 1, 0, nil)
	if g.Status == store.Found && len(g.Records) > 0 && message.RecordQueueOffset(g.Records[0]) == off {
		if err := s.putDLQCopy(k, off, g.Records[0], e.attempts); err != nil {
			return err
		}
	}
	_, err := s.put(&record{kind: kindDLQ, group: k.group, topic: k.topic, queueID: k.queueID, offset: off, oldPop: e.popTime})
	return err
}

// putDLQCopy appends rec's message to %DLQ%group the way a send-back to the DLQ does
// (RETRY_TOPIC and ORIGIN_MESSAGE_ID kept or set, reconsume times = attempts).
func (s *Service) putDLQCopy(k qkey, off int64, rec []byte, attempts int32) error {
	if s.o.DLQ == nil {
		return fmt.Errorf("%w: no dead-letter queue configured", ErrBadRequest)
	}
	old, _, err := message.DecodeRecord(rec)
	if err != nil {
		return fmt.Errorf("pop: message at %s queue %d offset %d unreadable: %w", k.topic, k.queueID, off, err)
	}
	p := old.Properties
	if p[message.PropRetryTopic] == "" {
		p[message.PropRetryTopic] = old.Topic
	}
	if p[message.PropOriginMsgID] == "" {
		p[message.PropOriginMsgID] = message.OffsetMsgID(old.StoreHost, old.PhysicalOffset)
	}
	m := retry.Copy(old, s.o.StoreHost(), attempts)
	topic, queues, err := s.o.DLQ(k.group)
	if err != nil {
		return err
	}
	m.Topic, m.QueueID = topic, int32(old.QueueOffset%int64(max(queues, 1)))
	m.Properties = nil
	enc, err := message.EncodeRecordProps(nil, m, message.EncodeProperties(p))
	if err != nil {
		return err
	}
	if _, err := s.o.Store.Put(enc); err != nil {
		return fmt.Errorf("pop: append to %s: %w", topic, err)
	}
	return nil
}
