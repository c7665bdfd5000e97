package txn

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/rocketgo/rocketgo/proto/message"
)

// TestSetDataDriven runs the scripts of testdata/: each appends half messages and the
// records that resolve them to a simulated CommitLog feeding a Set, asks it for check
// rounds, and prints what it holds. Messages are named; times are the simulated log
// clock, printed as +duration from the script's start.
//
//	half name=N group=G topic=T queue=Q [immunity=SECONDS]
//	plain topic=T                  an ordinary message in between
//	advance D                      move the log clock
//	commit name=N                  the commit record END_TRANSACTION appends
//	rollback names=(N, ...)          op record "d" (removed)
//	checked names=(N, ...)           op record "c" (a check-back was sent)
//	discard name=N checks=C        the record that gives a message up
//	claim name=N outcome=commit|rollback
//	release name=N
//	mark-checked name=N
//	truncate name=N                forget N and everything after it
//	due interval=D timeout=D max-checks=C [retention=D] [max-per-round=C]
//	state
func TestSetDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		l := newLogSim(t)
		offs := map[string]int64{}  // name → physical offset
		qoffs := map[string]int64{} // name → half queue offset
		names := map[int64]string{}
		name := func(d *datadriven.TestData) (string, int64) {
			var n string
			d.ScanArgs(t, "name", &n)
			off, ok := offs[n]
			if !ok {
				d.Fatalf(t, "no half message %s", n)
			}
			return n, off
		}
		queueOffsets := func(d *datadriven.TestData) []int64 {
			var ns []string
			d.ScanArgs(t, "names", &ns)
			var out []int64
			for _, n := range ns {
				q, ok := qoffs[n]
				if !ok {
					d.Fatalf(t, "no half message %s", n)
				}
				out = append(out, q)
			}
			return out
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "half":
				var n, group, topic string
				var queue int
				d.ScanArgs(t, "name", &n)
				d.ScanArgs(t, "group", &group)
				d.ScanArgs(t, "topic", &topic)
				d.ScanArgs(t, "queue", &queue)
				extra := map[string]string{}
				if d.HasArg("immunity") {
					var imm string
					d.ScanArgs(t, "immunity", &imm)
					extra[message.PropCheckImmunity] = imm
				}
				off, q := l.half(group, topic, int32(queue), n, extra)
				offs[n], qoffs[n], names[off] = off, q, n
				return fmt.Sprintf("%s at half-queue offset %d\n", n, q)
			case "plain":
				var topic string
				d.ScanArgs(t, "topic", &topic)
				l.plain(topic)
				return "ok\n"
			case "advance":
				v, err := time.ParseDuration(d.CmdArgs[0].Key)
				if err != nil {
					d.Fatalf(t, "advance: %v", err)
				}
				l.now = l.now.Add(v)
				return fmt.Sprintf("now +%v\n", l.now.Sub(epoch))
			case "commit":
				_, off := name(d)
				l.commit(off)
			case "rollback":
				l.op(OpTagRemoved, queueOffsets(d)...)
			case "checked":
				l.op(OpTagChecked, queueOffsets(d)...)
			case "discard":
				_, off := name(d)
				var checks int
				d.ScanArgs(t, "checks", &checks)
				rec, err := DiscardRecord(nil, l.recs[off], off, checks)
				if err != nil {
					d.Fatalf(t, "discard record: %v", err)
				}
				l.put(rec)
			case "claim":
				_, off := name(d)
				var o string
				d.ScanArgs(t, "outcome", &o)
				want := map[string]Outcome{"commit": OutcomeCommitted, "rollback": OutcomeRolledBack}[o]
				_, st, other := l.set.Claim(off, want)
				status := [...]string{Claimed: "claimed", InProgress: "in progress", Resolved: "resolved", NotPending: "not pending"}[st]
				if st == InProgress || st == Resolved {
					return fmt.Sprintf("%s (%v)\n", status, other)
				}
				return status + "\n"
			case "release":
				_, off := name(d)
				l.set.Release(off)
			case "mark-checked":
				_, off := name(d)
				l.set.MarkChecked(off, l.now)
			case "truncate":
				_, off := name(d)
				if err := l.set.Truncate(off); err != nil {
					d.Fatalf(t, "truncate: %v", err)
				}
			case "due":
				var p Policy
				var s string
				d.ScanArgs(t, "interval", &s)
				p.Interval = mustDuration(t, d, s)
				d.ScanArgs(t, "timeout", &s)
				p.Timeout = mustDuration(t, d, s)
				d.ScanArgs(t, "max-checks", &p.MaxChecks)
				if d.HasArg("retention") {
					d.ScanArgs(t, "retention", &s)
					p.Retention = mustDuration(t, d, s)
				}
				if d.HasArg("max-per-round") {
					d.ScanArgs(t, "max-per-round", &p.MaxPerRound)
				}
				var out strings.Builder
				for _, a := range l.set.Due(l.now, p) {
					if a.Kind == Discard {
						fmt.Fprintf(&out, "discard %s: %s\n", names[a.Entry.Offset], a.Reason)
					} else {
						fmt.Fprintf(&out, "check %s\n", names[a.Entry.Offset])
					}
				}
				if out.Len() == 0 {
					return "nothing due\n"
				}
				return out.String()
			case "state":
			default:
				d.Fatalf(t, "unknown command %s", d.Cmd)
			}
			return setState(l, offs)
		})
	})
}

func mustDuration(t *testing.T, d *datadriven.TestData, s string) time.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		d.Fatalf(t, "duration %q: %v", s, err)
	}
	return v
}

// setState prints the pending half messages, oldest first, then how each resolved
// message was resolved.
func setState(l *logSim, offs map[string]int64) string {
	var ns []string
	for n := range offs {
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool { return offs[ns[i]] < offs[ns[j]] })
	var out strings.Builder
	fmt.Fprintf(&out, "pending %d:\n", l.set.Len())
	for _, n := range ns {
		e, ok := l.set.Get(offs[n])
		if !ok {
			continue
		}
		fmt.Fprintf(&out, "  %s %s -> %s/%d stored +%v", n, e.Group, e.Topic, e.QueueID, e.StoreTime.Sub(epoch))
		if e.Immunity > 0 {
			fmt.Fprintf(&out, " immunity %v", e.Immunity)
		}
		if e.Checks > 0 || !e.LastCheck.IsZero() {
			fmt.Fprintf(&out, " checks %d last +%v", e.Checks, e.LastCheck.Sub(epoch))
		}
		out.WriteString("\n")
	}
	for _, n := range ns {
		if o, ok := l.set.Resolution(offs[n]); ok {
			fmt.Fprintf(&out, "  %s resolved: %v\n", n, o)
		}
	}
	return out.String()
}
