package schedule

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// errUndeliverable marks a scheduled record that can never be delivered: it is gone,
// malformed, or names no real topic. It is logged and dropped.
var errUndeliverable = errors.New("schedule: undeliverable")

// transient reports whether a delivery failure may pass (a full disk, shutdown, a
// failed disk the operator will replace): the message is kept and tried again.
func transient(err error) bool {
	return errors.Is(err, store.ErrDiskFull) || errors.Is(err, store.ErrClosed) ||
		errors.Is(err, store.ErrWriteFailed) || errors.Is(err, store.ErrFlushTimeout)
}

// stripOnDelivery are the properties a delivered copy loses: what asked for the delay
// (so the copy is not delayed again when it is consumed and re-sent) and WAIT.
var stripOnDelivery = []string{message.PropDelay, message.PropTimerDeliverMS, message.PropTimerDelaySec,
	message.PropTimerDelayMS, message.PropWait}

// buildCopy encodes the message a scheduled record delivers: the same body, flag,
// sysflag, born time and hosts and reconsume times, in the REAL_TOPIC / REAL_QID it was
// sent to, with PropFrom naming the scheduled record (from).
func buildCopy(rec []byte, from string) ([]byte, error) {
	m, _, err := message.DecodeRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUndeliverable, err)
	}
	topic := m.Properties[message.PropRealTopic]
	qid, err := strconv.ParseInt(m.Properties[message.PropRealQueueID], 10, 32)
	if topic == "" || len(topic) > message.MaxTopicLen || err != nil || qid < 0 {
		return nil, fmt.Errorf("%w: REAL_TOPIC %q REAL_QID %q", errUndeliverable,
			m.Properties[message.PropRealTopic], m.Properties[message.PropRealQueueID])
	}
	for _, k := range stripOnDelivery {
		delete(m.Properties, k)
	}
	m.Properties[PropFrom] = from
	m.Topic, m.QueueID = topic, int32(qid)
	m.QueueOffset, m.PhysicalOffset, m.StoreTimestamp = 0, 0, 0
	out, err := message.EncodeRecord(nil, m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUndeliverable, err)
	}
	return out, nil
}

// put appends a record; a refusal other than a transient one is undeliverable.
func (s *Scheduler) put(rec []byte) error {
	if _, err := s.o.Store.Put(rec); err != nil {
		if transient(err) {
			return err
		}
		return fmt.Errorf("%w: %v", errUndeliverable, err)
	}
	return nil
}

// runLevel delivers the due records of level, in queue order, and returns when the
// level must be looked at next: the due time of its first record not yet due, now
// when the budget ran out or a delivery must be retried, idle when it is caught up.
func (s *Scheduler) runLevel(level int, nowMS int64, budget *int) int64 {
	qid := int32(level - 1)
	delay := s.o.Levels.Delay(level)
	for *budget > 0 {
		cur := s.cursor[level-1]
		res := s.o.Store.GetMessages(TopicSchedule, qid, cur, min(levelBatch, *budget), 0, nil)
		switch res.Status {
		case store.Found:
		case store.OffsetTooSmall:
			s.log.Warn().Int("level", level).Int64("offset", cur).Int64("min", res.NextBegin).
				Msg("delay level records deleted before delivery; skipping them")
			s.cursor[level-1], s.dirty = res.NextBegin, true
			continue
		case store.OffsetOverflowBadly:
			s.cursor[level-1], s.dirty = res.NextBegin, true
			return idle
		case store.NoMatchedMessage, store.MessageWasRemoving:
			if res.NextBegin <= cur {
				return idle
			}
			s.cursor[level-1], s.dirty = res.NextBegin, true
			continue
		default: // caught up, or no queue yet
			return idle
		}
		for _, rec := range res.Records {
			if due := levelDue(message.RecordStoreTimestamp(rec), delay); due > nowMS {
				return due
			}
			if *budget == 0 {
				return nowMS
			}
			qoff := message.RecordQueueOffset(rec)
			err := s.deliverLevel(rec, level, qoff)
			if err != nil && transient(err) {
				s.log.Warn().Err(err).Int("level", level).Int64("offset", qoff).Msg("delivery refused; retrying")
				return nowMS + s.o.RetryDelay.Milliseconds()
			}
			*budget--
			s.cursor[level-1], s.dirty = qoff+1, true
		}
		s.cursor[level-1] = max(s.cursor[level-1], res.NextBegin)
	}
	return nowMS
}

