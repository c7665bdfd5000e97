package schedule

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// fakeClock is a clock the test moves by hand; the store stamps records with it, so
// due times are exact.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is a store and a scheduler on one directory, driven by a fake clock.
type env struct {
	t      testing.TB
	dir    string
	clk    *fakeClock
	levels Levels
	st     *store.Store
	s      *Scheduler
}

func newEnv(t *testing.T, levels string) *env {
	t.Helper()
	ls, err := ParseLevels(levels)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir(), clk: newClock(), levels: ls}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) logger() zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(e.t)).Level(zerolog.WarnLevel)
}

// open opens the store and the scheduler (not started: tests call step) and adds the
// projection, which replays what the index has not seen.
func (e *env) open() {
	e.t.Helper()
	so := store.DefaultOptions()
	so.Dir = filepath.Join(e.dir, "store")
	so.CommitLogSegmentBytes = 1 << 20
	so.ConsumeQueueUnits = 256
	so.FlushInterval = 5 * time.Millisecond
	so.CheckpointInterval = 20 * time.Millisecond
	so.DiskWarnRatio, so.DiskMaxRatio = 1, 1
	so.Now = e.clk.Now
	so.Logger = e.logger()
	st, err := store.Open(so)
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	s, err := Open(Options{Dir: filepath.Join(e.dir, "schedule"), Levels: e.levels, Store: st,
		Now: e.clk.Now, Logger: e.logger(), CommitInterval: time.Hour})
	if err != nil {
		st.Close()
		e.t.Fatalf("open scheduler: %v", err)
	}
	if err := st.AddProjection(s.Projection()); err != nil {
		e.t.Fatalf("add projection: %v", err)
	}
	e.st, e.s = st, s
}

// close shuts both down cleanly (the scheduler commits).
func (e *env) close() {
	if e.s != nil {
		if err := e.s.Close(); err != nil {
			e.t.Errorf("close scheduler: %v", err)
		}
		e.s = nil
	}
	if e.st != nil {
		e.st.Close()
		e.st = nil
	}
}

// crash drops the scheduler without committing what it did since its last commit, as
// a kill -9 would; the store keeps its log (a process crash keeps the page cache).
func (e *env) crash() {
	e.s.batch.Close()
	e.s.db.Close()
	e.s = nil
	e.st.Close()
	e.st = nil
}

// restart reopens both.
func (e *env) restart() {
	e.close()
	e.open()
}

// at steps the scheduler at t0+d and returns when it wants to run next, relative to t0.
func (e *env) at(d time.Duration) time.Duration {
	e.t.Helper()
	now := t0.Add(d)
	e.clk.Set(now)
	return e.s.step(now).Sub(t0)
}

// t0 is the clock's start.
var t0 = time.UnixMilli(1_700_000_000_000)

var (
	born  = netip.MustParseAddrPort("10.0.0.1:40000")
	host  = netip.MustParseAddrPort("10.0.0.2:10911")
	props = func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
)

// putDelayed stores a delay-level record as the broker's send path does: in
// SCHEDULE_TOPIC_XXXX queue level-1, with REAL_TOPIC and REAL_QID.
func (e *env) putDelayed(level int, topic string, qid int32, body string) store.PutResult {
	e.t.Helper()
	return e.put(&message.Ext{Topic: TopicSchedule, QueueID: int32(level - 1), Body: []byte(body),
		BornTimestamp: e.clk.Now().UnixMilli(), BornHost: born, StoreHost: host, ReconsumeTimes: 2,
		Properties: props(message.PropDelay, strconv.Itoa(level), message.PropRealTopic, topic,
			message.PropRealQueueID, strconv.Itoa(int(qid)), message.PropTags, "tg", "k", body)})
}

// putTimer stores a timer record due at deliver.
func (e *env) putTimer(deliver time.Time, topic, uniq, body string) store.PutResult {
	e.t.Helper()
	return e.put(&message.Ext{Topic: TopicTimer, Body: []byte(body),
		BornTimestamp: e.clk.Now().UnixMilli(), BornHost: born, StoreHost: host,
		Properties: props(message.PropTimerOutMS, strconv.FormatInt(deliver.UnixMilli(), 10),
			message.PropTimerDelayMS, "1", message.PropRealTopic, topic, message.PropRealQueueID, "1",
			message.PropUniqKey, uniq)})
}

func (e *env) put(m *message.Ext) store.PutResult {
	e.t.Helper()
	rec, err := message.EncodeRecord(nil, m)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.st.Put(rec)
	if err != nil {
		e.t.Fatalf("put: %v", err)
	}
	// Wait until dispatched, so the projection has seen it.
	testutil.Eventually(e.t, 10*time.Second, "dispatch", func() bool { return e.st.Stats().DispatchedOffset >= r.EndOffset })
	return r
}

// delivered returns the bodies in (topic, qid) and checks every copy's marker.
func (e *env) delivered(topic string, qid int32) []*message.Ext {
	e.t.Helper()
	// The projection and the queue see copies only once dispatched.
	testutil.Eventually(e.t, 10*time.Second, "dispatch", func() bool { return e.st.Stats().DispatchedOffset >= e.st.MaxPhysicalOffset() })
	res := e.st.GetMessages(topic, qid, 0, 1000, 0, nil)
	var out []*message.Ext
	for _, rec := range res.Records {
		m, _, err := message.DecodeRecord(rec)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func bodies(ms []*message.Ext) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Body))
	}
	return out
}

func fmtBodies(ms []*message.Ext) string { return fmt.Sprint(bodies(ms)) }
