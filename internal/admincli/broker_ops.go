package admincli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/body"
)

// Broker statistics and maintenance commands: tools/command/stats/StatsAllSubCommand.java,
// tools/command/broker/{BrokerConsumeStatsSubCommad,CleanExpiredCQSubCommand,
// CleanUnusedTopicCommand}.java and tools/command/queue/QueryConsumeQueueCommand.java of
// Apache RocketMQ 4.9.

var brokerConsumeStatsCmd = &Command{
	Name: "brokerConsumeStats", Desc: "Fetch broker consume stats data", Listing: true,
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "Broker address", Required: true},
		{Short: "t", Long: "timeoutMillis", HasArg: true, Desc: "request timeout Millis"},
		{Short: "l", Long: "level", HasArg: true, Desc: "threshold of print diff"},
		{Short: "o", Long: "order", HasArg: true, Desc: "order topic"},
	},
	Run: runBrokerConsumeStats,
}

// consumeRow is one queue of brokerConsumeStats.
type consumeRow struct {
	Topic          string `json:"topic"`
	Group          string `json:"group"`
	BrokerName     string `json:"brokerName"`
	QueueID        int32  `json:"queueId"`
	BrokerOffset   int64  `json:"brokerOffset"`
	ConsumerOffset int64  `json:"consumerOffset"`
	Diff           int64  `json:"diff"`
	LastTimestamp  int64  `json:"lastTimestamp"`
}

