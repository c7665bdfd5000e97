package longpoll

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven runs the scripts of testdata/: each builds a table on a fake clock and
// drives it with the events a broker sees — pulls parking, messages arriving, deadlines
// passing, connections closing — printing who was released and why after each.
//
//	new [max-total=N] [max-per-owner=N]
//	park name=R topic=T queue=Q offset=O owner=N timeout=D [tags=1,2]
//	notify topic=T queue=Q max=M tag=C
//	wake topic=T queue=Q max=M
//	advance D
//	drop owner=N
//	close
//	state
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var (
			tb    *Table
			clock *fakeClock
			rec   recorder
		)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "new" && tb == nil {
				d.Fatalf(t, "%s before new", d.Cmd)
			}
			var out strings.Builder
			switch d.Cmd {
			case "new":
				var o Options
				if d.HasArg("max-total") {
					d.ScanArgs(t, "max-total", &o.MaxTotal)
				}
				if d.HasArg("max-per-owner") {
					d.ScanArgs(t, "max-per-owner", &o.MaxPerOwner)
				}
				tb, clock = newTable(t, o)
				rec = recorder{}
				return "ok"
			case "park":
				var name, topic, timeout, tags string
				var queue, owner int
				var offset int64
				d.ScanArgs(t, "name", &name)
				d.ScanArgs(t, "topic", &topic)
				d.ScanArgs(t, "queue", &queue)
				d.ScanArgs(t, "offset", &offset)
				d.ScanArgs(t, "owner", &owner)
				d.ScanArgs(t, "timeout", &timeout)
				var match func(int64) bool
				if d.HasArg("tags") {
					d.ScanArgs(t, "tags", &tags)
					match = tagSet(t, d, tags)
				}
				if err := tb.Park(rec.req(name, topic, int32(queue), offset, uint64(owner), match), duration(t, d, timeout)); err != nil {
					fmt.Fprintf(&out, "error: %v\n", err)
				}
			case "notify":
				var topic string
				var queue int
				var maxOffset, tag int64
				d.ScanArgs(t, "topic", &topic)
				d.ScanArgs(t, "queue", &queue)
				d.ScanArgs(t, "max", &maxOffset)
				d.ScanArgs(t, "tag", &tag)
				tb.Notify(topic, int32(queue), maxOffset, tag)
			case "wake":
				var topic string
				var queue int
				var maxOffset int64
				d.ScanArgs(t, "topic", &topic)
				d.ScanArgs(t, "queue", &queue)
				d.ScanArgs(t, "max", &maxOffset)
				tb.Wake(topic, int32(queue), maxOffset)
			case "advance":
				if len(d.CmdArgs) != 1 {
					d.Fatalf(t, "advance takes one duration")
				}
				clock.Advance(duration(t, d, d.CmdArgs[0].Key))
			case "drop":
				var owner int
				d.ScanArgs(t, "owner", &owner)
				tb.DropOwner(uint64(owner))
			case "close":
				tb.Close()
			case "state":
				fmt.Fprintf(&out, "parked: %d, live timers: %d\n", tb.Len(), clock.live())
				owners := map[uint64]bool{}
				for o := range tb.mu.byOwner {
					owners[o] = true
				}
				ids := make([]uint64, 0, len(owners))
				for o := range owners {
					ids = append(ids, o)
				}
				sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
				for _, o := range ids {
					fmt.Fprintf(&out, "owner %d: %d\n", o, tb.OwnerLen(o))
				}
				return out.String()
			default:
				d.Fatalf(t, "unknown command %s", d.Cmd)
			}
			released := rec.take()
			if d.Cmd == "close" {
				sort.Strings(released) // Close walks a map: its order is not the table's
			}
			for _, r := range released {
				fmt.Fprintf(&out, "released %s\n", r)
			}
			if out.Len() == 0 {
				return "nothing released\n"
			}
			return out.String()
		})
	})
}

func duration(t *testing.T, d *datadriven.TestData, s string) time.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		d.Fatalf(t, "duration %q: %v", s, err)
	}
	return v
}

// tagSet is a filter accepting the comma-separated tags codes.
func tagSet(t *testing.T, d *datadriven.TestData, s string) func(int64) bool {
	set := map[int64]bool{}
	for _, f := range strings.Split(s, ",") {
		c, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			d.Fatalf(t, "tags %q: %v", s, err)
		}
		set[c] = true
	}
	return func(c int64) bool { return set[c] }
}
