package admincli

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/rocketgo/rocketgo/client"
)

// rocketgo's own commands, on its extension requests (proto/code/rocketgo.go and
// proto/code/schedule.go): Apache RocketMQ has no equivalent, so these follow the
// house style of the Apache listings (left-aligned columns, '#' headers).

// brokerListingOpts are the options of the per-broker listings: which brokers (-b or
// -c, default every master) and at most how many entries each (-m).
var brokerListingOpts = []Option{
	{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "broker address (default: every master)"},
	{Short: "c", Long: "clusterName", HasArg: true, Desc: "cluster name (default: every master)"},
	{Short: "m", Long: "maxCount", HasArg: true, Desc: "at most this many per broker (default 1000)"},
}

var pendingTransactionsCmd = &Command{
	Name: "pendingTransactions", Desc: "List unresolved transactional half messages (rocketgo)", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "producerGroup", HasArg: true, Desc: "producer group name (default: every group)"},
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
		pts, err := a.PendingTransactions(e.Ctx, f.Get("g"), limit, flagTarget(f))
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			return e.printJSON(pts)
		}
		e.printf("%-24s  %-20s  %-32s  %-32s  %-4s  %-34s  %-7s  %s\n", "#Broker Addr", "#CommitLog Offset", "#Producer Group", "#Topic", "#QID", "#MsgId", "#Checks", "#Stored")
		for _, p := range pts {
			e.printf("%-24s  %-20d  %-32s  %-32s  %-4d  %-34s  %-7d  %s\n", p.BrokerAddr, p.CommitLogOffset, front(p.ProducerGroup, 32),
				front(p.MessageQueue.Topic, 32), p.MessageQueue.QueueID, p.MsgID, p.Checks, e.humanTime2(p.Stored.UnixMilli()))
		}
		return nil
	},
}

var resolveTransactionCmd = &Command{
	Name: "resolveTransaction", Desc: "Commit or roll back an unresolved half message by hand (rocketgo)",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "broker holding the half message", Required: true},
		{Short: "l", Long: "commitLogOffset", HasArg: true, Desc: "the half message's commitlog offset (see pendingTransactions)", Required: true},
		{Short: "a", Long: "action", HasArg: true, Desc: "commit or rollback", Required: true},
		{Short: "g", Long: "producerGroup", HasArg: true, Desc: "the half message's producer group (checked when set)"},
	},
	Run: func(e *Env, f *Flags) error {
		off, err := strconv.ParseInt(f.Get("l"), 10, 64)
		if err != nil {
			return fmt.Errorf("-l %q: not an offset", f.Get("l"))
		}
		var commit bool
		switch f.Get("a") {
		case "commit":
			commit = true
		case "rollback":
		default:
			return fmt.Errorf("-a %q: want commit or rollback", f.Get("a"))
		}
		a, err := e.Admin()
		if err != nil {
			return err
		}
		p := client.PendingTransaction{BrokerAddr: f.Get("b"), CommitLogOffset: off, ProducerGroup: f.Get("g")}
		if err := a.ResolveTransaction(e.Ctx, p, commit); err != nil {
			return err
		}
		e.printf("%s half message at %d on %s success.\n", f.Get("a"), off, f.Get("b"))
		return nil
	},
}

