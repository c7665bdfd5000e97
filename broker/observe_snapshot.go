package broker

import (
	"github.com/rocketgo/rocketgo/broker/metrics"
)

// metricsSnapshot reads the state the scrape-time gauges report.
func (b *Broker) metricsSnapshot() metrics.Snapshot {
	now := b.now()
	ss := b.store.Stats()
	topics, _ := b.topics.All()
	groups, _ := b.groups.All()
	s := metrics.Snapshot{
		Lags: b.obs.m.Lags(now, b.offsets.Snapshot(), b.store.MaxOffset, func(topic string, q int32, off int64) int64 {
			return storeTimeAt(b.store, topic, q, off)
		}),
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
