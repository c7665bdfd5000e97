package store

import (
	"bytes"
	"errors"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// indexer is the goroutine that builds the key index. It follows the CommitLog on its
// own, a step behind the dispatcher (which wakes it after each round), so that pebble's
// cost — a memtable insert per key and compactions behind it, several times the cost of
// a ConsumeQueue unit — never delays a ConsumeQueue append or a long-poll wake-up.
// Under a sustained load beyond what pebble absorbs the index lags and catches up
// later; QueryByKey sees a record once it is indexed.
type indexer struct {
	tailer
	from    int64 // records below are already indexed (set by recovery)
	lastErr string
}

func (s *Store) indexLoop() {
	defer s.wg.Done()
	var retry <-chan time.Time
	for {
		select {
		case <-s.stop:
			return
		case <-s.ix.kick:
		case <-retry:
		}
		retry = nil
		if err := s.indexAvailable(); err != nil {
			if msg := err.Error(); msg != s.ix.lastErr {
				s.ix.lastErr = msg
				s.log.Error().Err(err).Int64("offset", s.ix.pos.Load()).Msg("indexing failed; retrying")
			}
			retry = time.After(dispatchRetry)
			continue
		}
		s.ix.lastErr = ""
	}
}

// indexAvailable indexes every record below the log's written offset.
func (s *Store) indexAvailable() error {
	pos := s.ix.pos.Load()
	if min := s.cl.Min(); pos < min {
		pos = min
		s.ix.pos.Store(pos)
	}
	err := s.indexRange(pos, s.cl.Written())
	s.ix.complete(s.ix.pos.Load())
	return err
}

// indexRange indexes the records of [pos, end). ix.pos advances at each commit, so it
// always names what a query can see.
func (s *Store) indexRange(pos, end int64) error {
	for pos < end {
		rec, next, err := s.cl.At(pos)
		if err != nil {
			return errors.Join(err, s.commitIndex(pos))
		}
		if rec != nil && pos >= s.ix.from {
			if err := s.indexRecord(rec, pos); err != nil {
				return errors.Join(err, s.commitIndex(pos))
			}
		}
		pos = next
		if s.idx.Full() {
			if err := s.commitIndex(pos); err != nil {
				return err
			}
			select {
			case <-s.stop:
				return nil // closing: resume from the committed offset next time
			default:
			}
		}
	}
	return s.commitIndex(pos)
}

// commitIndex commits the pending entries and moves the indexer's position to pos.
func (s *Store) commitIndex(pos int64) error {
	if pos < s.ix.from {
		return nil
	}
	if err := s.idx.Commit(pos); err != nil {
		return err
	}
	s.ix.pos.Store(pos)
	return nil
}

// indexRecord adds the record's KEYS tokens and UNIQ_KEY. Rolled back transaction
// records are not indexed, as in RocketMQ.
func (s *Store) indexRecord(rec []byte, pos int64) error {
	if message.TxType(message.RecordSysFlag(rec)) == message.TxRollbackType {
		return nil
	}
	_, keys, uniq := scanProps(message.RecordProperties(rec))
	topic := message.RecordTopicBytes(rec)
	storeTS := message.RecordStoreTimestamp(rec)
	seg := pos - pos%s.o.CommitLogSegmentBytes
	for len(keys) > 0 {
		var k []byte
		k, keys, _ = bytes.Cut(keys, keySeparator)
		if err := s.idx.Add(seg, topic, k, pos, storeTS); err != nil {
			return err
		}
	}
	return s.idx.Add(seg, topic, uniq, pos, storeTS)
}

// recordHasKey reports whether rec carries key in its KEYS tokens or as its UNIQ_KEY.
func recordHasKey(rec []byte, key string) bool {
	_, keys, uniq := scanProps(message.RecordProperties(rec))
	if string(uniq) == key {
		return true
	}
	for len(keys) > 0 {
		var k []byte
		k, keys, _ = bytes.Cut(keys, keySeparator)
		if string(k) == key {
			return true
		}
	}
	return false
}
