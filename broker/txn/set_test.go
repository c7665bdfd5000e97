package txn

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

var (
	host  = netip.MustParseAddrPort("10.0.0.1:10911")
	born  = netip.MustParseAddrPort("10.0.0.2:50000")
	epoch = time.UnixMilli(1_700_000_000_000)
)

// logSim appends records the way the store does (assigning the physical offset, the
// queue offset per topic/queue and the store time) and feeds them to a set.
type logSim struct {
	t      testing.TB
	set    *Set
	end    int64
	queues map[string]int64
	now    time.Time
	recs   map[int64][]byte
}

func newLogSim(t testing.TB) *logSim {
	return &logSim{t: t, set: New(0), queues: map[string]int64{}, now: epoch, recs: map[int64][]byte{}}
}

// put stores one encoded record and applies it; it returns the physical and queue
// offsets.
func (l *logSim) put(rec []byte) (int64, int64) {
	l.t.Helper()
	m, _, err := message.DecodeRecord(rec)
	if err != nil {
		l.t.Fatalf("put: %v", err)
	}
	off := l.end
	var qoff int64
	if tt := message.TxType(m.SysFlag); tt == message.TxNotType || tt == message.TxCommitType {
		key := m.Topic + "/" + strconv.Itoa(int(m.QueueID))
		qoff = l.queues[key]
		l.queues[key]++
	}
	rec = append([]byte(nil), rec...)
	message.PatchRecord(rec, qoff, off, l.now.UnixMilli())
	if err := l.set.Apply(rec, off); err != nil {
		l.t.Fatalf("apply at %d: %v", off, err)
	}
	l.recs[off] = rec
	l.end += int64(len(rec))
	return off, qoff
}

// half stores a half message of group bound for topic/qid with extra properties.
func (l *logSim) half(group, topic string, qid int32, uniq string, extra map[string]string) (int64, int64) {
	l.t.Helper()
	props := map[string]string{message.PropTranMsg: "true", message.PropUniqKey: uniq, message.PropTags: "tagA"}
	for k, v := range extra {
		props[k] = v
	}
	p := HalfProperties(message.EncodeProperties(props), topic, qid, group)
	m := message.Ext{Topic: HalfTopic, BornTimestamp: l.now.UnixMilli(), BornHost: born, StoreHost: host,
		Body: []byte("body of " + uniq), Flag: 7}
	rec, err := message.EncodeRecordProps(nil, &m, p)
	if err != nil {
		l.t.Fatal(err)
	}
	return l.put(rec)
}

// plain stores an ordinary message.
func (l *logSim) plain(topic string) int64 {
	l.t.Helper()
	m := message.Ext{Topic: topic, BornHost: born, StoreHost: host, Body: []byte("x"),
		Properties: map[string]string{message.PropTags: "t"}}
	rec, err := message.EncodeRecord(nil, &m)
	if err != nil {
		l.t.Fatal(err)
	}
	off, _ := l.put(rec)
	return off
}

func (l *logSim) commit(off int64) {
	l.t.Helper()
	rec, err := CommitRecord(nil, l.recs[off], off)
	if err != nil {
		l.t.Fatalf("commit record: %v", err)
	}
	l.put(rec)
}

func (l *logSim) op(tag string, qoffs ...int64) {
	l.t.Helper()
	recs, err := OpRecords(nil, tag, qoffs, host, l.now.UnixMilli())
	if err != nil {
		l.t.Fatal(err)
	}
	for len(recs) > 0 {
		n := message.RecordTotalSize(recs)
		l.put(recs[:n])
		recs = recs[n:]
	}
}

