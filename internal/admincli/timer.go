package admincli

import (
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/client"
)

// listTimersCmd lists pending timer and delay-level messages (LIST_TIMER_MESSAGES, a
// rocketgo extension request; docs/operations.md §7).
var listTimersCmd = &Command{
	Name: "listTimers", Desc: "List pending timer and delay-level messages (rocketgo)", Listing: true,
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name (default: every topic)"},
		brokerListingOpts[0], brokerListingOpts[1], brokerListingOpts[2],
	},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		limit, err := intFlag(f, "m", 0)
		if err != nil {
			return err
		}
		ts, more, err := a.ListTimers(e.Ctx, f.Get("t"), limit, flagTarget(f))
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			if ts == nil {
				ts = []client.TimerMessage{}
			}
			return e.printJSON(map[string]any{"timers": ts, "more": more})
		}
		e.printf("%-24s  %-32s  %-4s  %-34s  %-6s  %-24s  %s\n", "#Broker Addr", "#Topic", "#QID", "#MsgId", "#Level", "#Due", "#Tags")
		for _, t := range ts {
			level := "timer"
			if t.DelayLevel > 0 {
				level = strconv.Itoa(t.DelayLevel)
			}
			e.printf("%-24s  %-32s  %-4d  %-34s  %-6s  %-24s  %s\n", t.BrokerAddr, front(t.MessageQueue.Topic, 32), t.MessageQueue.QueueID,
				t.MsgID, level, e.humanTime2(t.Due.UnixMilli()), strings.TrimSpace(t.Tags))
		}
		if more {
			e.printf("(more pending messages were left out; raise -m or name a topic)\n")
		}
		return nil
	},
}
