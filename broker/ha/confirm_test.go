package ha

import (
	"fmt"
	"math"
	"net"
	"path/filepath"
	"strings"
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

// TestSlaveDispatchesUpToTheMastersConfirmOffset: a slave outside the SyncStateSet gets
// the master's records as fast as ever but dispatches only what the set holds (the
// master's CONFIRM frames), so a consumer reading from it cannot run ahead of a member
// that may be the next master; once the member acknowledges, the slave serves them.
func TestSlaveDispatchesUpToTheMastersConfirmOffset(t *testing.T) {
	dir := t.TempDir()
	master := openStore(t, filepath.Join(dir, "m"))
	member := openStore(t, filepath.Join(dir, "s1"))
	outside := openStore(t, filepath.Join(dir, "s2"))
	putN(t, master, 0, 20)
	srv := startServer(t, master, ServerOptions{AllAck: true, MinInSyncReplicas: 1, Confirm: master.SetConfirmOffset})
	gate := &gateSink{Sink: member}
	t.Cleanup(gate.release)
	startClientID(t, gate, srv.Addr().String(), "broker-a", 1)
	startClientID(t, outside, srv.Addr().String(), "broker-a", 2)
	waitCaughtUp(t, master, member)
	waitCaughtUp(t, master, outside)
	srv.SetSyncStateSet([]int64{1})
	end := master.MaxPhysicalOffset()
	testutil.Eventually(t, 5*time.Second, "the outside slave to learn the confirm offset", func() bool {
		return outside.ConfirmOffset() == end && queued(outside) == 20
	})

	gate.hold()
	putN(t, master, 20, 5)
	waitCaughtUp(t, master, outside) // it has the five records...
	select {
	case <-outside.Grown(master.MaxPhysicalOffset() - 1):
	case <-time.After(5 * time.Second):
		t.Fatal("no dispatcher round of the outside slave saw the five records within 5s")
	}
	// ...and serves none of them.
	if got, c := queued(outside), outside.ConfirmOffset(); got != 20 || c != end {
		t.Fatalf("outside slave, five records the member lacks: %d queued, confirm offset %d; want 20, %d", got, c, end)
	}

	gate.release()
	testutil.Eventually(t, 5*time.Second, "the outside slave to serve the five records once the member has them", func() bool {
		return queued(outside) == 25
	})

	// The set down to the master alone: no bound, on the master nor on its slaves.
	srv.SetSyncStateSet(nil)
	testutil.Eventually(t, 5*time.Second, "the slaves to learn there is no bound", func() bool {
		return outside.ConfirmOffset() == store.ConfirmAll && member.ConfirmOffset() == store.ConfirmAll
	})
}

// TestConfirmFramesByVersion: a master sends CONFIRM only to slaves of version 2 on (its
// first frame after WELCOME), serves version-1 slaves without it, and refuses versions
// it does not know.
func TestConfirmFramesByVersion(t *testing.T) {
	dir := t.TempDir()
	master := openStore(t, filepath.Join(dir, "m"))
	putN(t, master, 0, 3)
	srv := startServer(t, master, ServerOptions{})
	id, _, _ := master.LogID(false)
	first := func(version uint16) (byte, []byte) {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		h := Hello{Version: version, LogID: id, BrokerID: 1, SegmentBytes: testSegment, BrokerName: "broker-a"}
		if _, err := c.Write(AppendHello(nil, h)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, p, _, err := ReadFrame(c, nil, 1<<20)
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		if typ != TypeWelcome {
			return typ, p
		}
		typ, p, _, err = ReadFrame(c, nil, 1<<20)
		if err != nil {
			t.Fatalf("version %d, after the welcome: %v", version, err)
		}
		return typ, p
	}
	if typ, p := first(2); typ != TypeConfirm {
		t.Fatalf("version 2: first frame type %d, want CONFIRM", typ)
	} else if off, err := DecodeOffset(p); err != nil || off != math.MaxInt64 {
		t.Fatalf("version 2: confirm offset %d (%v), want no bound", off, err)
	}
	if typ, _ := first(1); typ != TypeData {
		t.Fatalf("version 1: first frame type %d, want DATA", typ)
	}
	if typ, p := first(3); typ != TypeRefuse {
		t.Fatalf("version 3: answer type %d, want REFUSE", typ)
	} else if reason, _ := DecodeRefuse(p); !strings.Contains(reason, "version 3") {
		t.Fatalf("version 3 refused with %q", reason)
	}
}

// openHeld opens a store as controller mode does: its log held back until a confirm
// offset is known.
func openHeld(t *testing.T, dir string) *store.Store {
	t.Helper()
	o := storeOptions(t, dir)
	o.HoldUnconfirmed = true
	return openStoreWith(t, o)
}

// TestNothingReleasedBeforeTheSyncStateSetIsKnown: a master that starts serving its
// slaves before it learns its SyncStateSet (the controller-mode runner sets it just
// after Start) releases nothing it holds back, nor tells its slaves to; once the set
// is known, both serve what the set holds.
func TestNothingReleasedBeforeTheSyncStateSetIsKnown(t *testing.T) {
	dir := t.TempDir()
	master := openHeld(t, filepath.Join(dir, "m"))
	slave := openHeld(t, filepath.Join(dir, "s"))
	putN(t, master, 0, 20)
	srv := startServer(t, master, ServerOptions{AllAck: true, MinInSyncReplicas: 1, Confirm: master.SetConfirmOffset})
	startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	testutil.Eventually(t, 5*time.Second, "the master to hear the slave acknowledge the whole log", func() bool {
		p := srv.Progress()
		return len(p) == 1 && p[0].Acked == master.MaxPhysicalOffset()
	})
	if mq, sq, mc, sc := queued(master), queued(slave), master.ConfirmOffset(), slave.ConfirmOffset(); mq != 0 || sq != 0 || mc != 0 || sc != 0 {
		t.Fatalf("before the SyncStateSet is known: queued %d on the master, %d on the slave, confirm offsets %d and %d; want all 0", mq, sq, mc, sc)
	}
	srv.SetSyncStateSet([]int64{1})
	testutil.Eventually(t, 5*time.Second, "both to serve the 20 records the set holds", func() bool {
		return queued(master) == 20 && queued(slave) == 20
	})
}

// TestSlaveFallsBackToAnOlderMaster: a master of protocol version 1 refuses a version-2
// HELLO; the slave then speaks version 1 to it, and since such a master sends no
// confirm offset, it lifts its own hold.
func TestSlaveFallsBackToAnOlderMaster(t *testing.T) {
	slave := openHeld(t, filepath.Join(t.TempDir(), "s"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	versions := make(chan uint16, 2)
	go func() {
		for i := 0; i < 2; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, p, _, err := ReadFrame(c, nil, 0)
			if h, derr := DecodeHello(p); err == nil && derr == nil {
				versions <- h.Version
				if h.Version != 1 {
					// What a version-1 master answers.
					_, _ = c.Write(AppendRefuse(nil, fmt.Sprintf("the slave speaks replication protocol version %d, this master version 1", h.Version)))
				}
			}
			c.Close()
		}
	}()
	startClient(t, slave, ln.Addr().String(), "broker-a")
	for i, want := range []uint16{Version, 1} {
		select {
		case v := <-versions:
			if v != want {
				t.Fatalf("HELLO %d: version %d, want %d", i+1, v, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no HELLO %d within 10s", i+1)
		}
	}
	if c := slave.ConfirmOffset(); c != store.ConfirmAll {
		t.Fatalf("following a version-1 master: confirm offset %d, want no bound", c)
	}
}