func TestApplyTracksHalfMessages(t *testing.T) {
	l := newLogSim(t)
	l.plain("Orders")
	p1, q1 := l.half("pg", "Orders", 3, "U1", map[string]string{message.PropCheckImmunity: "30"})
	l.plain("Orders")
	p2, q2 := l.half("pg2", "Pay", 0, "U2", nil)
	if q1 != 0 || q2 != 1 {
		t.Fatalf("half queue offsets %d, %d; want 0, 1", q1, q2)
	}
	e, ok := l.set.Get(p1)
	if !ok {
		t.Fatalf("half at %d not pending", p1)
	}
	want := Entry{Offset: p1, QueueOffset: 0, Group: "pg", Topic: "Orders", QueueID: 3, UniqKey: "U1",
		StoreTime: epoch, Immunity: 30 * time.Second}
	if e != want {
		t.Fatalf("entry: got %+v\nwant %+v", e, want)
	}
	if l.set.Len() != 2 || l.set.Applied() != l.end {
		t.Fatalf("len %d applied %d; want 2, %d", l.set.Len(), l.set.Applied(), l.end)
	}
	list, total := l.set.List("pg2", 10)
	if total != 1 || len(list) != 1 || list[0].Offset != p2 || list[0].Group != "pg2" {
		t.Fatalf("list pg2: %+v (total %d)", list, total)
	}
	all, total := l.set.List("", 1)
	if total != 2 || len(all) != 1 || all[0].Offset != p1 {
		t.Fatalf("list all limit 1: %+v (total %d), want the oldest (%d)", all, total, p1)
	}
}

func TestResolutions(t *testing.T) {
	l := newLogSim(t)
	pc, _ := l.half("pg", "T", 1, "C", nil)
	pr, qr := l.half("pg", "T", 1, "R", nil)
	pk, qk := l.half("pg", "T", 2, "K", nil)
	pd, _ := l.half("pg", "T", 2, "D", nil)

	l.commit(pc)
	l.op(OpTagRemoved, qr)
	l.now = l.now.Add(time.Second)
	l.op(OpTagChecked, qk, 999) // 999 is no pending half: ignored
	l.op(OpTagChecked, qk)
	rec, err := DiscardRecord(nil, l.recs[pd], pd, 2)
	if err != nil {
		t.Fatal(err)
	}
	l.put(rec)

	for _, c := range []struct {
		off  int64
		want Outcome
	}{{pc, OutcomeCommitted}, {pr, OutcomeRolledBack}, {pd, OutcomeDiscarded}} {
		if _, ok := l.set.Get(c.off); ok {
			t.Errorf("half at %d still pending", c.off)
		}
		if got, ok := l.set.Resolution(c.off); !ok || got != c.want {
			t.Errorf("resolution of %d: got %v (%v), want %v", c.off, got, ok, c.want)
		}
	}
	e, ok := l.set.Get(pk)
	if !ok || e.Checks != 2 || !e.LastCheck.Equal(l.now) {
		t.Fatalf("checked entry: %+v (pending %v), want 2 checks at %v", e, ok, l.now)
	}
	// A commit of pk's message into another queue (a retry copy keeps the sysflag)
	// resolves nothing.
	m, _, _ := message.DecodeRecord(l.recs[pk])
	m.Topic, m.QueueID = "%RETRY%cg", 0
	m.SysFlag |= message.TxCommitType
	m.PreparedTransactionOffset = pk
	copyRec, _ := message.EncodeRecord(nil, m)
	l.put(copyRec)
	if _, ok := l.set.Get(pk); !ok {
		t.Fatalf("a commit-flagged copy in another topic resolved the half at %d", pk)
	}
	// Nor does a second commit of an already committed half change anything.
	l.commit(pc)
	if got, _ := l.set.Resolution(pc); got != OutcomeCommitted || l.set.Len() != 1 {
		t.Fatalf("after a repeated commit: resolution %v, %d pending", got, l.set.Len())
	}
}

func TestClaim(t *testing.T) {
	l := newLogSim(t)
	p, q := l.half("pg", "T", 0, "U", nil)
	if _, st, _ := l.set.Claim(p+1, OutcomeCommitted); st != NotPending {
		t.Fatalf("claim of a non-half offset: status %v", st)
	}
	e, st, _ := l.set.Claim(p, OutcomeCommitted)
	if st != Claimed || e.QueueOffset != q {
		t.Fatalf("first claim: status %v entry %+v", st, e)
	}
	if _, st, o := l.set.Claim(p, OutcomeRolledBack); st != InProgress || o != OutcomeCommitted {
		t.Fatalf("second claim: status %v outcome %v, want InProgress committed", st, o)
	}
	if acts := l.set.Due(epoch.Add(time.Hour), Policy{Interval: time.Second, Timeout: time.Second, MaxChecks: 5}); len(acts) != 0 {
		t.Fatalf("claimed entry scheduled: %+v", acts)
	}
	l.set.Release(p)
	if _, st, _ := l.set.Claim(p, OutcomeRolledBack); st != Claimed {
		t.Fatalf("claim after release: %v", st)
	}
	l.op(OpTagRemoved, q)
	if _, st, o := l.set.Claim(p, OutcomeCommitted); st != Resolved || o != OutcomeRolledBack {
		t.Fatalf("claim after rollback: status %v outcome %v", st, o)
	}
}

