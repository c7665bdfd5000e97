package failover

import (
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/tests/ha"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// TestKillMasterRepeatedly kills the master with SIGKILL N times under SYNC load.
func TestKillMasterRepeatedly(t *testing.T) {
	c := StartCluster(t)
	st := c.WaitSyncStateSet(3, 60*time.Second)
	createTopic(t, c, st.Master)
	load := c.StartLoad(4)
	load.WaitAcked(t, 200, 30*time.Second)

	rounds := 3
	if soak() {
		rounds = 20
	}
	var took []time.Duration
	for i := 0; i < rounds; i++ {
		old := c.Broker(st.Master)
		old.Kill()
		killed := time.Now()
		var d time.Duration
		st, d = c.NewMaster(old.Addr, killed, 2*electionBound)
		if d > electionBound {
			t.Errorf("round %d: the new master %s was elected %v after the kill, over %v", i, st.Master, d, electionBound)
		}
		took = append(took, d)
		t.Logf("round %d: killed %s; %s elected (epoch %d) after %v", i, old.Addr, st.Master, st.Epoch, d.Round(time.Millisecond))
		load.WaitAcked(t, 50, 30*time.Second)
		old.Restart(t)
		st = c.WaitSyncStateSet(3, 60*time.Second)
		load.WaitAcked(t, 50, 30*time.Second)
	}
	acked := load.Stop()
	p50, maxD := durations(took)
	t.Logf("failover over %d SIGKILLs: p50 %v, max %v; %d acknowledged of %d sent", rounds, p50.Round(time.Millisecond), maxD.Round(time.Millisecond), len(acked), load.sent)
	stored := ReadAll(t, st.Master)
	CheckNoLoss(t, acked, stored)
	c.AssertLogsIdentical(st.Master, 60*time.Second)
}

// TestIdleMasterKeepsSyncStateSet leaves the group without a message for three times
// haMaxTimeSlaveNotCatchup: slaves that have the whole log stay in the SyncStateSet, so
// that an idle group still has a slave to elect when its master dies.
func TestIdleMasterKeepsSyncStateSet(t *testing.T) {
	c := StartCluster(t)
	st := c.WaitSyncStateSet(3, 60*time.Second)
	idle := time.Now().Add(3 * haMaxTimeSlaveNotCatchup)
	for time.Now().Before(idle) { // the idle time is the scenario; the set is polled through it
		now, ok := c.State()
		if ok && len(now.InSync) < 3 {
			t.Fatalf("idle for %v since the SyncStateSet %v formed, it shrank to %v (epoch %d)",
				3*haMaxTimeSlaveNotCatchup-time.Until(idle), st.InSync, now.InSync, now.SyncEp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Still one group whose master takes SYNC writes with its two slaves.
	createTopic(t, c, st.Master)
	load := c.StartLoad(1)
	load.WaitAcked(t, 20, 30*time.Second)
	acked := load.Stop()
	CheckNoLoss(t, acked, ReadAll(t, st.Master))
}

// TestStoppedMasterIsFenced pauses the master with SIGSTOP under load: a new master is
// elected; once resumed, the old master acknowledges nothing the new master lacks and
// rejoins as a slave whose CommitLog is byte-identical to the new master's.
func TestStoppedMasterIsFenced(t *testing.T) {
	c := StartCluster(t)
	st := c.WaitSyncStateSet(3, 60*time.Second)
	createTopic(t, c, st.Master)
	load := c.StartLoad(4)
	load.WaitAcked(t, 200, 30*time.Second)

	pause := 5 * time.Second
	if soak() {
		pause = 30 * time.Second
	}
	old := c.Broker(st.Master)
	old.Signal(syscall.SIGSTOP)
	stopped := time.Now()
	st, d := c.NewMaster(old.Addr, stopped, 2*electionBound)
	if d > electionBound {
		t.Errorf("the new master %s was elected %v after SIGSTOP, over %v", st.Master, d, electionBound)
	}
	t.Logf("%s stopped; %s elected (epoch %d) after %v", old.Addr, st.Master, st.Epoch, d.Round(time.Millisecond))
	load.WaitAcked(t, 50, 30*time.Second)
	time.Sleep(time.Until(stopped.Add(pause))) // the pause is the scenario, not a synchronisation
	old.Signal(syscall.SIGCONT)
	st = c.WaitSyncStateSet(3, 60*time.Second)
	load.WaitAcked(t, 50, 30*time.Second)
	acked := load.Stop()

	stored := ReadAll(t, st.Master)
	CheckNoLoss(t, acked, stored)
	c.AssertLogsIdentical(st.Master, 60*time.Second)
	// The old master's own view: nothing it acknowledged after the pause is missing
	// (checked above against the new master), and it now follows the new master.
	if got := ha.InfoInt(old.Addr, "haSlaveCount"); got > 0 {
		t.Errorf("the old master %s still serves %d slaves", old.Addr, got)
	}
}

// TestControllerFailures kills the controller leader before an election and then during
// one (a new master is elected both times), then two of the three controllers (no
// election, nothing acknowledged lost).
func TestControllerFailures(t *testing.T) {
	c := StartCluster(t)
	st := c.WaitSyncStateSet(3, 60*time.Second)
	createTopic(t, c, st.Master)
	load := c.StartLoad(4)
	load.WaitAcked(t, 200, 30*time.Second)

	leader := c.Leader()
	leader.Kill()
	t.Logf("controller leader %s killed", leader.ID)
	old := c.Broker(st.Master)
	old.Kill()
	killed := time.Now()
	st, d := c.NewMaster(old.Addr, killed, 2*electionBound)
	if d > electionBound {
		t.Errorf("with the controller leader gone, the new master %s was elected %v after the kill, over %v", st.Master, d, electionBound)
	}
	t.Logf("master %s killed; %s elected by the remaining controllers after %v", old.Addr, st.Master, d.Round(time.Millisecond))
	old.Restart(t)
	leader.Restart(func(*proctest.Proc) bool { return dialable(leader.Addr) })
	st = c.WaitSyncStateSet(3, 60*time.Second)
	load.WaitAcked(t, 50, 30*time.Second)

	// The controller leader killed during an election: the master dies, and the
	// leader right after, while the election it owes is pending; the last two
	// controllers still elect a master.
	during := c.Leader()
	old = c.Broker(st.Master)
	old.Kill()
	killed = time.Now()
	during.Kill()
	t.Logf("master %s and then controller leader %s killed", old.Addr, during.ID)
	st, d = c.NewMaster(old.Addr, killed, 2*electionBound)
	if d > electionBound {
		t.Errorf("with the controller leader killed during the election, the new master %s was elected %v after the kill, over %v", st.Master, d, electionBound)
	}
	t.Logf("%s elected after %v", st.Master, d.Round(time.Millisecond))
	old.Restart(t)
	during.Restart(func(*proctest.Proc) bool { return dialable(during.Addr) })
	st = c.WaitSyncStateSet(3, 60*time.Second)
	load.WaitAcked(t, 50, 30*time.Second)

	// Two of three controllers down: no majority, no election.
	second := c.Leader()
	second.Kill()
	var third *Controller
	for _, k := range c.Ctrls {
		if k != second && third == nil {
			third = k
		}
	}
	third.Kill()
	t.Logf("controllers %s (the leader) and %s killed: one controller of three left", second.ID, third.ID)
	master := c.Broker(st.Master)
	master.Kill()
	// The remaining controller cannot answer as leader, so no master is elected; the
	// slaves keep their logs.
	deadline := time.Now().Add(3 * heartbeatTimeout)
	for time.Now().Before(deadline) {
		if s, ok := c.State(); ok {
			t.Fatalf("a controller answered as leader without a majority: %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	acked := load.Stop()
	master.Restart(t)
	second.Restart(func(*proctest.Proc) bool { return dialable(second.Addr) })
	third.Restart(func(*proctest.Proc) bool { return dialable(third.Addr) })
	st = c.WaitSyncStateSet(3, 60*time.Second)
	stored := ReadAll(t, st.Master)
	CheckNoLoss(t, acked, stored)
	c.AssertLogsIdentical(st.Master, 60*time.Second)
}
