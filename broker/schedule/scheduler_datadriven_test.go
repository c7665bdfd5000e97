package schedule

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// TestSchedulerDataDriven runs the scripts of testdata/: each opens a store and a
// scheduler on a fake clock, stores delay-level and timer messages, and steps the
// scheduler at chosen times, printing what reached the real topics at each step (with
// the SCHEDULE_FROM marker of the copy) and when the scheduler asks to run next. Times
// are offsets from the script's start.
//
//	new levels=(1s, 5s, ...)
//	clock D                                 the time records are stored at
//	delay name=N level=L topic=T queue=Q
//	timer name=N due=D topic=T              (queue 1)
//	cancel topic=T name=N
//	step D                                  run the scheduler at D
//	crash                                   kill -9: nothing since the last commit kept
//	restart                                 clean close and reopen
//	stats
func TestSchedulerDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var e *env
		type queue struct {
			topic string
			qid   int32
		}
		var queues []queue      // destinations in order of first use
		seen := map[queue]int{} // copies already printed
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "new" && e == nil {
				d.Fatalf(t, "%s before new", d.Cmd)
			}
			dest := func(topic string, qid int32) {
				q := queue{topic, qid}
				if _, ok := seen[q]; !ok {
					seen[q] = 0
					queues = append(queues, q)
				}
			}
			switch d.Cmd {
			case "new":
				var ls []string
				d.ScanArgs(t, "levels", &ls)
				e = newEnv(t, strings.Join(ls, " "))
				return fmt.Sprintf("levels %v\n", e.levels)
			case "clock":
				e.clk.Set(t0.Add(ddDuration(t, d, d.CmdArgs[0].Key)))
				return "ok\n"
			case "delay":
				var name, topic string
				var level, qid int
				d.ScanArgs(t, "name", &name)
				d.ScanArgs(t, "level", &level)
				d.ScanArgs(t, "topic", &topic)
				d.ScanArgs(t, "queue", &qid)
				dest(topic, int32(qid))
				r := e.putDelayed(level, topic, int32(qid), name)
				return fmt.Sprintf("%s stored at +%v, SCHEDULE_TOPIC_XXXX queue %d offset %d\n",
					name, e.clk.Now().Sub(t0), level-1, r.QueueOffset)
			case "timer":
				var name, topic, due string
				d.ScanArgs(t, "name", &name)
				d.ScanArgs(t, "due", &due)
				d.ScanArgs(t, "topic", &topic)
				dest(topic, 1)
				e.putTimer(t0.Add(ddDuration(t, d, due)), topic, name, name)
				return fmt.Sprintf("%s stored at +%v, due +%s\n", name, e.clk.Now().Sub(t0), due)
			case "cancel":
				var name, topic string
				d.ScanArgs(t, "name", &name)
				d.ScanArgs(t, "topic", &topic)
				n, err := e.s.cancel(topic, name)
				if err != nil {
					return fmt.Sprintf("error: %v\n", err)
				}
				return fmt.Sprintf("cancelled %d\n", n)
			case "step":
				at := ddDuration(t, d, d.CmdArgs[0].Key)
				// Everything stored so far is dispatched, so the step sees the same
				// log on every run.
				testutil.Eventually(t, 10*time.Second, "dispatch", func() bool {
					return e.st.Stats().DispatchedOffset >= e.st.MaxPhysicalOffset()
				})
				next := e.at(at)
				var out strings.Builder
				for _, q := range queues {
					got := e.delivered(q.topic, q.qid)
					for _, m := range got[seen[q]:] {
						fmt.Fprintf(&out, "delivered %s to %s/%d from %s\n", m.Body, q.topic, q.qid, m.Properties[PropFrom])
					}
					seen[q] = len(got)
				}
				if out.Len() == 0 {
					out.WriteString("nothing delivered\n")
				}
				fmt.Fprintf(&out, "next step by +%v\n", next)
				return out.String()
			case "crash":
				e.crash()
				e.open()
				return "crashed and reopened\n"
			case "restart":
				e.restart()
				return "closed and reopened\n"
			case "stats":
				s := e.s.Stats()
				return fmt.Sprintf("level delivered %d, timer delivered %d, cancelled %d, dropped %d, timers in memory %d\n",
					s.LevelDelivered, s.TimerDelivered, s.Cancelled, s.Dropped, s.TimersInMemory)
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}

func ddDuration(t *testing.T, d *datadriven.TestData, s string) time.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		d.Fatalf(t, "duration %q: %v", s, err)
	}
	return v
}
