package ha

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

const testSegment = 64 << 10

func storeOptions(t *testing.T, dir string) store.Options {
	t.Helper()
	o := store.DefaultOptions()
	o.Dir = dir
	o.CommitLogSegmentBytes = testSegment
	o.ConsumeQueueUnits = 256
	o.MaxMessageBytes = 16 << 10
	o.FlushInterval = 10 * time.Millisecond
	o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
	o.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	return o
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	return openStoreWith(t, storeOptions(t, dir))
}

// openStoreWith opens a store with o and closes it when the test ends.
func openStoreWith(t *testing.T, o store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(o)
	if err != nil {
		t.Fatalf("open store %s: %v", o.Dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

func startServer(t *testing.T, st *store.Store, o ServerOptions) *Server {
	t.Helper()
	id, _, err := st.LogID(true)
	if err != nil {
		t.Fatal(err)
	}
	o.Addr = "127.0.0.1:0"
	o.LogID = id
	o.SegmentBytes = st.SegmentBytes()
	if o.BrokerName == "" {
		o.BrokerName = "broker-a"
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = 16 << 10
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 50 * time.Millisecond
	}
	if o.Housekeeping == 0 {
		o.Housekeeping = 5 * time.Second
	}
	if o.SlaveTimeout == 0 {
		o.SlaveTimeout = 3 * time.Second
	}
	if o.FallBehindMax == 0 {
		o.FallBehindMax = 256 << 20
	}
	o.Logger = testLogger(t).With().Str("node", "master").Logger()
	s := NewServer(st, o)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// countingSink counts the bytes a slave appends.
type countingSink struct {
	Sink
	bytes atomic.Int64
}

func (c *countingSink) AppendRaw(off int64, b []byte) (int64, error) {
	end, err := c.Sink.AppendRaw(off, b)
	if err == nil {
		c.bytes.Add(end - off)
	}
	return end, err
}

func startClient(t *testing.T, sink Sink, addr string, name string) *Client {
	t.Helper()
	return startClientID(t, sink, addr, name, 1)
}

// startClientID is startClient for the slave with brokerId id.
func startClientID(t *testing.T, sink Sink, addr string, name string, id int64) *Client {
	t.Helper()
	c := NewClient(sink, ClientOptions{
		BrokerName:   name,
		BrokerID:     id,
		Heartbeat:    50 * time.Millisecond,
		Housekeeping: 5 * time.Second,
		DialTimeout:  time.Second,
		RetryMin:     20 * time.Millisecond,
		RetryMax:     200 * time.Millisecond,
		DataLimit:    1 << 20,
		Logger:       testLogger(t).With().Str("node", "slave").Logger(),
	})
	c.SetMasterAddr(addr)
	c.Start()
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	bornHost  = netip.MustParseAddrPort("10.0.0.1:40000")
	storeHost = netip.MustParseAddrPort("10.0.0.2:10911")
)

// putN appends n records to st, numbered from first.
func putN(t *testing.T, st *store.Store, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		rec, err := message.EncodeRecord(nil, &message.Ext{
			Topic:      fmt.Sprintf("T%d", i%2),
			QueueID:    int32(i % 3),
			BornHost:   bornHost,
			StoreHost:  storeHost,
			Body:       bytes.Repeat([]byte{byte(i)}, 200+(i*131)%1500),
			Properties: map[string]string{message.PropKeys: fmt.Sprintf("k%d", i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(rec); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
}

func waitCaughtUp(t *testing.T, master, slave *store.Store) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "the slave to catch up", func() bool {
		return slave.MaxPhysicalOffset() == master.MaxPhysicalOffset()
	})

}

// sameLog fails unless the two stores' CommitLog files hold the same bytes in [from, to).
func sameLog(t *testing.T, a, b string, from, to int64) {
	t.Helper()
	read := func(dir string) []byte {
		var out []byte
		for pos := from; pos < to; {
			start := pos - pos%testSegment
			data, err := os.ReadFile(filepath.Join(dir, "commitlog", fmt.Sprintf("%020d", start)))
			if err != nil {
				t.Fatal(err)
			}
			end := min(to, start+testSegment)
			out = append(out, data[pos-start:end-start]...)
			pos = end
		}
		return out
	}
	if !bytes.Equal(read(a), read(b)) {
		t.Fatalf("the CommitLogs of %s and %s differ in [%d, %d)", a, b, from, to)
	}
}

func TestStreamMakesByteIdenticalLog(t *testing.T) {
	dir := t.TempDir()
	mdir, sdir := filepath.Join(dir, "m"), filepath.Join(dir, "s")
	master, slave := openStore(t, mdir), openStore(t, sdir)
	putN(t, master, 0, 200)
	srv := startServer(t, master, ServerOptions{})
	cl := startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	putN(t, master, 200, 300) // while streaming
	waitCaughtUp(t, master, slave)
	if master.MaxPhysicalOffset() < 3*testSegment {
		t.Fatalf("the log is only %d bytes; the test wants segment rolls", master.MaxPhysicalOffset())
	}
	sameLog(t, mdir, sdir, 0, master.MaxPhysicalOffset())
	mid, _, _ := master.LogID(false)
	if sid, ok, _ := slave.LogID(false); !ok || sid != mid {
		t.Fatalf("the slave's log id is %x (%v), the master's %x", sid, ok, mid)
	}
	testutil.Eventually(t, 5*time.Second, "the master to see the acknowledgement", func() bool {
		return srv.AckedOffset() == master.MaxPhysicalOffset()
	})

	st := cl.Status()
	if !st.Connected || st.Offset != master.MaxPhysicalOffset() || st.Refused != "" {
		t.Fatalf("slave status %+v", st)
	}
	if ss := srv.Slaves(); len(ss) != 1 || ss[0].BrokerID != 1 {
		t.Fatalf("master's slaves %+v", ss)
	}
}

func TestSlaveAndMasterRestartResume(t *testing.T) {
	dir := t.TempDir()
	mdir, sdir := filepath.Join(dir, "m"), filepath.Join(dir, "s")
	master := openStore(t, mdir)
	putN(t, master, 0, 150)
	srv := startServer(t, master, ServerOptions{})
	slave := openStore(t, sdir)
	cl := startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)

	// The slave stops; the master keeps writing; the slave comes back and fetches only
	// what it lacks.
	cl.Close()
	if err := slave.Close(); err != nil {
		t.Fatal(err)
	}
	had := master.MaxPhysicalOffset()
	putN(t, master, 150, 150)
	slave = openStore(t, sdir)
	cs := &countingSink{Sink: slave}
	startClient(t, cs, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	if got, want := cs.bytes.Load(), master.MaxPhysicalOffset()-had; got != want {
		t.Fatalf("the restarted slave fetched %d bytes, want the %d it lacked", got, want)
	}

	// The master restarts (on another port); the slave follows the new address.
	srv.Close()
	if err := master.Close(); err != nil {
		t.Fatal(err)
	}
	master = openStore(t, mdir)
	putN(t, master, 300, 100)
	srv = startServer(t, master, ServerOptions{})
	before := cs.bytes.Load()
	had = slave.MaxPhysicalOffset()
	cl2 := startClientOn(t, cs, srv.Addr().String())
	waitCaughtUp(t, master, slave)
	if got, want := cs.bytes.Load()-before, master.MaxPhysicalOffset()-had; got != want {
		t.Fatalf("after the master's restart the slave fetched %d bytes, want %d", got, want)
	}
	sameLog(t, mdir, sdir, 0, master.MaxPhysicalOffset())
	_ = cl2
}

// startClientOn starts a second client over a sink whose first client was closed.
func startClientOn(t *testing.T, sink Sink, addr string) *Client {
	t.Helper()
	return startClient(t, sink, addr, "broker-a")
}

// copyStore copies a closed store directory.
func copyStore(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, fi.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMismatchedLogsAreRefused(t *testing.T) {
	dir := t.TempDir()
	mdir, sdir, snap := filepath.Join(dir, "m"), filepath.Join(dir, "s"), filepath.Join(dir, "snap")
	master := openStore(t, mdir)
	if _, _, err := master.LogID(true); err != nil {
		t.Fatal(err)
	}
	putN(t, master, 0, 100)
	if err := master.Close(); err != nil {
		t.Fatal(err)
	}
	copyStore(t, mdir, snap) // the master as it was: same log id, shorter log
	master = openStore(t, mdir)
	putN(t, master, 100, 100)
	srv := startServer(t, master, ServerOptions{})
	slave := openStore(t, sdir)
	cl := startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	cl.Close()
	srv.Close()
	end := slave.MaxPhysicalOffset()

	expectRefusal := func(t *testing.T, src *store.Store, o ServerOptions, name, want string) {
		t.Helper()
		s := startServer(t, src, o)
		c := startClient(t, slave, s.Addr().String(), name)
		testutil.Eventually(t, 10*time.Second, "a refusal", func() bool { return c.Status().Refused != "" })
		if got := c.Status().Refused; !strings.Contains(got, want) {
			t.Fatalf("refusal %q, want it to mention %q", got, want)
		}
		c.Close()
		s.Close()
		if got := slave.MaxPhysicalOffset(); got != end {
			t.Fatalf("a refused slave's log moved from %d to %d", end, got)
		}
	}

	t.Run("master lost data", func(t *testing.T) {
		old := openStore(t, snap)
		expectRefusal(t, old, ServerOptions{}, "broker-a", "past this master's end")
		old.Close()
	})
	t.Run("diverged", func(t *testing.T) {
		div := filepath.Join(dir, "div")
		copyStore(t, snap, div)
		d := openStore(t, div)
		putN(t, d, 5000, 150) // other records where the slave has the master's
		if d.MaxPhysicalOffset() < end {
			t.Fatalf("diverged master ends at %d, before the slave's %d", d.MaxPhysicalOffset(), end)
		}
		expectRefusal(t, d, ServerOptions{}, "broker-a", "differs")
	})
	t.Run("another master", func(t *testing.T) {
		other := openStore(t, filepath.Join(dir, "other"))
		putN(t, other, 0, 300)
		expectRefusal(t, other, ServerOptions{}, "broker-a", "another master")
	})
	t.Run("another broker group", func(t *testing.T) {
		expectRefusal(t, master, ServerOptions{}, "broker-b", "broker group")
	})
	// The slave's own master still accepts it afterwards.
	s := startServer(t, master, ServerOptions{})
	startClient(t, slave, s.Addr().String(), "broker-a")
	testutil.Eventually(t, 5*time.Second, "streaming again", func() bool { return s.AckedOffset() == end })
}

// rawSlave handshakes as a slave and then only reads: it never acknowledges.
func rawSlave(t *testing.T, addr string, offset int64, id LogID) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := Hello{Version: Version, LogID: id, BrokerID: 1, SegmentBytes: testSegment, Offset: offset, CheckFrom: offset, BrokerName: "broker-a"}
	if _, err := c.Write(AppendHello(nil, h)); err != nil {
		t.Fatal(err)
	}
	typ, _, _, err := ReadFrame(c, nil, 0)
	if err != nil || typ != TypeWelcome {
		t.Fatalf("raw slave: answer type %d, %v", typ, err)
	}
	go io.Copy(io.Discard, c)
	return c
}

func TestSyncWaits(t *testing.T) {
	dir := t.TempDir()
	master := openStore(t, filepath.Join(dir, "m"))
	srv := startServer(t, master, ServerOptions{SlaveTimeout: 150 * time.Millisecond, FallBehindMax: 1 << 20})
	result := func(end int64) chan error {
		ch := make(chan error, 1)
		srv.OnReplicated(end, func(err error) { ch <- err })
		return ch
	}
	wait := func(ch chan error) error {
		select {
		case err := <-ch:
			return err
		case <-time.After(5 * time.Second):
			t.Fatalf("no answer within 5s")
			return nil
		}
	}
	putN(t, master, 0, 10)
	if err := wait(result(master.MaxPhysicalOffset())); !errors.Is(err, ErrSlaveNotAvailable) {
		t.Fatalf("without a slave: got %v, want ErrSlaveNotAvailable", err)
	}

	// A slave that never acknowledges: the wait times out.
	id, _, _ := master.LogID(false)
	raw := rawSlave(t, srv.Addr().String(), 0, id)
	testutil.Eventually(t, 5*time.Second, "the raw slave to count", func() bool { return len(srv.Slaves()) == 1 })
	began := time.Now()
	if err := wait(result(master.MaxPhysicalOffset())); !errors.Is(err, ErrSlaveTimeout) {
		t.Fatalf("silent slave: got %v, want ErrSlaveTimeout", err)
	}
	if d := time.Since(began); d < 140*time.Millisecond {
		t.Fatalf("timed out after %v, before the 150ms slave timeout", d)
	}
	// Further behind than the limit: not available at once.
	putN(t, master, 10, 1000)
	if err := wait(result(master.MaxPhysicalOffset())); !errors.Is(err, ErrSlaveNotAvailable) {
		t.Fatalf("slave far behind: got %v, want ErrSlaveNotAvailable", err)
	}
	raw.Close()
	testutil.Eventually(t, 5*time.Second, "the raw slave to go", func() bool { return len(srv.Slaves()) == 0 })

	// A real slave: the wait completes once it has the record.
	slave := openStore(t, filepath.Join(dir, "s"))
	startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	putN(t, master, 1010, 1)
	end := master.MaxPhysicalOffset()
	if err := wait(result(end)); err != nil {
		t.Fatalf("with a slave: %v", err)
	}
	if slave.MaxPhysicalOffset() < end {
		t.Fatalf("the wait completed at %d before the slave had it (%d)", end, slave.MaxPhysicalOffset())
	}
	// Closing fails what still waits.
	putN(t, master, 1011, 1)
	srv.Close()
	if err := wait(result(master.MaxPhysicalOffset() + 1)); !errors.Is(err, ErrSlaveNotAvailable) && !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: got %v", err)
	}
}

func TestMasterDropsMisbehavingSlaves(t *testing.T) {
	master := openStore(t, filepath.Join(t.TempDir(), "m"))
	putN(t, master, 0, 10)
	srv := startServer(t, master, ServerOptions{})
	id, _, _ := master.LogID(false)
	expectClosed := func(t *testing.T, c net.Conn) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, err := c.Read(make([]byte, 4096)); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("the master kept the connection open")
				}
				return
			}
		}
	}
	t.Run("garbage", func(t *testing.T) {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		expectClosed(t, c)
	})
	t.Run("ack beyond what was sent", func(t *testing.T) {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(AppendHello(nil, Hello{Version: Version, LogID: id, BrokerID: 1, SegmentBytes: testSegment, BrokerName: "broker-a"}))
		if typ, _, _, err := ReadFrame(c, nil, 0); err != nil || typ != TypeWelcome {
			t.Fatalf("answer %d %v", typ, err)
		}
		c.Write(AppendOffset(nil, TypeAck, 1<<40))
		expectClosed(t, c)
	})
	if srv.AckedOffset() > master.MaxPhysicalOffset() {
		t.Fatalf("a bogus acknowledgement counted: acked %d", srv.AckedOffset())
	}
}

// TestEmptySlaveStartsAtMastersOldestSegment: a master whose log no longer starts at 0
// streams an empty slave from its oldest segment, and the slave's log starts there too.
func TestEmptySlaveStartsAtMastersOldestSegment(t *testing.T) {
	dir := t.TempDir()
	mdir, sdir := filepath.Join(dir, "m"), filepath.Join(dir, "s")
	master := openStore(t, mdir)
	start := int64(3 * testSegment) // as if retention had deleted the first three segments
	if err := master.ResetEmpty(start); err != nil {
		t.Fatal(err)
	}
	putN(t, master, 0, 200)
	srv := startServer(t, master, ServerOptions{})
	slave := openStore(t, sdir)
	startClient(t, slave, srv.Addr().String(), "broker-a")
	waitCaughtUp(t, master, slave)
	if slave.MinPhysicalOffset() != start {
		t.Fatalf("the slave's log starts at %d, want the master's %d", slave.MinPhysicalOffset(), start)
	}
	sameLog(t, mdir, sdir, start, master.MaxPhysicalOffset())
}
