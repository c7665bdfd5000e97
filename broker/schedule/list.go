package schedule

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// Pending is one scheduled message not delivered yet.
type Pending struct {
	// Level is the delay level of a DELAY message; 0 for a timer message.
	Level int
	// DueMS is when it is due (ms since the epoch).
	DueMS int64
	// Record is the stored scheduled record (in TopicSchedule or TopicTimer, with
	// REAL_TOPIC and REAL_QID), a copy the caller owns.
	Record []byte
}

// List returns up to limit pending scheduled messages whose real topic is topic (every
// topic when ""): timer messages first, by due time, then delay-level messages, level
// by level in queue order. more reports that some were left out. Records that can no
// longer be read are skipped. It runs on the loop goroutine, after what the store's
// dispatch has handed the scheduler so far was taken in.
func (s *Scheduler) List(ctx context.Context, topic string, limit int) (ps []Pending, more bool, err error) {
	type result struct {
		ps   []Pending
		more bool
	}
	res := make(chan result, 1)
	fn := func() {
		s.drain()
		ps, more := s.list(topic, limit)
		res <- result{ps, more}
	}
	select {
	case s.reqs <- fn:
	case <-s.stop:
		return nil, false, ErrClosed
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	select {
	case r := <-res:
		return r.ps, r.more, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// maxListScan bounds the index entries and queue records one List looks at, so a
// filter that matches little cannot make it walk a huge backlog.
const maxListScan = 100_000

func (s *Scheduler) list(topic string, limit int) ([]Pending, bool) {
	var out []Pending
	scanned := 0
	keep := func(rec []byte) bool {
		if topic == "" {
			return true
		}
		rt, _ := message.PropertyOf(message.RecordProperties(rec), message.PropRealTopic)
		return rt == topic
	}
	it, err := s.batch.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTimer}, UpperBound: timerRangeEnd})
	if err != nil {
		s.log.Error().Err(err).Msg("index read failed")
		return nil, false
	}
	for it.First(); it.Valid(); it.Next() {
		if scanned++; scanned > maxListScan {
			it.Close()
			return out, true
		}
		ms, phys, ok := parseTimerKey(it.Key())
		if !ok {
			continue
		}
		rec, err := s.o.Store.ReadRecord(phys)
		if err != nil || checkTimerRecord(rec, ms) != nil || !keep(rec) {
			continue
		}
		if len(out) == limit {
			it.Close()
			return out, true
		}
		out = append(out, Pending{DueMS: ms, Record: append([]byte(nil), rec...)})
	}
	if err := it.Close(); err != nil {
		s.log.Error().Err(err).Msg("index read failed")
	}
	for level := 1; level <= len(s.o.Levels); level++ {
		qid, delay := int32(level-1), s.o.Levels.Delay(level)
		for off := s.cursor[level-1]; ; {
			res := s.o.Store.GetMessages(TopicSchedule, qid, off, levelBatch, 0, nil)
			if res.Status != store.Found || len(res.Records) == 0 {
				break
			}
			for _, rec := range res.Records {
				if scanned++; scanned > maxListScan {
					return out, true
				}
				if !keep(rec) {
					continue
				}
				if len(out) == limit {
					return out, true
				}
				out = append(out, Pending{Level: level, DueMS: levelDue(message.RecordStoreTimestamp(rec), delay),
					Record: append([]byte(nil), rec...)})
			}
			if res.NextBegin <= off {
				break
			}
			off = res.NextBegin
		}
	}
	return out, false
}