var listDLQCmd = &Command{
	Name: "listDLQ", Desc: "List the dead letters of a consumer group on a broker (rocketgo)", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "consumerGroup", HasArg: true, Desc: "consumer group name", Required: true},
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "broker address", Required: true},
		{Short: "f", Long: "fromOffset", HasArg: true, Desc: "DLQ offset to start at (default 0)"},
		{Short: "m", Long: "maxCount", HasArg: true, Desc: "at most this many (default 32)"},
	},
	Run: func(e *Env, f *Flags) error {
		from, count, err := dlqRange(f, 32)
		if err != nil {
			return err
		}
		a, err := e.Admin()
		if err != nil {
			return err
		}
		page, err := a.ListDLQ(e.Ctx, f.Get("b"), f.Get("g"), from, count)
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			type row struct {
				DLQOffset      int64  `json:"dlqOffset"`
				MsgID          string `json:"msgId"`
				Topic          string `json:"realTopic"`
				ReconsumeTimes int32  `json:"reconsumeTimes"`
				StoreTimestamp int64  `json:"storeTimestamp"`
			}
			rows := []row{}
			for _, m := range page.Messages {
				rows = append(rows, row{m.QueueOffset, m.MsgID, realTopic(m), m.ReconsumeTimes, m.StoreTimestamp})
			}
			return e.printJSON(map[string]any{"messages": rows, "minOffset": page.Min, "maxOffset": page.Max, "nextOffset": page.Next})
		}
		e.printf("%-12s  %-34s  %-32s  %-10s  %s\n", "#DLQ Offset", "#MsgId", "#Real Topic", "#Reconsume", "#Stored")
		for _, m := range page.Messages {
			e.printf("%-12d  %-34s  %-32s  %-10d  %s\n", m.QueueOffset, m.MsgID, front(realTopic(m), 32), m.ReconsumeTimes, e.humanTime2(m.StoreTimestamp))
		}
		e.printf("\nMin Offset: %d\nMax Offset: %d\nNext Offset: %d\n", page.Min, page.Max, page.Next)
		return nil
	},
}

// realTopic is the topic a dead letter was first sent to (RETRY_TOPIC property).
func realTopic(m *client.MessageExt) string {
	if t := m.Property("RETRY_TOPIC"); t != "" {
		return t
	}
	return m.Topic
}

var resendDLQCmd = &Command{
	Name: "resendDLQ", Desc: "Send dead letters back to their consumer group (rocketgo)",
	Opts: []Option{
		{Short: "g", Long: "consumerGroup", HasArg: true, Desc: "consumer group name", Required: true},
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "broker address", Required: true},
		{Short: "f", Long: "fromOffset", HasArg: true, Desc: "DLQ offset to start at (default 0)"},
		{Short: "m", Long: "maxCount", HasArg: true, Desc: "at most this many (default 1)"},
	},
	Run: func(e *Env, f *Flags) error {
		from, count, err := dlqRange(f, 1)
		if err != nil {
			return err
		}
		a, err := e.Admin()
		if err != nil {
			return err
		}
		n, next, err := a.ResendDLQ(e.Ctx, f.Get("b"), f.Get("g"), from, count)
		if err != nil {
			return err
		}
		e.printf("resend %d dead letters of %s from offset %d success, next offset %d.\n", n, f.Get("g"), from, next)
		return nil
	},
}

func dlqRange(f *Flags, defCount int32) (int64, int, error) {
	var from int64
	if f.Has("f") {
		v, err := strconv.ParseInt(f.Get("f"), 10, 64)
		if err != nil || v < 0 {
			return 0, 0, fmt.Errorf("-f %q: want an offset", f.Get("f"))
		}
		from = v
	}
	count, err := intFlag(f, "m", defCount)
	if err != nil {
		return 0, 0, err
	}
	if count <= 0 {
		return 0, 0, errors.New("-m must be positive")
	}
	return from, int(count), nil
}

var cancelTimerCmd = &Command{
	Name: "cancelTimer", Desc: "Cancel a pending timer (delayed) message by id (rocketgo)",
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "i", Long: "msgId", HasArg: true, Desc: "message id (UNIQ_KEY) of the timer message", Required: true},
	},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		n, err := a.CancelScheduled(e.Ctx, f.Get("t"), f.Get("i"))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no pending timer message %s in %s (already delivered, cancelled, or a delay-level message)", f.Get("i"), f.Get("t"))
		}
		e.printf("cancel timer message %s in %s success, %d cancelled.\n", f.Get("i"), f.Get("t"), n)
		return nil
	},
}

// flagTarget is -b or -c as a client.Target; neither means every master.
func flagTarget(f *Flags) client.Target {
	switch {
	case f.Has("b"):
		return client.OnBrokers(f.Get("b"))
	case f.Has("c"):
		return client.OnCluster(f.Get("c"))
	}
	return client.Target{}
}
