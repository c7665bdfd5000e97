package pop

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// memOffsets is an in-memory consumer offset table.
type memOffsets struct {
	mu sync.Mutex
	m  map[qkey]int64
}

func (o *memOffsets) Get(g, t string, q int32) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.m[qkey{g, t, q}]
	return v, ok
}

func (o *memOffsets) Commit(g, t string, q int32, off int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[qkey{g, t, q}] = off
	return nil
}

// env is a real store in a temporary directory with a POP service on it.
type env struct {
	t    testing.TB
	dir  string
	clk  *testutil.Clock
	offs *memOffsets
	st   *store.Store
	s    *Service
	snap bool // keep a snapshot directory
}

const (
	testTopic = "T"
	testGroup = "g"
	dlqTopic  = "%DLQ%g"
	attempts  = 3
)

func newEnv(t testing.TB) *env {
	e := &env{t: t, dir: t.TempDir(), clk: testutil.NewClock(), offs: &memOffsets{m: map[qkey]int64{}}}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	so := store.DefaultOptions()
	so.Dir = filepath.Join(e.dir, "store")
	so.CommitLogSegmentBytes = 1 << 20
	so.ConsumeQueueUnits = 256
	so.FlushInterval = 5 * time.Millisecond
	so.DiskWarnRatio, so.DiskMaxRatio = 1, 1
	so.Now = e.clk.Now
	so.Logger = zerolog.Nop()
	st, err := store.Open(so)
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	o := Options{Store: st, Offsets: e.offs, ClusterName: "c", BrokerName: "broker-a", Now: e.clk.Now,
		StoreHost:        func() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:10911") },
		MaxAttempts:      func(string) int32 { return attempts },
		DLQ:              func(g string) (string, int32, error) { return "%DLQ%" + g, 1, nil },
		ReviveInterval:   -1,
		SnapshotInterval: -1,
	}
	if e.snap {
		o.Dir = filepath.Join(e.dir, "pop")
	}
	s, err := New(o)
	if err != nil {
		st.Close()
		e.t.Fatalf("new: %v", err)
	}
	if err := st.AddProjection(s.Projection()); err != nil {
		e.t.Fatalf("add projection: %v", err)
	}
	st.Subscribe(func(a store.Arrival) { s.Notify(a.Topic, a.QueueID) })
	s.Start()
	e.st, e.s = st, s
}

func (e *env) close() {
	if e.s != nil {
		if err := e.s.Close(); err != nil {
			e.t.Errorf("close pop: %v", err)
		}
		e.s = nil
	}
	if e.st != nil {
		if err := e.st.Close(); err != nil {
			e.t.Errorf("close store: %v", err)
		}
		e.st = nil
	}
}

// send stores n messages "m<i>" in queue q with tag tag.
func (e *env) send(q int32, n int, tag string) {
	e.t.Helper()
	want := e.st.MaxOffset(testTopic, q) + int64(n)
	for i := 0; i < n; i++ {
		m := &message.Ext{Topic: testTopic, QueueID: q, Body: []byte(fmt.Sprintf("m%d", i)), BornTimestamp: e.clk.Now().UnixMilli(),
			Properties: map[string]string{message.PropTags: tag}}
		rec, err := message.EncodeRecord(nil, m)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.st.Put(rec); err != nil {
			e.t.Fatal(err)
		}
	}
	testutil.Eventually(e.t, 5*time.Second, "messages dispatched", func() bool { return e.st.MaxOffset(testTopic, q) == want })
}

func (e *env) receive(q int32, n int, fifo bool) *ReceiveResult {
	e.t.Helper()
	res, err := e.s.Receive(context.Background(), ReceiveRequest{Group: testGroup, Topic: testTopic, QueueID: q, Queues: 2,
		MaxNum: n, InvisibleTime: time.Minute, FIFO: fifo, InitMode: InitMin})
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	return res
}

// offsets lists the received queue offsets with their attempts: "0@1 2@2".
func offsets(res *ReceiveResult) string {
	var parts []string
	for _, m := range res.Messages {
		parts = append(parts, fmt.Sprintf("%d:%d@%d", m.QueueID, m.Offset, m.Attempt))
	}
	sort.Strings(parts)
	return fmt.Sprint(parts)
}
