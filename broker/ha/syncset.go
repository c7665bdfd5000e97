package ha

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// ErrInSyncReplicasNotEnough: with allAckInSyncStateSet, the SyncStateSet has fewer
// members than minInSyncReplicas; the master refuses SYNC writes rather than promise a
// durability it cannot give.
var ErrInSyncReplicasNotEnough = errors.New("ha: in-sync replicas not enough")

// syncState is the master's view of its SyncStateSet (controller mode,
// docs/failover.md §2): the slaves every SYNC write must reach, what each slave last
// acknowledged (kept across its reconnections), and when each last caught up.
type syncState struct {
	mu     sync.Mutex
	known  bool    // SetSyncStateSet was called: the confirm offset can be computed
	set    []int64 // the slaves of the SyncStateSet (the master excluded)
	acks   map[int64]int64
	caught map[int64]time.Time
}

// SetSyncStateSet sets the slaves of the SyncStateSet (the master's own id left out).
// Waits the new set already satisfies complete; with fewer members than
// MinInSyncReplicas the waits still pending fail.
func (s *Server) SetSyncStateSet(slaves []int64) {
	s.sync.mu.Lock()
	s.sync.set = slices.Clone(slaves)
	s.sync.known = true
	s.sync.mu.Unlock()
	if !s.o.AllAck {
		return
	}
	all := s.confirmAcked()
	if len(slaves)+1 < s.o.MinInSyncReplicas {
		run(s.waits.failPending(s.notEnough(len(slaves) + 1)))
		return
	}
	run(s.waits.advance(all))
}

func (s *Server) notEnough(n int) error {
	return fmt.Errorf("%w: the SyncStateSet has %d member(s), minInSyncReplicas is %d", ErrInSyncReplicasNotEnough, n, s.o.MinInSyncReplicas)
}

// allAcked is the offset every slave of the SyncStateSet acknowledged; the log's end
// when the set has no slave.
func (s *Server) allAcked() int64 {
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	all, _ := s.allAckedLocked()
	return all
}

// confirmAcked is allAcked, and passes the confirm offset it implies (no bound while
// the set has no slave) on when it moved: to ServerOptions.Confirm, under the lock, so
// that two acknowledgements read at once cannot pass theirs in the wrong order, and to
// the slaves (CONFIRM frames), whose senders it wakes.
func (s *Server) confirmAcked() int64 {
	all, moved := s.updateConfirm()
	if moved {
		s.wakeSenders()
	}
	return all
}

// updateConfirm computes allAcked and the confirm offset, and records the offset
// (s.confirmed, ServerOptions.Confirm) if it moved. Nothing is released before the
// SyncStateSet is known.
func (s *Server) updateConfirm() (all int64, moved bool) {
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	all, alone := s.allAckedLocked()
	if !s.sync.known {
		return all, false
	}
	c := all
	if alone {
		c = math.MaxInt64
	}
	if s.confirmed.Swap(c) == c {
		return all, false
	}
	if s.o.Confirm != nil {
		s.o.Confirm(c)
	}
	return all, true
}

// allAckedLocked is allAcked with sync.mu held, and whether the set has no slave.
func (s *Server) allAckedLocked() (int64, bool) {
	if len(s.sync.set) == 0 {
		return s.src.MaxPhysicalOffset(), true
	}
	low := int64(-1)
	for _, id := range s.sync.set {
		a := s.sync.acks[id]
		if low < 0 || a < low {
			low = a
		}
	}
	return low, false
}

// acked records a slave's acknowledgement and completes the waits it satisfies.
func (s *Server) acked(sc *slaveConn, off int64) {
	s.sync.mu.Lock()
	if s.sync.acks == nil {
		s.sync.acks, s.sync.caught = map[int64]int64{}, map[int64]time.Time{}
	}
	s.sync.acks[sc.brokerID] = max(s.sync.acks[sc.brokerID], off)
	sc.allSent.Lock()
	if off >= sc.allSent.off && sc.allSent.at.After(s.sync.caught[sc.brokerID]) {
		s.sync.caught[sc.brokerID] = sc.allSent.at // never back before what Progress saw
	}
	sc.allSent.Unlock()
	s.sync.mu.Unlock()
	if s.o.AllAck {
		run(s.waits.advance(s.confirmAcked()))
		return
	}
	run(s.waits.advance(off))
}

// noteAllSent records that the sender has sent the log through off at now.
func (sc *slaveConn) noteAllSent(off int64, now time.Time) {
	sc.allSent.Lock()
	sc.allSent.off, sc.allSent.at = off, now
	sc.allSent.Unlock()
}

// onAllAcked is OnReplicated under AllAck.
func (s *Server) onAllAcked(end int64, fn func(error)) {
	s.sync.mu.Lock()
	n := len(s.sync.set) + 1
	s.sync.mu.Unlock()
	if n < s.o.MinInSyncReplicas {
		fn(s.notEnough(n))
		return
	}
	if end <= s.allAcked() {
		fn(nil)
		return
	}
	s.await(end, fn)
}

// SlaveProgress is what the master knows of one slave, for the SyncStateSet decisions.
type SlaveProgress struct {
	BrokerID  int64
	Acked     int64     // the highest offset it acknowledged
	CaughtUp  time.Time // when it last had the whole log (zero: never)
	Connected bool
}

// Progress reports every slave the master heard from since it started, by brokerId.
//
// A connected slave that has acknowledged the whole log has it now, and its CaughtUp is
// now: on an idle master the sender notes nothing new, and CaughtUp would otherwise age
// past haMaxTimeSlaveNotCatchup and shrink the SyncStateSet to the master alone, leaving
// no slave to elect (docs/failover.md §5). That moment is kept, so that the first record
// after an idle spell, on its way to the slave, does not make it look as far behind as
// the spell was long. What counts is what the slave's connection acknowledged, not the
// most any connection of its brokerId did: a slave may come back with less (an empty
// store under the same address, a tail lost with the machine).
func (s *Server) Progress() []SlaveProgress {
	now := s.o.Now() // before the log's end: at now, the log ended no later than end
	live := map[int64]int64{}
	for _, si := range s.Slaves() {
		if a, ok := live[si.BrokerID]; !ok || si.Acked < a {
			live[si.BrokerID] = si.Acked
		}
	}
	end := s.src.MaxPhysicalOffset()
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	out := make([]SlaveProgress, 0, len(s.sync.acks))
	for id, a := range s.sync.acks {
		la, conn := live[id]
		if conn && la >= end && now.After(s.sync.caught[id]) {
			s.sync.caught[id] = now
		}
		out = append(out, SlaveProgress{BrokerID: id, Acked: a, CaughtUp: s.sync.caught[id], Connected: conn})
	}
	slices.SortFunc(out, func(a, b SlaveProgress) int { return int(a.BrokerID - b.BrokerID) })
	return out
}
