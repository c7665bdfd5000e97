package ha

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// TestIdleSlaveStaysCaughtUp: a connected slave that has the master's whole log is
// caught up now, however long the master has been idle, so that an idle master keeps
// its SyncStateSet; a slave that disconnected and missed what came since is not.
func TestIdleSlaveStaysCaughtUp(t *testing.T) {
	dir := t.TempDir()
	master, slave := openStore(t, filepath.Join(dir, "m")), openStore(t, filepath.Join(dir, "s"))
	putN(t, master, 0, 20)
	clock := testutil.NewClock()
	srv := startServer(t, master, ServerOptions{Now: clock.Now})
	cl := startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	testutil.Eventually(t, 5*time.Second, "the master to hear the slave's acknowledgement of the whole log", func() bool {
		p := srv.Progress()
		return len(p) == 1 && p[0].Connected && p[0].Acked == master.MaxPhysicalOffset()
	})

	// An hour without a message: the slave still has everything, as of now.
	clock.Advance(time.Hour)
	p := srv.Progress()
	if len(p) != 1 || p[0].BrokerID != 1 || !p[0].CaughtUp.Equal(clock.Now()) {
		t.Fatalf("after an idle hour: progress %+v, want brokerId 1 caught up at %v", p, clock.Now())
	}

	// Gone, and the log moved on without it: its last catch-up stays in the past.
	cl.Close()
	testutil.Eventually(t, 5*time.Second, "the master to see the slave gone", func() bool {
		p := srv.Progress()
		return len(p) == 1 && !p[0].Connected
	})
	putN(t, master, 20, 5)
	clock.Advance(time.Hour)
	p = srv.Progress()
	if len(p) != 1 || p[0].Acked >= master.MaxPhysicalOffset() || !p[0].CaughtUp.Before(clock.Now().Add(-time.Hour+time.Nanosecond)) {
		t.Fatalf("a disconnected slave behind the log: progress %+v, want its catch-up an hour or more before %v", p, clock.Now())
	}
}
