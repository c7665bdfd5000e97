package failover

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/ctrlclient"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/ha"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

const (
	group = "broker-fo"
	topic = "FailoverTopic"
	// queues is the topic's queue count.
	queues = 4
	// segBytes is the CommitLog segment size the brokers run with (tests/ha's).
	segBytes = 4 << 20
	// heartbeatTimeout is how long the controllers count a silent broker alive.
	heartbeatTimeout = 1500 * time.Millisecond
	// electionBound is the longest a failover may take.
	electionBound = 10 * time.Second
	// haMaxTimeSlaveNotCatchup is the brokers': a slave that has not had the master's
	// whole log for this long leaves the SyncStateSet.
	haMaxTimeSlaveNotCatchup = 2 * time.Second
)

// Controller is one mqcontroller process.
type Controller struct {
	*proctest.Proc
	ID, Raft, Addr string
}

// Cluster is the processes of a test.
type Cluster struct {
	t       *testing.T
	dir     string
	bin     proctest.Binaries
	Ctrls   []*Controller
	NS      *ha.Namesrv
	Brokers []*ha.Broker
	ctrl    *ctrlclient.Client
}

// StartCluster starts three controllers, a NameServer and a group of three brokers,
// and waits until the group has a master whose SyncStateSet holds all three.
func StartCluster(t *testing.T) *Cluster {
	t.Helper()
	c := &Cluster{t: t, dir: t.TempDir(), bin: proctest.Build(t)}
	var peers []string
	for i := 0; i < 3; i++ {
		k := &Controller{ID: fmt.Sprintf("n%d", i), Raft: proctest.FreeAddr(t), Addr: proctest.FreeAddr(t)}
		peers = append(peers, k.ID+"-"+k.Raft)
		c.Ctrls = append(c.Ctrls, k)
	}
	var addrs []string
	for _, k := range c.Ctrls {
		k := k
		store := filepath.Join(c.dir, "controller-"+k.ID)
		k.Proc = proctest.Launch(t, func() proctest.Spec {
			return proctest.Spec{Name: "controller-" + k.ID, Bin: c.bin.Controller, Dir: c.dir, Args: []string{
				"-peers", strings.Join(peers, ";"), "-self", k.ID, "-listen", k.Addr, "-store", store,
				"-scan", "100ms", "-heartbeatTimeout", heartbeatTimeout.String(), "-loglevel", "info"}}
		}, func(*proctest.Proc) bool { return dialable(k.Addr) })
		addrs = append(addrs, k.Addr)
	}
	c.ctrl = ctrlclient.New(addrs, proctest.Client())
	c.NS = ha.StartNamesrv(t, c.bin, c.dir, "ns", "")
	for i := 1; i <= 3; i++ {
		c.Brokers = append(c.Brokers, ha.StartBroker(t, c.bin, c.dir, ha.BrokerConfig{
			Name: group, ID: int64(i), Role: "SYNC_MASTER", HAPort: -1, Namesrv: []string{c.NS.Addr},
			Broker: map[string]any{
				"enableControllerMode":            true,
				"controllerAddr":                  strings.Join(addrs, ";"),
				"allAckInSyncStateSet":            true,
				"totalReplicas":                   3,
				"minInSyncReplicas":               2,
				"haMaxTimeSlaveNotCatchup":        haMaxTimeSlaveNotCatchup.String(),
				"controllerHeartBeatTimeoutMills": heartbeatTimeout.String(),
				"brokerHeartbeatInterval":         "200ms",
				"slaveTimeout":                    "3s",
				"haListenPort":                    -1,
			},
		}))
	}
	// A failed test shows where each broker stood: SIGQUIT makes a Go program print
	// its goroutines, which the harness shows with the rest of its output.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, b := range c.Brokers {
			if b.Running() {
				b.Signal(syscall.SIGQUIT)
			}
		}
		for _, b := range c.Brokers {
			if b.Running() {
				b.WaitExit(5 * time.Second)
			}
		}
		// ROCKETGO_FAILOVER_LOGS=dir keeps every broker's whole output there.
		if dir := os.Getenv("ROCKETGO_FAILOVER_LOGS"); dir != "" {
			for _, b := range c.Brokers {
				_ = os.WriteFile(filepath.Join(dir, b.Name+".log"), []byte(b.Output()), 0o644)
			}
		}
	})
	c.WaitSyncStateSet(3, 60*time.Second)
	return c
}

// State is the group's state as the controller leader reports it.
type State struct {
	Master  string // the master's address, "" when none
	Epoch   int32
	InSync  []string
	SyncEp  int32
	Leader  string // the controller that answered
	Replica body.ReplicasInfo
}

