package ha

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/store"
)

// replicatedIdle starts a master with 20 records and one slave (its store wrapped by
// wrap when not nil) on clock, and returns once the master heard the slave acknowledge
// the whole log.
func replicatedIdle(t *testing.T, clock *testutil.Clock, wrap func(Sink) Sink) (master *store.Store, srv *Server, cl *Client) {
	t.Helper()
	dir := t.TempDir()
	master = openStore(t, filepath.Join(dir, "m"))
	slave := openStore(t, filepath.Join(dir, "s"))
	putN(t, master, 0, 20)
	srv = startServer(t, master, ServerOptions{Now: clock.Now})
	var sink Sink = slave
	if wrap != nil {
		sink = wrap(slave)
	}
	cl = startClient(t, sink, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	testutil.Eventually(t, 5*time.Second, "the master to hear the slave's acknowledgement of the whole log", func() bool {
		p := srv.Progress()
		return len(p) == 1 && p[0].Connected && p[0].Acked == master.MaxPhysicalOffset()
	})
	return master, srv, cl
}

// TestIdleSlaveStaysCaughtUp: a connected slave that has the master's whole log is
// caught up now, however long the master has been idle, so that an idle master keeps
// its SyncStateSet; a slave that disconnected and missed what came since is not.
func TestIdleSlaveStaysCaughtUp(t *testing.T) {
	clock := testutil.NewClock()
	master, srv, cl := replicatedIdle(t, clock, nil)

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

// gateSink holds the slave's appends between hold and release.
type gateSink struct {
	Sink
	mu   sync.Mutex
	held bool
	open chan struct{}
}

func (g *gateSink) hold() {
	g.mu.Lock()
	g.held, g.open = true, make(chan struct{})
	g.mu.Unlock()
}

func (g *gateSink) release() {
	g.mu.Lock()
	if g.held {
		g.held = false
		close(g.open)
	}
	g.mu.Unlock()
}

func (g *gateSink) AppendRaw(off int64, b []byte) (int64, error) {
	g.mu.Lock()
	held, open := g.held, g.open
	g.mu.Unlock()
	if held {
		<-open
	}
	return g.Sink.AppendRaw(off, b)
}

// TestFirstWriteAfterIdleKeepsCaughtUp: a slave that had the whole log when the master
// last looked is still caught up as of then while the first record after a long idle
// time is on its way to it; it must not look an idle period behind.
func TestFirstWriteAfterIdleKeepsCaughtUp(t *testing.T) {
	clock := testutil.NewClock()
	var gate *gateSink
	master, srv, _ := replicatedIdle(t, clock, func(s Sink) Sink { gate = &gateSink{Sink: s}; return gate })
	t.Cleanup(gate.release) // before the client's Close, which waits for its append
	clock.Advance(time.Hour)
	looked := clock.Now()
	if p := srv.Progress(); len(p) != 1 || !p[0].CaughtUp.Equal(looked) {
		t.Fatalf("after an idle hour: progress %+v, want caught up at %v", p, looked)
	}
	gate.hold()
	putN(t, master, 20, 1)
	clock.Advance(time.Second)
	p := srv.Progress()
	if len(p) != 1 || p[0].CaughtUp.Before(looked) {
		t.Fatalf("a record after an idle hour, not yet at the slave: progress %+v, want caught up no earlier than %v", p, looked)
	}
	gate.release()
}

// TestReconnectedSlaveWithLessIsNotCaughtUp: a slave that comes back with less of the
// log than it once acknowledged (a new store under the same brokerId, a log that lost
// its unflushed tail) is not caught up because of what its earlier connection had.
func TestReconnectedSlaveWithLessIsNotCaughtUp(t *testing.T) {
	clock := testutil.NewClock()
	master, srv, cl := replicatedIdle(t, clock, nil)
	cl.Close()
	testutil.Eventually(t, 5*time.Second, "the master to see the slave gone", func() bool {
		p := srv.Progress()
		return len(p) == 1 && !p[0].Connected
	})
	clock.Advance(time.Hour)

	// The same brokerId again, with an empty store whose appends are held.
	gate := &gateSink{Sink: openStore(t, filepath.Join(t.TempDir(), "s2"))}
	gate.hold()
	startClient(t, gate, srv.Addr().String(), "broker-a")
	t.Cleanup(gate.release) // before the client's Close, which waits for its append
	testutil.Eventually(t, 5*time.Second, "the slave to reconnect", func() bool { return len(srv.Slaves()) == 1 })
	// The brokerId's earlier acknowledgement still covers the whole log (the scenario);
	// the slave's connection has nothing of it.
	if p := srv.Progress(); len(p) != 1 || p[0].Acked < master.MaxPhysicalOffset() || p[0].CaughtUp.Equal(clock.Now()) {
		t.Fatalf("an empty slave on an idle master ending at %d: progress %+v, want it acknowledged once through the end but not caught up at %v",
			master.MaxPhysicalOffset(), p, clock.Now())
	}
}
