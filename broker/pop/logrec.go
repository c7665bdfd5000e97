package pop

import (
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// Tags of the revive log records, Apache's CK_TAG, ACK_TAG and two of rocketgo's.
var tagOf = map[byte]string{kindCK: "ck", kindAck: "ack", kindChange: "chg", kindDLQ: "dlq", kindReset: "reset"}

// encodeLogRecord wraps a POP record in a v1 message of the revive topic, queue 0.
func (s *Service) encodeLogRecord(r *record) ([]byte, error) {
	now := s.nowMS()
	m := &message.Ext{
		Topic:          s.reviveTopic,
		BornTimestamp:  now,
		BornHost:       s.o.StoreHost(),
		StoreHost:      s.o.StoreHost(),
		StoreTimestamp: now,
		Body:           r.encode(nil),
	}
	return message.EncodeRecordProps(nil, m, message.PropTags+"\x01"+tagOf[r.kind])
}

// Projection returns the store projection that rebuilds the state at startup: it
// applies every POP record past the snapshot's offset. Once Start was called the
// records are in the state already and it only keeps count.
func (s *Service) Projection() store.Projection { return (*projection)(s) }

type projection Service

func (p *projection) Name() string { return "pop" }

func (p *projection) Applied() int64 {
	s := (*Service)(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapAt
}

func (p *projection) Apply(rec []byte, physicalOffset int64) error {
	s := (*Service)(p)
	// No lock on the live path: the dispatcher must never wait for a POP call, which
	// may itself wait in the store's append.
	s.fed.Store(physicalOffset + int64(len(rec)))
	if s.live.Load() || message.RecordTopic(rec) != s.reviveTopic {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live.Load() {
		return nil
	}
	r, err := decodeRecord(message.RecordBody(rec))
	if err != nil {
		// Skipped rather than stopping the projection: one bad record must not freeze
		// every group's POP state.
		s.log.Error().Err(err).Int64("offset", physicalOffset).Msg("unreadable POP record skipped")
		return nil
	}
	s.st.apply(r)
	return nil
}

func (p *projection) Truncate(physicalOffset int64) error {
	s := (*Service)(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if physicalOffset < s.snapAt {
		// The snapshot is only written once the log is flushed past its offset, so
		// this means the log lost flushed data; the state cannot be trusted.
		s.log.Error().Int64("cut", physicalOffset).Int64("snapshot", s.snapAt).
			Msg("log cut below the POP snapshot; POP state restarts from the consume offsets")
		s.st = newState()
		s.snapAt = physicalOffset
	}
	return nil
}