func TestRecentResolutionsAreBounded(t *testing.T) {
	s := New(0)
	s.mu.Lock()
	for i := int64(0); i < recentCap+10; i++ {
		s.mu.pending[i] = &Entry{Offset: i, QueueOffset: i}
		s.resolveLocked(i, OutcomeCommitted)
	}
	n := len(s.mu.recent)
	s.mu.Unlock()
	if n != recentCap {
		t.Fatalf("remembered %d resolutions, want %d", n, recentCap)
	}
	if _, ok := s.Resolution(5); ok {
		t.Fatalf("oldest resolution still remembered")
	}
	if o, ok := s.Resolution(recentCap + 9); !ok || o != OutcomeCommitted {
		t.Fatalf("newest resolution forgotten")
	}
}

func TestWaitApplied(t *testing.T) {
	l := newLogSim(t)
	p, _ := l.half("pg", "T", 0, "U", nil)
	if err := l.set.WaitApplied(context.Background(), p); err != nil {
		t.Fatalf("wait for an applied record: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.set.WaitApplied(ctx, l.end); err == nil {
		t.Fatalf("wait for an unapplied record returned without error")
	}
	done := make(chan error, 1)
	next := l.end
	go func() { done <- l.set.WaitApplied(context.Background(), next) }()
	// The waiter may register before or after the record is applied; either way it
	// must return.
	l.plain("T")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter not woken by Apply")
	}
	if l.set.nwaiters.Load() != 0 {
		t.Fatalf("%d waiters left registered", l.set.nwaiters.Load())
	}
}

func TestTruncate(t *testing.T) {
	l := newLogSim(t)
	p1, _ := l.half("pg", "T", 0, "A", nil)
	p2, _ := l.half("pg", "T", 0, "B", nil)
	if err := l.set.Truncate(p2); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.set.Get(p2); ok {
		t.Fatalf("half at the cut survived")
	}
	if _, ok := l.set.Get(p1); !ok || l.set.Applied() != p2 {
		t.Fatalf("half before the cut lost, or applied %d != %d", l.set.Applied(), p2)
	}
}

func TestImmunityParsing(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "15": 15 * time.Second, "-3": 0, "x": 0, "99999999999999999": maxImmunity,
	} {
		if got := immunity(in); got != want {
			t.Errorf("immunity(%q) = %v, want %v", in, got, want)
		}
	}
}

// describeActions renders actions as "check@offset" / "discard@offset" in order.
func describeActions(acts []Action) string {
	var parts []string
	for _, a := range acts {
		kind := "check"
		if a.Kind == Discard {
			kind = "discard"
		}
		parts = append(parts, kind+"@"+itoa(a.Entry.Offset))
	}
	return strings.Join(parts, " ")
}

