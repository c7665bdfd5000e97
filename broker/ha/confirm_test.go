package ha

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/store"
)

// queued counts the master's ConsumeQueue units over putN's topics and queues.
func queued(st *store.Store) int64 {
	var n int64
	for _, topic := range []string{"T0", "T1"} {
		for q := int32(0); q < 3; q++ {
			n += st.MaxOffset(topic, q)
		}
	}
	return n
}

// TestConfirmOffsetFollowsSyncStateSet: under allAckInSyncStateSet the master's store
// dispatches only what every slave of the SyncStateSet acknowledged, so a record a
// slave has not yet got is in no ConsumeQueue; once the slave acknowledges it, it is.
// With the set down to the master alone there is no bound.
func TestConfirmOffsetFollowsSyncStateSet(t *testing.T) {
	dir := t.TempDir()
	master := openStore(t, filepath.Join(dir, "m"))
	slave := openStore(t, filepath.Join(dir, "s"))
	putN(t, master, 0, 20)
	srv := startServer(t, master, ServerOptions{AllAck: true, MinInSyncReplicas: 1, Confirm: master.SetConfirmOffset})
	gate := &gateSink{Sink: slave}
	t.Cleanup(gate.release) // before the client's Close, which waits for its append
	startClient(t, gate, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	srv.SetSyncStateSet([]int64{1})
	testutil.Eventually(t, 5*time.Second, "the confirm offset to reach the acknowledged log", func() bool {
		return master.ConfirmOffset() == master.MaxPhysicalOffset()
	})
	end := master.MaxPhysicalOffset()

	gate.hold()
	putN(t, master, 20, 5)
	// Grown is released by a dispatcher round that saw the five records.
	select {
	case <-master.Grown(master.MaxPhysicalOffset() - 1):
	case <-time.After(5 * time.Second):
		t.Fatal("no dispatcher round saw the five new records within 5s")
	}
	if got, c := queued(master), master.ConfirmOffset(); got != 20 || c != end {
		t.Fatalf("five records the slave has not acknowledged: %d queued, confirm offset %d; want 20, %d", got, c, end)
	}

	gate.release()
	testutil.Eventually(t, 5*time.Second, "the five records to be queued once the slave has them", func() bool {
		return queued(master) == 25 && master.ConfirmOffset() == master.MaxPhysicalOffset()
	})

	srv.SetSyncStateSet(nil)
	if c := master.ConfirmOffset(); c != store.ConfirmAll {
		t.Fatalf("a SyncStateSet of the master alone: confirm offset %d, want no bound", c)
	}
}
