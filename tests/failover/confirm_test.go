package failover

import (
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/ha"
)

// TestUnacknowledgedRecordIsNotServed: a record the master wrote but the SyncStateSet
// does not hold yet is served to no consumer (store/confirm.go). Had a consumer read
// it, and the master died before its slaves got it, the consumer's offset would run
// ahead of the new master's queue, and the message the new master then stores at that
// offset would never reach it. Once the slaves have it, it is served.
func TestUnacknowledgedRecordIsNotServed(t *testing.T) {
	c := StartCluster(t)
	st := c.WaitSyncStateSet(3, 60*time.Second)
	createTopic(t, c, st.Master)
	for _, b := range c.Brokers {
		if b.Addr != st.Master {
			b.Signal(syscall.SIGSTOP)
			t.Cleanup(func() { b.Signal(syscall.SIGCONT) })
		}
	}
	const queue = 1
	logEnd := ha.InfoInt(st.Master, "commitLogMaxOffset")
	answer := make(chan ha.SendResult, 1)
	go func() { answer <- ha.SendOne(st.Master, topic, queue, []byte("unconfirmed")) }()
	testutil.Eventually(t, 10*time.Second, "the master to write the record", func() bool {
		return ha.InfoInt(st.Master, "commitLogMaxOffset") > logEnd
	})
	// Unbounded, the record would be in its ConsumeQueue within microseconds of the
	// write; for as long as the stopped slaves are in the SyncStateSet it must not be.
	// (The master drops them haMaxTimeSlaveNotCatchup after they stopped, 2 s here; the
	// record is served from then on, and rightly: the set is the master alone.)
	for until := time.Now().Add(time.Second); time.Now().Before(until); time.Sleep(20 * time.Millisecond) {
		if got := ha.MaxOffset(t, st.Master, topic, queue); got != 0 {
			if now, ok := c.State(); ok && len(now.InSync) < 3 {
				t.Logf("the SyncStateSet shrank to %v during the observation; the record is served from then on", now.InSync)
				break
			}
			t.Fatalf("queue %d has %d message(s) while no slave of the SyncStateSet has the record", queue, got)
		}
	}

	for _, b := range c.Brokers {
		if b.Addr != st.Master {
			b.Signal(syscall.SIGCONT)
		}
	}
	testutil.Eventually(t, 30*time.Second, "the record to be served once the slaves have it", func() bool {
		return ha.MaxOffset(t, st.Master, topic, queue) == 1
	})
	recs := ha.Pull(t, st.Master, "confirm-check", topic, queue, 0, 1)
	if len(recs) != 1 || string(recs[0].Body) != "unconfirmed" || recs[0].QueueOffset != 0 {
		t.Fatalf("pulled %+v, want the one record at offset 0", recs)
	}
	r := <-answer
	t.Logf("the send was answered with code %d (%s) after %v", r.Code, r.Remark, r.Latency.Round(time.Millisecond))
}
