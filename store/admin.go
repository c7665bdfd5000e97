package store

import (
	"errors"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/store/consumequeue"
)

// This file holds the store's answers to the broker's maintenance requests
// (QUERY_CONSUME_QUEUE, CLEAN_EXPIRED_CONSUMEQUEUE, CLEAN_UNUSED_TOPIC; docs/mqadmin.md).

// QueueUnits is a window of one ConsumeQueue as QUERY_CONSUME_QUEUE reports it.
type QueueUnits struct {
	Min, Max int64               // the queue's logical offsets: oldest still stored, next to write
	Units    []consumequeue.Unit // the units from the asked index on, at most the asked count
}

// ConsumeQueueUnits returns up to count units of (topic, queueID) from logical offset
// index on, with the queue's min and max. ok is false when the store has no such queue.
// Units below Min are not returned; an index at or past Max yields none.
func (s *Store) ConsumeQueueUnits(topic string, queueID int32, index int64, count int) (QueueUnits, bool) {
	q := s.queue(topic, queueID)
	if q == nil {
		return QueueUnits{}, false
	}
	out := QueueUnits{Min: q.Min(), Max: q.Max()}
	// Units below Min are gone; start at Min so a far-off index costs nothing.
	for off := max(index, out.Min, 0); off < out.Max && len(out.Units) < count; off++ {
		u, ok := q.Unit(off)
		if !ok {
			break
		}
		out.Units = append(out.Units, u)
	}
	return out, true
}

// Topics returns every topic that has at least one ConsumeQueue, sorted.
func (s *Store) Topics() []string {
	s.queues.RLock()
	defer s.queues.RUnlock()
	out := make([]string, 0, len(s.queues.m))
	for t := range s.queues.m {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// CleanExpiredConsumeQueues deletes, now rather than at the next retention pass, every
// ConsumeQueue file whose units all point below the CommitLog's smallest offset, and
// returns how many files went. A queue keeps its logical offsets (its min moves up to
// its max): unlike Apache, which destroys such a queue and restarts it at offset 0, the
// committed offsets of its groups stay meaningful.
func (s *Store) CleanExpiredConsumeQueues() int {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return 0
	}
	n := 0
	minPhys := s.MinPhysicalOffset()
	for _, q := range s.allQueues() {
		n += q.DeleteBefore(minPhys, time.Now())
	}
	return n
}

// CleanUnusedTopics deletes the ConsumeQueues (and key index entries) of every topic
// that keep does not accept, as DeleteTopic does, and returns the topics deleted, sorted.
func (s *Store) CleanUnusedTopics(keep func(topic string) bool) ([]string, error) {
	var deleted []string
	var errs []error
	for _, t := range s.Topics() {
		if keep(t) {
			continue
		}
		if err := s.DeleteTopic(t); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, t)
	}
	return deleted, errors.Join(errs...)
}