// State asks the controller leader for the group's state; ok is false when no leader
// answers.
func (c *Cluster) State() (State, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	bd := body.EncodeJSON([]string{group})
	resp, err := c.ctrl.Invoke(ctx, func() *codec.Command {
		return codec.NewRequest(code.ControllerGetSyncStateData, nil, bd)
	})
	if err != nil || resp.Code != code.Success {
		return State{}, false
	}
	var info body.BrokerReplicasInfo
	if err := body.DecodeJSON(resp.Body, &info); err != nil {
		return State{}, false
	}
	ri, ok := info.ReplicasInfoTable[group]
	if !ok {
		return State{}, false
	}
	s := State{Master: ri.MasterAddress, Epoch: ri.MasterEpoch, SyncEp: ri.SyncStateSetEpoch, Replica: ri}
	for _, r := range ri.InSyncReplicas {
		s.InSync = append(s.InSync, r.BrokerAddress)
	}
	return s, true
}

// WaitSyncStateSet waits until the group has a master serving as one and a
// SyncStateSet of n members, and returns the state.
func (c *Cluster) WaitSyncStateSet(n int, d time.Duration) State {
	c.t.Helper()
	var st State
	var ok bool
	var slaves int64
	if !testutil.Poll(d, func() bool {
		st, ok = c.State()
		if !ok || st.Master == "" {
			return false
		}
		slaves = ha.InfoInt(st.Master, "haSlaveCount")
		return len(st.InSync) == n && slaves >= int64(n-1)
	}) {
		// What was seen last tells a slow start (no master yet) from a slave that
		// never caught up (master known, SyncStateSet short).
		c.t.Fatalf("timed out after %v waiting for a master with a SyncStateSet of %d: last answer ok=%v master=%q epoch=%d inSync=%v haSlaveCount=%d",
			d, n, ok, st.Master, st.Epoch, st.InSync, slaves)
	}
	return st
}

// Broker returns the broker process at addr.
func (c *Cluster) Broker(addr string) *ha.Broker {
	for _, b := range c.Brokers {
		if b.Addr == addr {
			return b
		}
	}
	c.t.Fatalf("no broker at %s", addr)
	return nil
}

// NewMaster waits until the controllers name a master other than old and returns the
// state and how long it took from since.
func (c *Cluster) NewMaster(old string, since time.Time, d time.Duration) (State, time.Duration) {
	c.t.Helper()
	var st State
	testutil.Eventually(c.t, d, "a new master", func() bool {
		var ok bool
		st, ok = c.State()
		return ok && st.Master != "" && st.Master != old
	})
	return st, time.Since(since)
}

// StoreDir is a broker's store directory.
func StoreDir(b *ha.Broker) string { return b.Cfg.StoreDir }

// AssertLogsIdentical waits until every running broker's CommitLog ends where the
// master's does and checks that they hold the same bytes.
func (c *Cluster) AssertLogsIdentical(master string, d time.Duration) int64 {
	c.t.Helper()
	m := c.Broker(master)
	var end int64
	testutil.Eventually(c.t, d, "every replica at the master's end", func() bool {
		end = ha.InfoInt(m.Addr, "commitLogMaxOffset")
		for _, b := range c.Brokers {
			if ha.InfoInt(b.Addr, "commitLogMaxOffset") != end {
				return false
			}
		}
		return end > 0
	})
	want := ha.LogChecksum(c.t, StoreDir(m), segBytes, 0, end)
	for _, b := range c.Brokers {
		if got := ha.LogChecksum(c.t, StoreDir(b), segBytes, 0, end); got != want {
			c.t.Errorf("CommitLog of %s differs from the master %s's over [0, %d)", b.Addr, m.Addr, end)
		}
	}
	return end
}

// Load sends SYNC messages from the SDK until stopped, recording every SEND_OK.
type Load struct {
	p      *client.Producer
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	acked  map[string]ackAt // body → where it was stored
	failed int
	sent   int
}

type ackAt struct {
	queue  int32
	offset int64
	broker string
	at     time.Time
}

// StartLoad starts senders SYNC producers' loops.
func (c *Cluster) StartLoad(senders int) *Load {
	c.t.Helper()
	p, err := client.NewProducer(
		client.WithProducerGroup("failover-producer"),
		client.WithRetries(0), // a retry would hide which broker acknowledged
		client.WithSendTimeout(4*time.Second),
		client.WithNameServer(c.NS.Addr), client.WithRouteRefreshInterval(200*time.Millisecond),
	)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	l := &Load{p: p, stop: make(chan struct{}), acked: map[string]ackAt{}}
	for s := 0; s < senders; s++ {
		l.wg.Add(1)
		go l.run(s)
	}
	return l
}