// runBrokerConsumeStats follows BrokerConsumeStatsSubCommad.java (GET_BROKER_CONSUME_STATS,
// 317): every queue whose lag is at least -l and that has been consumed (last time > 0),
// then the broker's total lag.
func runBrokerConsumeStats(e *Env, f *Flags) error {
	var level int64
	if f.Has("l") {
		v, err := strconv.ParseInt(f.Get("l"), 10, 64)
		if err != nil {
			return fmt.Errorf("-l %q: not an integer", f.Get("l"))
		}
		level = v
	}
	if f.Has("t") {
		ms, err := strconv.ParseInt(f.Get("t"), 10, 64)
		if err != nil || ms <= 0 {
			return fmt.Errorf("-t %q: want a positive number of milliseconds", f.Get("t"))
		}
		ctx, cancel := context.WithTimeout(e.Ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
		e.Ctx = ctx
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	l, err := a.BrokerConsumeStats(e.Ctx, f.Get("b"), strings.EqualFold(f.Get("o"), "true"))
	if err != nil {
		return err
	}
	rows := []consumeRow{}
	for _, g := range l.List {
		for _, cs := range g.Stats {
			for _, mq := range body.SortedQueues(cs.OffsetTable) {
				w := cs.OffsetTable[mq]
				diff := w.BrokerOffset - w.ConsumerOffset
				if diff < level || w.LastTimestamp <= 0 {
					continue
				}
				rows = append(rows, consumeRow{mq.Topic, g.Group, mq.BrokerName, mq.QueueID, w.BrokerOffset, w.ConsumerOffset, diff, w.LastTimestamp})
			}
		}
	}
	if asJSON, _ := e.JSON(); asJSON {
		return e.printJSON(struct {
			Queues    []consumeRow `json:"queues"`
			TotalDiff int64        `json:"totalDiff"`
		}{rows, l.TotalDiff})
	}
	e.printf("%-64s  %-64s  %-32s  %-4s  %-20s  %-20s  %-20s  %s\n", "#Topic", "#Group", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff", "#LastTime")
	for _, r := range rows {
		last := time.UnixMilli(r.LastTimestamp).In(e.Loc).Format("2006-01-02 15:04:05")
		e.printf("%-64s  %-64s  %-32s  %-4d  %-20d  %-20d  %-20d  %s\n", front(r.Topic, 64), r.Group, front(r.BrokerName, 32), r.QueueID, r.BrokerOffset, r.ConsumerOffset, r.Diff, last)
	}
	e.printf("\nDiff Total: %d\n", l.TotalDiff)
	return nil
}

var statsAllCmd = &Command{
	Name: "statsAll", Desc: "Topic and Consumer tps stats", Listing: true,
	Opts: []Option{
		{Short: "a", Long: "activeTopic", Desc: "print active topic only"},
		{Short: "t", Long: "topic", HasArg: true, Desc: "print select topic only"},
	},
	Run: runStatsAll,
}

// statsRow is one (topic, group) line of statsAll; Group is "" for a topic nobody
// consumes.
type statsRow struct {
	Topic         string  `json:"topic"`
	Group         string  `json:"group"`
	Accumulation  int64   `json:"accumulation"`
	InTPS         float64 `json:"inTps"`
	OutTPS        float64 `json:"outTps"`
	InMsg24Hour   int64   `json:"inMsg24Hour"`
	OutMsg24Hour  int64   `json:"outMsg24Hour"`
	NoConsumerRow bool    `json:"-"`
}

// runStatsAll follows StatsAllSubCommand.java: for every topic but retry and dead-letter
// ones, its put rate and 24-hour count from every master (VIEW_BROKER_STATS_DATA
// TOPIC_PUT_NUMS), and for each group consuming it the get rate and count
// (GROUP_GET_NUMS topic@group) and the lag. Failures of one topic or group are skipped,
// as in Java.
func runStatsAll(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	topics, err := a.ListTopics(e.Ctx)
	if err != nil {
		return err
	}
	active, only := f.Has("a"), f.Get("t")
	rows := []statsRow{}
	for _, topic := range topics {
		if strings.HasPrefix(topic, client.RetryTopicPrefix) || strings.HasPrefix(topic, client.DLQTopicPrefix) || (only != "" && topic != only) {
			continue
		}
		rows = append(rows, topicStats(e, a, topic, active)...)
	}
	if asJSON, _ := e.JSON(); asJSON {
		return e.printJSON(rows)
	}
	e.printf("%-64s  %-64s %12s %11s %11s %14s %14s\n", "#Topic", "#Consumer Group", "#Accumulation", "#InTPS", "#OutTPS", "#InMsg24Hour", "#OutMsg24Hour")
	for _, r := range rows {
		if r.NoConsumerRow {
			e.printf("%-64s  %-64s %12d %11.2f %11s %14d %14s\n", front(r.Topic, 64), "", 0, r.InTPS, "", r.InMsg24Hour, "NO_CONSUMER")
			continue
		}
		e.printf("%-64s  %-64s %12d %11.2f %11.2f %14d %14d\n", front(r.Topic, 64), front(r.Group, 64), r.Accumulation, r.InTPS, r.OutTPS, r.InMsg24Hour, r.OutMsg24Hour)
	}
	return nil
}

// topicStats is StatsAllSubCommand.printTopicDetail for one topic.
func topicStats(e *Env, a *client.Admin, topic string, active bool) []statsRow {
	route, err := a.TopicRoute(e.Ctx, topic)
	if err != nil {
		return nil
	}
	var masters []string
	for _, bd := range route.BrokerDatas {
		if addr := bd.BrokerAddrs[0]; addr != "" {
			masters = append(masters, addr)
		}
	}
	sum := func(name, key string) (tps float64, day int64) {
		for _, addr := range masters {
			if d, err := a.BrokerStatsData(e.Ctx, addr, name, key); err == nil {
				tps += d.StatsMinute.Tps
				day += sum24Hour(d)
			}
		}
		return tps, day
	}
	inTPS, inDay := sum("TOPIC_PUT_NUMS", topic)
	groups, _ := a.TopicConsumers(e.Ctx, topic)
	if len(groups) == 0 {
		if active && inDay <= 0 {
			return nil
		}
		return []statsRow{{Topic: topic, InTPS: inTPS, InMsg24Hour: inDay, NoConsumerRow: true}}
	}
	var rows []statsRow
	for _, g := range groups {
		outTPS, outDay := sum("GROUP_GET_NUMS", topic+"@"+g)
		var lag int64
		if p, err := a.ConsumerProgress(e.Ctx, g, topic); err == nil {
			lag = max(p.TotalLag, 0)
		}
		if active && inDay <= 0 && outDay <= 0 {
			continue
		}
		rows = append(rows, statsRow{Topic: topic, Group: g, Accumulation: lag, InTPS: inTPS, OutTPS: outTPS, InMsg24Hour: inDay, OutMsg24Hour: outDay})
	}
	return rows
}

// sum24Hour is StatsAllSubCommand.compute24HourSum: the day's sum, else the hour's, else
// the minute's.
func sum24Hour(d *body.BrokerStatsData) int64 {
	switch {
	case d.StatsDay.Sum != 0:
		return d.StatsDay.Sum
	case d.StatsHour.Sum != 0:
		return d.StatsHour.Sum
	}
	return d.StatsMinute.Sum
}

var queryCqCmd = &Command{
	Name: "queryCq", Desc: "Query cq command.",
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "q", Long: "queue", HasArg: true, Desc: "queue num, ie. 1", Required: true},
		{Short: "i", Long: "index", HasArg: true, Desc: "start queue index.", Required: true},
		{Short: "c", Long: "count", HasArg: true, Desc: "how many."},
		{Short: "b", Long: "broker", HasArg: true, Desc: "broker addr."},
		{Short: "g", Long: "consumer", HasArg: true, Desc: "consumer group."},
	},
	Run: runQueryCq,
}

// runQueryCq follows QueryConsumeQueueCommand.java (QUERY_CONSUME_QUEUE, 321): without
// -b it asks the first broker of the topic's route. Java's extension fields are never
// set by rocketgo and print as 'null'.
func runQueryCq(e *Env, f *Flags) error {
	topic := f.Get("t")
	q, err := strconv.ParseInt(f.Get("q"), 10, 32)
	if err != nil {
		return fmt.Errorf("-q %q: not an integer", f.Get("q"))
	}
	index, err := strconv.ParseInt(f.Get("i"), 10, 64)
	if err != nil {
		return fmt.Errorf("-i %q: not an integer", f.Get("i"))
	}
	count, err := intFlag(f, "c", 10)
	if err != nil {
		return err
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	addr := f.Get("b")
	if addr == "" {
		r, err := a.TopicRoute(e.Ctx, topic)
		if err != nil {
			return err
		}
		if len(r.BrokerDatas) == 0 {
			return errors.New("No topic route data!")
		}
		addr = r.BrokerDatas[0].BrokerAddrs[0]
	}
	res, remark, err := a.QueryConsumeQueue(e.Ctx, addr, topic, int32(q), index, count, f.Get("g"))
	if err != nil {
		return err
	}
	if res == nil {
		return errors.New(remark)
	}
	if res.SubscriptionData != nil {
		e.printf("Subscription data: \n%s\n", subscriptionJSON(res.SubscriptionData))
		e.printf("======================================\n")
	}
	if res.FilterData != "" {
		e.printf("Filter data: \n%s\n", res.FilterData)
		e.printf("======================================\n")
	}
	e.printf("Queue data: \nmax: %d, min: %d\n", res.MaxQueueIndex, res.MinQueueIndex)
	e.printf("======================================\n")
	for i, d := range res.QueueData {
		e.printf("idx: %d\n", index+int64(i))
		e.printf("ConsumeQueueData{physicOffset=%d, physicSize=%d, tagsCode=%d, extendDataJson='%s', bitMap='%s', eval=%t, msg='%s'}\n",
			d.PhysicOffset, d.PhysicSize, d.TagsCode, nullStr(d.ExtendDataJSON), nullStr(d.BitMap), d.Eval, nullStr(d.Msg))
		e.printf("======================================\n")
	}
	return nil
}

// nullStr is how Java's string concatenation prints an unset String.
func nullStr(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

var cleanExpiredCQCmd = &Command{
	Name: "cleanExpiredCQ", Desc: "Clean expired ConsumeQueue on broker.",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "Broker address"},
		{Short: "c", Long: "cluster", HasArg: true, Desc: "clustername"},
	},
	Run: func(e *Env, f *Flags) error {
		return runOnBrokers(e, f, (*client.Admin).CleanExpiredConsumeQueue)
	},
}

var cleanUnusedTopicCmd = &Command{
	Name: "cleanUnusedTopic", Desc: "Clean unused topic on broker.",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "Broker address"},
		{Short: "c", Long: "cluster", HasArg: true, Desc: "cluster name"},
	},
	Run: func(e *Env, f *Flags) error {
		return runOnBrokers(e, f, (*client.Admin).CleanUnusedTopic)
	},
}

// runOnBrokers is CleanExpiredCQSubCommand / CleanUnusedTopicCommand: -b one broker, -c
// every master of a cluster, neither every master of every cluster; Java prints
// "success" (no newline). A broker that fails makes the command fail with its reason.
func runOnBrokers(e *Env, f *Flags, op func(*client.Admin, context.Context, client.Target) error) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	target := client.OnCluster(f.Get("c"))
	if f.Has("b") {
		target = client.OnBrokers(f.Get("b"))
	}
	if err := op(a, e.Ctx, target); err != nil {
		return err
	}
	e.printf("success")
	return nil
}