func itoa(n int64) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int64) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestDueSchedule drives one half message through a check schedule with a hand-moved
// clock: no check before the timeout, one per interval after it, given up after
// MaxChecks, and each check recorded only through the op records.
func TestDueSchedule(t *testing.T) {
	l := newLogSim(t)
	p, q := l.half("pg", "T", 0, "U", nil)
	pol := Policy{Interval: 10 * time.Second, Timeout: 6 * time.Second, MaxChecks: 3, Retention: 72 * time.Hour}
	now := epoch

	if acts := l.set.Due(now.Add(5*time.Second), pol); len(acts) != 0 {
		t.Fatalf("checked before the timeout: %s", describeActions(acts))
	}
	for i := 1; i <= 3; i++ {
		now = now.Add(pol.Interval)
		acts := l.set.Due(now, pol)
		if got, want := describeActions(acts), "check@"+itoa(p); got != want {
			t.Fatalf("round %d: %q, want %q", i, got, want)
		}
		l.set.MarkChecked(p, now)
		// A round run again at once does not check twice.
		if again := l.set.Due(now.Add(time.Second), pol); len(again) != 0 {
			t.Fatalf("round %d repeated: %s", i, describeActions(again))
		}
		l.now = now
		l.op(OpTagChecked, q)
	}
	now = now.Add(pol.Interval)
	acts := l.set.Due(now, pol)
	if got, want := describeActions(acts), "discard@"+itoa(p); got != want {
		t.Fatalf("after %d checks: %q, want %q", pol.MaxChecks, got, want)
	}
	if !strings.Contains(acts[0].Reason, "checked 3 times") {
		t.Fatalf("discard reason %q", acts[0].Reason)
	}
}

func TestDueImmunityRetentionAndOrder(t *testing.T) {
	l := newLogSim(t)
	pOld, _ := l.half("pg", "T", 0, "OLD", nil)
	l.now = epoch.Add(time.Minute)
	pImm, _ := l.half("pg", "T", 0, "IMM", map[string]string{message.PropCheckImmunity: "70"})
	pA, _ := l.half("pg", "T", 0, "A", nil)
	pB, _ := l.half("pg", "T", 0, "B", nil)
	l.set.MarkChecked(pA, epoch.Add(90*time.Second))

	pol := Policy{Interval: 10 * time.Second, Timeout: 6 * time.Second, MaxChecks: 15, Retention: 100 * time.Second}
	// At +2m: OLD is past retention; IMM is 60 s old, immune for 70 s; B was never
	// checked, A was checked 30 s ago: B goes before A.
	acts := l.set.Due(epoch.Add(2*time.Minute), pol)
	if got, want := describeActions(acts), "discard@"+itoa(pOld)+" check@"+itoa(pB)+" check@"+itoa(pA); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !strings.Contains(acts[0].Reason, "retention") {
		t.Fatalf("discard reason %q", acts[0].Reason)
	}
	pol.MaxPerRound = 1
	// At +2m15s IMM is due too; never checked, it goes first, and only one check fits.
	acts = l.set.Due(epoch.Add(2*time.Minute+15*time.Second), pol)
	if got, want := describeActions(acts), "discard@"+itoa(pOld)+" check@"+itoa(pImm); got != want {
		t.Fatalf("bounded round: got %q, want %q", got, want)
	}
}

// BenchmarkApplyPlain is what the projection adds to the dispatch of every ordinary
// record: a sysflag and topic comparison.
func BenchmarkApplyPlain(b *testing.B) {
	m := message.Ext{Topic: "BenchmarkOrders", BornHost: born, StoreHost: host, Body: make([]byte, 1024),
		Properties: map[string]string{message.PropTags: "t", message.PropUniqKey: "0A0000010000000000000000000000"}}
	rec, _ := message.EncodeRecord(nil, &m)
	s := New(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Apply(rec, int64(i)*int64(len(rec)))
	}
}

// BenchmarkApplyTransaction applies a half message and its commit: the projection's
// work per committed transaction.
func BenchmarkApplyTransaction(b *testing.B) {
	l := newLogSim(b)
	p, _ := l.half("pg", "Orders", 1, "0A0000010000000000000000000000", nil)
	half := l.recs[p]
	commit, _ := CommitRecord(nil, half, p)
	b.ReportAllocs()
	b.SetBytes(int64(len(half) + len(commit)))
	b.ResetTimer()
	off := int64(0)
	s := New(0)
	for i := 0; i < b.N; i++ {
		message.PatchRecord(half, int64(i), off, time.Now().UnixMilli())
		_ = s.Apply(half, off)
		// The commit names this half message (IPv4 hosts: the field is at 76).
		binary.BigEndian.PutUint64(commit[76:], uint64(off))
		_ = s.Apply(commit, off+int64(len(half)))
		off += int64(len(half) + len(commit))
	}
	if s.Len() != 0 {
		b.Fatalf("%d transactions left pending", s.Len())
	}
}