func (l *Load) run(s int) {
	defer l.wg.Done()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		b := fmt.Sprintf("s%d-m%d", s, i)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := l.p.Send(ctx, client.NewMessage(topic, []byte(b)))
		cancel()
		l.mu.Lock()
		l.sent++
		if err == nil && res.Status == client.SendOK {
			l.acked[b] = ackAt{queue: int32(res.MessageQueue.QueueID), offset: res.QueueOffset, broker: res.MessageQueue.BrokerName, at: time.Now()}
		} else {
			l.failed++
		}
		l.mu.Unlock()
		if err != nil {
			select {
			case <-l.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// Acked returns how many sends were acknowledged so far.
func (l *Load) Acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// Stop ends the load and returns the acknowledged messages.
func (l *Load) Stop() map[string]ackAt {
	close(l.stop)
	l.wg.Wait()
	_ = l.p.Shutdown(context.Background())
	return l.acked
}

// WaitAcked waits until n more sends were acknowledged than now.
func (l *Load) WaitAcked(t *testing.T, n int, d time.Duration) {
	t.Helper()
	base := l.Acked()
	testutil.Eventually(t, d, fmt.Sprintf("%d more acknowledged sends", n), func() bool { return l.Acked() >= base+n })
}

// ReadAll reads every queue of the topic from the broker at addr, checks that each is
// dense (the record at offset i says it is at i), and returns the bodies by queue and
// offset.
//
// A queue may still grow after the load stopped: a send is answered once the in-sync
// slaves have its record, and the master's dispatcher, which in controller mode follows
// the confirm offset those same acknowledgements move, may put the record in the
// ConsumeQueue a moment later. So each queue is read up to its maximum offset, and
// again while that has moved since.
func ReadAll(t *testing.T, addr string) map[string]ackAt {
	t.Helper()
	out := map[string]ackAt{}
	for q := int32(0); q < queues; q++ {
		var recs []ha.Record
		maxOff := ha.MaxOffset(t, addr, topic, q)
		for {
			recs = append(recs, ha.Pull(t, addr, "failover-check", topic, q, int64(len(recs)), maxOff)...)
			if maxOff = ha.MaxOffset(t, addr, topic, q); int64(len(recs)) >= maxOff {
				break
			}
		}
		if int64(len(recs)) != maxOff {
			t.Errorf("queue %d on %s: %d records for offsets [0, %d)", q, addr, len(recs), maxOff)
		}
		for i, r := range recs {
			if r.QueueOffset != int64(i) {
				t.Errorf("queue %d on %s is not dense: record %d carries offset %d", q, addr, i, r.QueueOffset)
				break
			}
			out[string(r.Body)] = ackAt{queue: q, offset: r.QueueOffset}
		}
	}
	return out
}

// CheckNoLoss fails the test for every acknowledged message that is not where its
// acknowledgement said.
func CheckNoLoss(t *testing.T, acked, stored map[string]ackAt) {
	t.Helper()
	lost := 0
	var examples []string
	for b, a := range acked {
		s, ok := stored[b]
		if !ok || s.queue != a.queue || s.offset != a.offset {
			lost++
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("%s acked at %d/%d, stored %v %d/%d", b, a.queue, a.offset, ok, s.queue, s.offset))
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged messages lost or moved: %v", lost, len(acked), examples)
	}
}

// dialable reports whether a TCP connection to addr succeeds.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// soak reports whether the long variants run (ROCKETGO_SOAK=1).
func soak() bool { return os.Getenv("ROCKETGO_SOAK") == "1" }

// durations formats p50 and max of ds.
func durations(ds []time.Duration) (p50, maxD time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

// Leader returns the controller that leads, as the controllers report.
func (c *Cluster) Leader() *Controller {
	c.t.Helper()
	var lead *Controller
	testutil.Eventually(c.t, 20*time.Second, "a controller leader", func() bool {
		for _, k := range c.Ctrls {
			if !k.Running() {
				continue
			}
			resp, err := proctest.Invoke(k.Addr, codec.NewRequest(code.ControllerGetMetadataInfo, nil, nil))
			if err == nil && resp.Code == code.Success && resp.ExtFields["isLeader"] == "true" {
				lead = k
				return true
			}
		}
		return false
	})
	return lead
}
