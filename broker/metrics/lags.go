package metrics

import (
	"time"

	"github.com/rocketgo/rocketgo/broker/meta"
)

// Lags computes every group's lag on every topic it committed offsets for: committed
// holds the consumer offsets, maxOffset returns a queue's end and storeTime the store
// timestamp of a queue's message (0 when unreadable).
func (m *Metrics) Lags(now time.Time, committed map[meta.OffsetID]int64, maxOffset func(topic string, queueID int32) int64, storeTime func(topic string, queueID int32, off int64) int64) []Lag {
	type gt struct{ group, topic string }
	idx := make(map[gt]int)
	var out []Lag
	age := func(topic string, q int32, off int64) time.Duration {
		if ts := storeTime(topic, q, off); ts > 0 {
			return max(now.Sub(time.UnixMilli(ts)), 0)
		}
		return 0
	}
	for id, off := range committed {
		k := gt{id.Group, id.Topic}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Lag{Group: id.Group, Topic: id.Topic})
		}
		l := &out[i]
		committed := max(off, 0)
		maxOff := max(maxOffset(id.Topic, id.QueueID), 0)
		if maxOff <= committed {
			continue
		}
		l.Messages += maxOff - committed
		l.LagLatency = max(l.LagLatency, age(id.Topic, id.QueueID, committed))
		next := committed
		if p, ok := m.LastPulled(id.Group, id.Topic, id.QueueID); ok && p > committed {
			l.Inflight += min(p, maxOff) - committed
			next = p
		}
		if next < maxOff {
			l.QueueingLatency = max(l.QueueingLatency, age(id.Topic, id.QueueID, next))
		}
	}
	return out
}