// levelDue is when a delay-level message stored at storeMS is due. Store timestamps
// are whole milliseconds, cut down: the message was stored up to 1 ms after its stamp,
// so it is due 1 ms after stamp + delay, and never arrives before its delay has passed.
func levelDue(storeMS int64, delay time.Duration) int64 {
	return storeMS + delay.Milliseconds() + 1
}

// deliverLevel appends the copy of one due delay-level record.
func (s *Scheduler) deliverLevel(rec []byte, level int, qoff int64) error {
	cp, err := buildCopy(rec, LevelFrom(level, qoff))
	if err == nil {
		err = s.put(cp)
	}
	switch {
	case err == nil:
		s.levelDelivered.Add(1)
	case !transient(err):
		s.dropped.Add(1)
		s.log.Error().Err(err).Int("level", level).Int64("offset", qoff).Msg("delay message dropped")
	}
	return err
}

// loadTimers brings the timers due within the window from the index into memory: it
// moves loaded forward, at most up to MaxInMemory timers held.
func (s *Scheduler) loadTimers(nowMS int64) {
	upper := maxTimerKey(nowMS + s.o.Window.Milliseconds())
	if s.loaded != nil && lessEq(upper, s.loaded) || nowMS < s.nextLoad && s.loaded != nil {
		return
	}
	lower := []byte{prefixTimer}
	if s.loaded != nil {
		lower = keyAfter(s.loaded)
	}
	it, err := s.batch.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: keyAfter(upper)})
	if err != nil {
		s.log.Error().Err(err).Msg("index read failed")
		return
	}
	full := false
	var last []byte
	for it.First(); it.Valid(); it.Next() {
		if s.timers.Len() >= s.o.MaxInMemory {
			full = true
			break
		}
		if ms, phys, ok := parseTimerKey(it.Key()); ok {
			s.timers.add(ms, phys)
		}
		last = append(last[:0], it.Key()...)
	}
	if err := it.Close(); err != nil {
		s.log.Error().Err(err).Msg("index read failed")
		return
	}
	if full {
		if last != nil {
			s.loaded = last
		}
		// Look again soon: delivering frees room.
		s.nextLoad = nowMS + 100
		return
	}
	s.loaded = upper
	s.nextLoad = nowMS + s.o.Window.Milliseconds()/2
}

// runTimers delivers the timers in memory that are due.
func (s *Scheduler) runTimers(nowMS int64, budget *int) {
	for *budget > 0 {
		e := s.timers.peek()
		if e == nil || e.notBefore > nowMS {
			return
		}
		s.timers.remove(e.phys)
		*budget--
		err := s.deliverTimer(e.ms, e.phys)
		switch {
		case err == nil:
			s.timerDelivered.Add(1)
			s.deleteKey(timerKey(e.ms, e.phys))
		case transient(err):
			s.log.Warn().Err(err).Int64("offset", e.phys).Msg("timer delivery refused; retrying")
			s.timers.addAt(e.ms, e.phys, nowMS+s.o.RetryDelay.Milliseconds())
		default:
			s.dropped.Add(1)
			s.log.Error().Err(err).Int64("offset", e.phys).Int64("deliver_ms", e.ms).Msg("timer message dropped")
			s.deleteKey(timerKey(e.ms, e.phys))
		}
	}
}

// deliverTimer appends the copy of the timer record at phys.
func (s *Scheduler) deliverTimer(ms, phys int64) error {
	rec, err := s.o.Store.ReadRecord(phys)
	if err != nil {
		if errors.Is(err, store.ErrClosed) {
			return err
		}
		return fmt.Errorf("%w: %v", errUndeliverable, err)
	}
	if err := checkTimerRecord(rec, ms); err != nil {
		return err
	}
	cp, err := buildCopy(rec, TimerFrom(ms, phys))
	if err != nil {
		return err
	}
	return s.put(cp)
}

// checkTimerRecord verifies that rec is the timer record an index entry due at ms
// points to.
func checkTimerRecord(rec []byte, ms int64) error {
	if string(message.RecordTopicBytes(rec)) != TopicTimer {
		return fmt.Errorf("%w: record is in topic %q, not %s", errUndeliverable, message.RecordTopicBytes(rec), TopicTimer)
	}
	v, _ := message.PropertyOf(message.RecordProperties(rec), message.PropTimerOutMS)
	if got, err := strconv.ParseInt(v, 10, 64); err != nil || got != ms {
		return fmt.Errorf("%w: record due at %q, index says %d", errUndeliverable, v, ms)
	}
	return nil
}

