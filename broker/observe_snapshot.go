package broker

import (
	"time"

	"github.com/rocketgo/rocketgo/broker/metrics"
)

// metricsSnapshot reads the state the scrape-time gauges report.
func (b *Broker) metricsSnapshot() metrics.Snapshot {
	now := b.now()
	ss := b.store.Stats()
	topics, _ := b.topics.All()
	groups, _ := b.groups.All()
	s := metrics.Snapshot{
		Lags:           b.consumerLags(now),
		StorageSize:    max(ss.MaxPhysicalOffset-ss.MinPhysicalOffset, 0),
		FlushBehind:    max(ss.MaxPhysicalOffset-ss.FlushedOffset, 0),
		DispatchBehind: max(ss.MaxPhysicalOffset-ss.DispatchedOffset, 0),
		Topics:         len(topics),
		Groups:         len(groups),
		ParkedPulls:    b.polls.Len(),
		DiskUsage:      ss.DiskUsage,
		DiskFull:       ss.DiskFull,
		Recovery:       b.store.RecoveryStats().Duration,
	}
	s.ProducerConns, s.ConsumerConns = b.clients.ConnCounts()
	if b.txn != nil && b.txn.Set() != nil {
		s.HalfMessages = b.txn.Set().Len()
	}
	if b.sched != nil {
		s.TimerBacklog = b.sched.Stats().TimersInMemory
	}
	if srv := b.repl.server; srv != nil {
		s.HasReplication = true
		for _, sl := range srv.Slaves() {
			s.ReplicationLag = max(s.ReplicationLag, ss.MaxPhysicalOffset-sl.Acked)
		}
	}
	if c := b.repl.client; c != nil {
		st := c.Status()
		s.HasReplication = true
		s.ReplicationLag = max(st.MasterMax-st.Offset, 0)
	}
	return s
}

// consumerLags computes every group's lag on every topic it committed offsets for.
func (b *Broker) consumerLags(now time.Time) []metrics.Lag {
	type gt struct{ group, topic string }
	idx := make(map[gt]int)
	var out []metrics.Lag
	age := func(topic string, q int32, off int64) time.Duration {
		if ts := storeTimeAt(b.store, topic, q, off); ts > 0 {
			return max(now.Sub(time.UnixMilli(ts)), 0)
		}
		return 0
	}
	for id, committed := range b.offsets.Snapshot() {
		k := gt{id.Group, id.Topic}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, metrics.Lag{Group: id.Group, Topic: id.Topic})
		}
		l := &out[i]
		committed = max(committed, 0)
		maxOff := max(b.store.MaxOffset(id.Topic, id.QueueID), 0)
		if maxOff <= committed {
			continue
		}
		l.Messages += maxOff - committed
		l.LagLatency = max(l.LagLatency, age(id.Topic, id.QueueID, committed))
		next := committed
		if p, ok := b.obs.m.LastPulled(id.Group, id.Topic, id.QueueID); ok && p > committed {
			l.Inflight += min(p, maxOff) - committed
			next = p
		}
		if next < maxOff {
			l.QueueingLatency = max(l.QueueingLatency, age(id.Topic, id.QueueID, next))
		}
	}
	return out
}
