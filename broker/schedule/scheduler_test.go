package schedule

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// TestLevelDeliveredWhenDue checks that a delay-level message reaches its real topic
// exactly at its level's delay after it was stored, never before, as a faithful copy.
func TestLevelDeliveredWhenDue(t *testing.T) {
	e := newEnv(t, "1s 5s")
	e.putDelayed(2, "Real", 3, "m1")
	// Due 1 ms after stamp + delay: stamps are whole milliseconds.
	if next := e.at(0); next > 5001*time.Millisecond {
		t.Fatalf("next wake %v, want by 5.001s", next)
	}
	e.at(5 * time.Second)
	if got := e.delivered("Real", 3); len(got) != 0 {
		t.Fatalf("delivered %v before the 5 s delay", fmtBodies(got))
	}
	e.at(5001 * time.Millisecond)
	got := e.delivered("Real", 3)
	if len(got) != 1 {
		t.Fatalf("delivered %d messages at 5 s, want 1", len(got))
	}
	m := got[0]
	if string(m.Body) != "m1" || m.Properties[message.PropTags] != "tg" || m.Properties["k"] != "m1" ||
		m.ReconsumeTimes != 2 || m.BornHost != born || m.StoreHost != host {
		t.Fatalf("copy %+v does not match the scheduled message", m)
	}
	if _, ok := m.Properties[message.PropDelay]; ok {
		t.Errorf("copy keeps DELAY: %v", m.Properties)
	}
	if m.Properties[message.PropRealTopic] != "Real" || m.Properties[PropFrom] != "L2:0" {
		t.Errorf("copy properties %v, want REAL_TOPIC and %s=L2:0", m.Properties, PropFrom)
	}
	if s := e.s.Stats(); s.LevelDelivered != 1 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestLevelsDeliverInQueueOrder stores messages on two levels at different times and
// checks each arrives at store time + its level's delay, in order.
func TestLevelsDeliverInQueueOrder(t *testing.T) {
	e := newEnv(t, "1s 3s")
	e.putDelayed(2, "R", 0, "a") // due 3s
	e.clk.Set(t0.Add(500 * time.Millisecond))
	e.putDelayed(1, "R", 0, "b") // due 1.5s
	e.putDelayed(2, "R", 0, "c") // due 3.5s
	steps := []struct {
		at   time.Duration
		want string
		next time.Duration
	}{
		{1500 * time.Millisecond, "[]", 1501 * time.Millisecond},
		{1501 * time.Millisecond, "[b]", 3001 * time.Millisecond},
		{3001 * time.Millisecond, "[b a]", 3501 * time.Millisecond},
		{3501 * time.Millisecond, "[b a c]", 10 * time.Second}, // nothing left: the applied commit
	}
	for _, s := range steps {
		next := e.at(s.at)
		if got := fmtBodies(e.delivered("R", 0)); got != s.want {
			t.Fatalf("at %v: delivered %s, want %s", s.at, got, s.want)
		}
		if next > s.next {
			t.Fatalf("at %v: next wake %v, want by %v", s.at, next, s.next)
		}
	}
}

// TestTimersDeliverInDueOrder stores timers out of order, one beyond the in-memory
// window, and checks each is delivered at its due time and not before.
func TestTimersDeliverInDueOrder(t *testing.T) {
	e := newEnv(t, "1s")
	e.putTimer(t0.Add(10*time.Second), "T", "u10", "ten")
	e.putTimer(t0.Add(time.Second), "T", "u1", "one")
	e.putTimer(t0.Add(3*time.Second), "T", "u3", "three")
	e.putTimer(t0.Add(40*time.Second), "T", "u40", "forty") // beyond the 10 s window
	if next := e.at(0); next != time.Second {
		t.Fatalf("next wake %v, want 1s", next)
	}
	if n := e.s.Stats().TimersInMemory; n != 3 {
		t.Fatalf("%d timers in memory, want the 3 within the window", n)
	}
	for _, s := range []struct {
		at   time.Duration
		want string
	}{
		{999 * time.Millisecond, "[]"},
		{time.Second, "[one]"},
		{2999 * time.Millisecond, "[one]"},
		{3 * time.Second, "[one three]"},
		{9999 * time.Millisecond, "[one three]"},
		{10 * time.Second, "[one three ten]"},
		{35 * time.Second, "[one three ten]"},
		{39999 * time.Millisecond, "[one three ten]"},
		{40 * time.Second, "[one three ten forty]"},
	} {
		e.at(s.at)
		got := e.delivered("T", 1)
		if b := fmtBodies(got); b != s.want {
			t.Fatalf("at %v: delivered %s, want %s", s.at, b, s.want)
		}
	}
	for _, m := range e.delivered("T", 1) {
		if !strings.HasPrefix(m.Properties[PropFrom], "T") || m.Properties[message.PropTimerDelayMS] != "" {
			t.Errorf("copy properties %v", m.Properties)
		}
	}
	if s := e.s.Stats(); s.TimerDelivered != 4 || s.TimersInMemory != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRestartKeepsPending checks that pending timers and levels survive a clean
// restart and are delivered once, afterwards.
func TestRestartKeepsPending(t *testing.T) {
	e := newEnv(t, "2s")
	e.putDelayed(1, "R", 0, "d1")
	e.putTimer(t0.Add(30*time.Second), "R", "u", "t30")
	e.putTimer(t0.Add(time.Second), "R", "u1", "t1")
	e.at(time.Second) // t1 delivered, committed on close
	e.restart()
	e.at(2 * time.Second)
	if got := fmtBodies(e.delivered("R", 0)); got != "[]" {
		t.Fatalf("level delivered early after restart: %s", got)
	}
	e.at(2001 * time.Millisecond)
	e.at(30 * time.Second)
	if got := fmtBodies(e.delivered("R", 0)); got != "[d1]" {
		t.Fatalf("level queue after restart %s, want [d1]", got)
	}
	if got := fmtBodies(e.delivered("R", 1)); got != "[t1 t30]" {
		t.Fatalf("timers after restart %s, want [t1 t30] (t1 once)", got)
	}
}

// TestCrashBetweenDeliveryAndCommit is the exactly-once case: the scheduler delivered
// (the copies are in the log) but died before its index recorded it. The copies found
// in the log on restart stop a second delivery.
func TestCrashBetweenDeliveryAndCommit(t *testing.T) {
	e := newEnv(t, "1s")
	e.putDelayed(1, "R", 0, "d1")
	e.putDelayed(1, "R", 0, "d2")
	e.putTimer(t0.Add(time.Second), "R", "u1", "t1")
	e.putTimer(t0.Add(5*time.Second), "R", "u5", "t5")
	e.at(1001 * time.Millisecond) // d1, d2, t1 delivered; nothing committed (CommitInterval is 1 h)
	e.crash()
	e.open()
	e.at(1001 * time.Millisecond)
	e.at(5 * time.Second)
	if got := fmtBodies(e.delivered("R", 0)); got != "[d1 d2]" {
		t.Fatalf("level after crash %s, want [d1 d2] exactly once", got)
	}
	if got := fmtBodies(e.delivered("R", 1)); got != "[t1 t5]" {
		t.Fatalf("timers after crash %s, want [t1 t5] exactly once", got)
	}
	// And once more, after a crash with the index committed in between.
	e.putDelayed(1, "R", 0, "d3")
	e.s.commit(e.clk.Now())
	e.at(6001 * time.Millisecond)
	e.crash()
	e.open()
	e.at(7 * time.Second)
	if got := fmtBodies(e.delivered("R", 0)); got != "[d1 d2 d3]" {
		t.Fatalf("level after second crash %s, want [d1 d2 d3]", got)
	}
}

// TestCancelTimer cancels a pending timer by unique key: it is never delivered, also
// not after a crash, and a second cancel finds nothing.
func TestCancelTimer(t *testing.T) {
	e := newEnv(t, "1s")
	e.putTimer(t0.Add(2*time.Second), "R", "KEEP", "keep")
	e.putTimer(t0.Add(2*time.Second), "R", "DROP", "drop")
	e.at(0)
	testutil.Eventually(e.t, 10*time.Second,

		"key index", func() bool {
			offs, _ := e.st.QueryByKey(TopicTimer, "DROP", 0, 1<<62, 4)
			return len(offs) == 1
		})

	if n, err := e.s.cancel("Other", "DROP"); err != nil || n != 0 {
		t.Fatalf("cancel on another topic: %d, %v; want 0", n, err)
	}
	if n, err := e.s.cancel("R", "DROP"); err != nil || n != 1 {
		t.Fatalf("cancel: %d, %v; want 1", n, err)
	}
	if n, err := e.s.cancel("R", "DROP"); err != nil || n != 0 {
		t.Fatalf("second cancel: %d, %v; want 0", n, err)
	}
	e.crash()
	e.open()
	e.at(2 * time.Second)
	if got := fmtBodies(e.delivered("R", 1)); got != "[keep]" {
		t.Fatalf("delivered %s, want only [keep]", got)
	}
	if n, err := e.s.cancel("R", "KEEP"); err != nil || n != 0 {
		t.Fatalf("cancel after delivery: %d, %v; want 0", n, err)
	}
}

// TestUndeliverableDropped checks that a scheduled record naming no real topic is
// dropped (and counted) without blocking the records behind it.
func TestUndeliverableDropped(t *testing.T) {
	e := newEnv(t, "1s")
	e.put(&message.Ext{Topic: TopicSchedule, Body: []byte("bad"), BornHost: born, StoreHost: host,
		Properties: props(message.PropDelay, "1")})
	e.putDelayed(1, "R", 0, "good")
	e.at(1001 * time.Millisecond)
	if got := fmtBodies(e.delivered("R", 0)); got != "[good]" {
		t.Fatalf("delivered %s, want [good]", got)
	}
	if s := e.s.Stats(); s.Dropped != 1 || s.LevelDelivered != 1 {
		t.Fatalf("stats %+v, want 1 dropped and 1 delivered", s)
	}
}

// TestProjectionIgnoresOthers checks that ordinary records, prepared transaction
// records and malformed markers queue nothing.
func TestProjectionIgnoresOthers(t *testing.T) {
	ls, _ := ParseLevels("1s")
	p := &projection{levels: ls}
	enc := func(m *message.Ext) []byte {
		b, err := message.EncodeRecord(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	recs := [][]byte{
		enc(&message.Ext{Topic: "Plain", Properties: props("TAGS", "a")}),
		enc(&message.Ext{Topic: "Plain", Properties: props(PropFrom, "X1:2")}),
		enc(&message.Ext{Topic: "Plain", Properties: props(PropFrom, "L9:2")}), // level 9 of 1
		enc(&message.Ext{Topic: "Plain", SysFlag: message.TxPreparedType, Properties: props(PropFrom, "L1:2")}),
		enc(&message.Ext{Topic: TopicTimer, Properties: props(message.PropTimerOutMS, "x")}),
		enc(&message.Ext{Topic: TopicSchedule, QueueID: 5}),
	}
	for i, r := range recs {
		if err := p.Apply(r, int64(i*1000)); err != nil {
			t.Fatal(err)
		}
	}
	if ops := p.take(nil); len(ops) != 0 {
		t.Fatalf("queued %+v, want nothing", ops)
	}
	if got, want := p.pos.Load(), int64(5000+len(recs[5])); got != want {
		t.Fatalf("pos %d, want %d", got, want)
	}
	p.Apply(enc(&message.Ext{Topic: "Plain", Properties: props(PropFrom, "L1:7")}), 9000)
	p.Apply(enc(&message.Ext{Topic: "Plain", Properties: props(PropFrom, "T5:6")}), 9500)
	ops := p.take(nil)
	if len(ops) != 2 || ops[0] != (op{kind: opDoneLevel, level: 1, qoff: 7}) ||
		ops[1] != (op{kind: opDoneTimer, deliverMS: 5, phys: 6}) {
		t.Fatalf("ops %+v", ops)
	}
}

// TestTruncateForgetsTimersPastCut checks the projection's Truncate: timers whose
// records are past the cut are forgotten, the ones before kept.
func TestTruncateForgetsTimersPastCut(t *testing.T) {
	e := newEnv(t, "1s")
	a := e.putTimer(t0.Add(time.Minute), "R", "a", "a")
	b := e.putTimer(t0.Add(time.Minute), "R", "b", "b")
	e.at(0)
	e.s.commit(e.clk.Now())
	if err := e.s.proj.Truncate(b.PhysicalOffset); err != nil {
		t.Fatal(err)
	}
	keep := timerKey(t0.Add(time.Minute).UnixMilli(), a.PhysicalOffset)
	gone := timerKey(t0.Add(time.Minute).UnixMilli(), b.PhysicalOffset)
	for k, want := range map[string]bool{string(keep): true, string(gone): false} {
		_, c, err := e.s.db.Get([]byte(k))
		if (err == nil) != want {
			t.Errorf("key %x present %v, want %v", k, err == nil, want)
		}
		if err == nil {
			c.Close()
		}
	}
	if got := e.s.proj.Applied(); got != b.PhysicalOffset {
		t.Errorf("applied %d, want %d", got, b.PhysicalOffset)
	}
}

// TestLoopRealTime runs the scheduler goroutine on the real clock: a timer 300 ms out
// is delivered no earlier and within 100 ms after, and Cancel goes through the loop.
func TestLoopRealTime(t *testing.T) {
	st, s := openRealTime(t)
	s.Start(context.Background())
	due := time.Now().Add(300 * time.Millisecond)
	put := func(deliver time.Time, uniq string) {
		rec, _ := message.EncodeRecord(nil, &message.Ext{Topic: TopicTimer, Body: []byte(uniq), BornHost: born, StoreHost: host,
			Properties: props(message.PropTimerOutMS, itoa(deliver.UnixMilli()), message.PropRealTopic, "RT",
				message.PropRealQueueID, "0", message.PropUniqKey, uniq)})
		if _, err := st.Put(rec); err != nil {
			t.Fatal(err)
		}
	}
	put(due, "A")
	put(due.Add(time.Hour), "B")
	// A plain timer due at the same instant measures how late this machine runs
	// goroutines right now; the scheduler may be that much later on top of 100 ms.
	control := make(chan time.Time, 1)
	time.AfterFunc(time.Until(due), func() { control <- time.Now() })
	deadline := time.Now().Add(5 * time.Second)
	var arrived time.Time
	for time.Now().Before(deadline) {
		if r := st.GetMessages("RT", 0, 0, 10, 0, nil); len(r.Records) > 0 {
			arrived = time.Now()
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if arrived.IsZero() {
		t.Fatal("timer not delivered within 5 s")
	}
	slack := (<-control).Sub(due)
	if arrived.Before(due) || arrived.Sub(due) > 100*time.Millisecond+slack {
		t.Fatalf("delivered %v after due (a plain timer fired %v late), want within [0, 100ms]", arrived.Sub(due), slack)
	}
	var n int
	var err error
	for time.Now().Before(deadline) {
		if n, err = s.Cancel(context.Background(), "RT", "B"); err != nil || n == 1 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err != nil || n != 1 {
		t.Fatalf("cancel: %d, %v", n, err)
	}
	if s.Stats().Cancelled != 1 {
		t.Fatalf("stats %+v", s.Stats())
	}
}

// openRealTime opens a store and a scheduler on the real clock; both close at cleanup.
func openRealTime(t *testing.T) (*store.Store, *Scheduler) {
	t.Helper()
	dir := t.TempDir()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	so := store.DefaultOptions()
	so.Dir = filepath.Join(dir, "store")
	so.CommitLogSegmentBytes = 1 << 20
	so.ConsumeQueueUnits = 256
	so.DiskWarnRatio, so.DiskMaxRatio = 1, 1
	so.Logger = log
	st, err := store.Open(so)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: filepath.Join(dir, "schedule"), Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddProjection(s.Projection()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		st.Close()
	})
	return st, s
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
