package failover

import (
	"testing"
	"time"
)

// TestKillMasterRepeatedly kills the master with SIGKILL N times under SYNC load.
func TestKillMasterRepeatedly(t *testing.T) {
	c := StartCluster(t)
	st := c.WaitSyncStateSet(3, 30*time.Second)
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
