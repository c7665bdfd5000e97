package controller

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// liveInfo is what the leader last heard from a broker. It is not replicated: a new
// leader starts everyone afresh (liveTable.reset).
type liveInfo struct {
	last      time.Time
	timeout   time.Duration
	epoch     int32
	maxOffset int64
}

// liveTable holds the brokers' heartbeats, by group and brokerId.
type liveTable struct {
	mu sync.Mutex
	m  map[string]map[int64]liveInfo
}

func (t *liveTable) init() { t.m = map[string]map[int64]liveInfo{} }

// beat records a heartbeat.
func (t *liveTable) beat(name string, id int64, li liveInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.m[name]
	if g == nil {
		g = map[int64]liveInfo{}
		t.m[name] = g
	}
	g[id] = li
}

// get returns a broker's last heartbeat and whether it is alive at now.
func (t *liveTable) get(name string, id int64, now time.Time) (liveInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	li, ok := t.m[name][id]
	return li, ok && now.Sub(li.last) <= li.timeout
}

// reset restarts every member's deadline at now; a member never heard from gets
// timeout. A controller that just became leader calls it: the brokers sent their
// heartbeats to the old leader, and none of them may look dead for that.
func (t *liveTable) reset(groups []*group, timeout time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for _, g := range groups {
		lg := t.m[g.Name]
		if lg == nil {
			lg = map[int64]liveInfo{}
			t.m[g.Name] = lg
		}
		for _, m := range g.Members {
			li, ok := lg[m.ID]
			if !ok {
				li.timeout = timeout
			}
			li.last = now
			lg[m.ID] = li
		}
	}
}

// scanLoop, on the leader, elects a new master for every group whose master stopped
// sending heartbeats, and for every group left without one.
func (c *Controller) scanLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.o.ScanNotActiveBrokerInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if !c.isLeader() || !c.ready.Load() {
			continue
		}
		now := time.Now()
		for _, g := range c.fsm.groups() {
			if g.MasterID != 0 {
				if _, alive := c.live.get(g.Name, g.MasterID, now); alive {
					continue
				}
			}
			id, err := c.choose(g, 0, now)
			if err != nil || (id == 0 && g.MasterID == 0) {
				continue // nobody to elect, and nobody to fence
			}
			r := c.propose(command{Op: opElect, Group: g.Name, ID: id, Epoch: g.MasterEpoch})
			if r.err != nil {
				c.log.Warn().Err(r.err).Str("group", g.Name).Msg("election failed")
				continue
			}
			c.log.Warn().Str("group", g.Name).Int64("old_master", g.MasterID).Int64("new_master", id).
				Int32("epoch", r.g.MasterEpoch).Msg("master elected")
			c.notifyGroup(r.g)
		}
	}
}

// choose applies the election rule (docs/failover.md §2): among the live members of the
// SyncStateSet other than a dead master, the one with the highest epoch, then the
// longest CommitLog, then the lowest brokerId; with enableElectUncleanMaster any live
// member when no SyncStateSet member lives. designated (non-zero) must itself qualify.
// It returns 0 when nobody qualifies.
func (c *Controller) choose(g *group, designated int64, now time.Time) (int64, error) {
	type cand struct {
		id int64
		li liveInfo
	}
	pick := func(inSet bool) []cand {
		var out []cand
		for _, m := range g.Members {
			if inSet && !slices.Contains(g.SyncSet, m.ID) {
				continue
			}
			if li, alive := c.live.get(g.Name, m.ID, now); alive {
				out = append(out, cand{m.ID, li})
			}
		}
		return out
	}
	cands := pick(true)
	if len(cands) == 0 && c.o.EnableElectUncleanMaster {
		cands = pick(false)
	}
	if designated != 0 {
		for _, k := range cands {
			if k.id == designated {
				return designated, nil
			}
		}
		return 0, fmt.Errorf("broker %d of %s is not alive or not in the SyncStateSet %v", designated, g.Name, g.SyncSet)
	}
	best := int64(0)
	var bl liveInfo
	for _, k := range cands {
		if best == 0 || k.li.epoch > bl.epoch || (k.li.epoch == bl.epoch && k.li.maxOffset > bl.maxOffset) {
			best, bl = k.id, k.li
		}
	}
	return best, nil
}

// notifyGroup tells a group's members that its master changed
// (NOTIFY_BROKER_ROLE_CHANGED, oneway); a broker also learns it from its next
// heartbeat, so a lost notice only costs time.
func (c *Controller) notifyGroup(g *group) {
	if !c.o.NotifyBrokerRoleChanged {
		return
	}
	for _, m := range g.Members {
		req := codec.NewRequest(code.NotifyBrokerRoleChanged, map[string]string{
			"masterAddress":     g.addr(g.MasterID),
			"masterBrokerId":    fmt.Sprint(g.MasterID),
			"masterEpoch":       fmt.Sprint(g.MasterEpoch),
			"syncStateSetEpoch": fmt.Sprint(g.SyncEpoch),
		}, nil)
		go func(addr string) { _ = c.notify.InvokeOneway(addr, req) }(m.Addr)
	}
}