// Cancel cancels the pending timer messages of topic whose unique key (UNIQ_KEY) is
// uniqKey and returns how many it cancelled: 0 when none is pending (never sent, not
// yet indexed, already delivered or cancelled). A cancel record is appended to the log
// for each, so the cancellation survives a crash like a delivery does. Delay-level
// messages cannot be cancelled.
func (s *Scheduler) Cancel(ctx context.Context, topic, uniqKey string) (int, error) {
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	fn := func() {
		n, err := s.cancel(topic, uniqKey)
		res <- result{n, err}
	}
	select {
	case s.reqs <- fn:
	case <-s.stop:
		return 0, ErrClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-res:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// maxCancelCandidates bounds the records one Cancel examines.
const maxCancelCandidates = 64

// cancelIndexWait bounds how long a cancel waits for the key index to reach the log's
// end before it looks the unique key up.
const cancelIndexWait = time.Second

// cancel runs on the loop goroutine, so a timer is either delivered or cancelled,
// never both.
func (s *Scheduler) cancel(topic, uniqKey string) (int, error) {
	if s.o.Passive {
		return 0, ErrPassive
	}
	s.drain()
	// The key index trails the log by a few milliseconds: a timer message sent just
	// before its cancel must be found. Past the wait the lookup runs anyway.
	if err := s.o.Store.CatchUpIndex(cancelIndexWait); err != nil {
		s.log.Warn().Err(err).Str("uniqKey", uniqKey).Msg("cancel looks up an index that has not caught up")
	}
	offs, err := s.o.Store.QueryByKey(TopicTimer, uniqKey, 0, math.MaxInt64, maxCancelCandidates)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, off := range offs {
		rec, err := s.o.Store.ReadRecord(off)
		if err != nil {
			continue
		}
		props := message.RecordProperties(rec)
		if _, isCancel := message.PropertyOf(props, PropFrom); isCancel {
			continue
		}
		if rt, _ := message.PropertyOf(props, message.PropRealTopic); rt != topic {
			continue
		}
		v, _ := message.PropertyOf(props, message.PropTimerOutMS)
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		k := timerKey(ms, off)
		if !s.pending(k) {
			continue
		}
		c := &message.Ext{
			Topic:         TopicTimer,
			BornTimestamp: s.o.Now().UnixMilli(),
			BornHost:      message.RecordBornHost(rec),
			StoreHost:     message.RecordStoreHost(rec),
			Body:          []byte{},
			Properties: map[string]string{
				PropFrom:              TimerFrom(ms, off),
				PropTimerDelUniqKey:   uniqKey,
				message.PropRealTopic: topic,
			},
		}
		enc, err := message.EncodeRecord(nil, c)
		if err != nil {
			return n, err
		}
		if _, err := s.o.Store.Put(enc); err != nil {
			return n, err
		}
		s.deleteKey(k)
		s.timers.remove(off)
		s.cancelled.Add(1)
		n++
	}
	return n, nil
}

// pending reports whether the timer key is still in the index.
func (s *Scheduler) pending(k []byte) bool {
	_, c, err := s.batch.Get(k)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// timerEntry is a timer held in memory.
type timerEntry struct {
	ms        int64 // due time
	phys      int64 // CommitLog offset of the timer record
	notBefore int64 // ms; ms, or later after a refused delivery
	idx       int   // position in the heap
}

// timerHeap orders the timers in memory by notBefore, then offset, with an index by
// offset for removal.
type timerHeap struct {
	items []*timerEntry
	byOff map[int64]*timerEntry
}

func (h *timerHeap) init() { h.byOff = make(map[int64]*timerEntry) }

func (h *timerHeap) Len() int { return len(h.items) }
func (h *timerHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	return a.notBefore < b.notBefore || a.notBefore == b.notBefore && a.phys < b.phys
}
func (h *timerHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].idx, h.items[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.idx = len(h.items)
	h.items = append(h.items, e)
}
func (h *timerHeap) Pop() any {
	n := len(h.items) - 1
	e := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return e
}

// add holds a timer due at ms, once.
func (h *timerHeap) add(ms, phys int64) { h.addAt(ms, phys, ms) }

// addAt holds a timer due at ms that may not run before notBefore.
func (h *timerHeap) addAt(ms, phys, notBefore int64) {
	if _, ok := h.byOff[phys]; ok {
		return
	}
	e := &timerEntry{ms: ms, phys: phys, notBefore: notBefore}
	h.byOff[phys] = e
	heap.Push(h, e)
}

// remove drops the timer of offset phys, if held.
func (h *timerHeap) remove(phys int64) {
	if e, ok := h.byOff[phys]; ok {
		delete(h.byOff, phys)
		heap.Remove(h, e.idx)
	}
}

// peek returns the timer due first, nil when none is held.
func (h *timerHeap) peek() *timerEntry {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}
