package admincli

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/body"
)

// Commands that act on a running consumer group through the brokers:
// tools/command/offset/{SkipAccumulationSubCommand,GetConsumerStatusCommand,
// CloneGroupOffsetCommand}.java and tools/command/consumer/ConsumerStatusSubCommand.java
// of Apache RocketMQ 4.9 (resetOffsetByTime is in consumer.go).

// runInfoDir is where consumerStatus writes each client's running info (Apache writes
// <now>/<clientId> relative to the working directory).
var runInfoDir = "."

var skipAccumulatedMessageCmd = &Command{
	Name: "skipAccumulatedMessage", Desc: "Skip all messages that are accumulated (not consumed) currently", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "group", HasArg: true, Desc: "set the consumer group", Required: true},
		{Short: "t", Long: "topic", HasArg: true, Desc: "set the topic", Required: true},
		{Short: "f", Long: "force", HasArg: true, Desc: "set the force rollback by timestamp switch[true|false]"},
	},
	Run: runSkipAccumulated,
}

// runSkipAccumulated follows SkipAccumulationSubCommand.java: a reset to the queues' max
// offsets (timestamp -1), online, or offline when the group has no live consumer.
func runSkipAccumulated(e *Env, f *Flags) error {
	group, topic := f.Get("g"), f.Get("t")
	force := true
	if f.Has("f") {
		force = javaBool(f.Get("f"))
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	table, err := a.ResetOffsetOnline(e.Ctx, group, topic, client.ResetTimestampMax, force)
	if errors.Is(err, client.ErrConsumerNotOnline) {
		rows, err := a.ResetOffsetOffline(e.Ctx, group, topic, client.ResetTimestampMax, force)
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			return e.printJSON(rows)
		}
		printRollback(e, rows)
		return nil
	}
	if err != nil {
		return err
	}
	if asJSON, _ := e.JSON(); asJSON {
		return e.printJSON(offsetRows(table))
	}
	printOffsetTable(e, table)
	return nil
}

// printRollback prints RollbackStats rows as ResetOffsetByTimeOldCommand does.
func printRollback(e *Env, rows []client.RollbackStats) {
	e.printf("%-20s  %-20s  %-20s  %-20s  %-20s  %-20s\n", "#brokerName", "#queueId", "#brokerOffset", "#consumerOffset", "#timestampOffset", "#rollbackOffset")
	for _, r := range rows {
		e.printf("%-20s  %-20d  %-20d  %-20d  %-20d  %-20d\n", front(r.BrokerName, 32), r.QueueID, r.BrokerOffset, r.ConsumerOffset, r.TimestampOffset, r.RollbackOffset)
	}
}

// offsetRow is one queue of an online reset, for -o json.
type offsetRow struct {
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
	Offset     int64  `json:"offset"`
}

// offsetRows lists a reset table in queue order.
func offsetRows(t map[client.MessageQueue]int64) []offsetRow {
	rows := []offsetRow{}
	for _, mq := range body.SortedQueues(t) {
		rows = append(rows, offsetRow{mq.BrokerName, mq.QueueID, t[mq]})
	}
	return rows
}

// printOffsetTable prints an online reset's table as ResetOffsetByTimeCommand does
// (Apache prints in HashMap order; rocketgo in queue order).
func printOffsetTable(e *Env, t map[client.MessageQueue]int64) {
	e.printf("%-40s  %-40s  %-40s\n", "#brokerName", "#queueId", "#offset")
	for _, r := range offsetRows(t) {
		e.printf("%-40s  %-40d  %-40d\n", front(r.BrokerName, 32), r.QueueID, r.Offset)
	}
}

var getConsumerStatusCmd = &Command{
	Name: "getConsumerStatus", Desc: "get consumer status from client.", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "group", HasArg: true, Desc: "set the consumer group", Required: true},
		{Short: "t", Long: "topic", HasArg: true, Desc: "set the topic", Required: true},
		{Short: "i", Long: "originClientId", HasArg: true, Desc: "set the consumer clientId"},
	},
	Run: runGetConsumerStatus,
}

// statusRow is one queue of one client in getConsumerStatus.
type statusRow struct {
	ClientID   string `json:"clientId"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
	Offset     int64  `json:"offset"`
}

// runGetConsumerStatus follows GetConsumerStatusCommand.java
// (INVOKE_BROKER_TO_GET_CONSUMER_STATUS, 223): the offsets each live client holds.
func runGetConsumerStatus(e *Env, f *Flags) error {
	group, topic, id := f.Get("g"), f.Get("t"), f.Get("i")
	a, err := e.Admin()
	if err != nil {
		return err
	}
	st, err := a.ConsumerStatus(e.Ctx, group, topic, id)
	if err != nil {
		return err
	}
	rows := []statusRow{}
	for _, cid := range slices.Sorted(maps.Keys(st)) {
		for _, mq := range body.SortedQueues(st[cid]) {
			rows = append(rows, statusRow{cid, mq.BrokerName, mq.QueueID, st[cid][mq]})
		}
	}
	if asJSON, _ := e.JSON(); asJSON {
		return e.printJSON(rows)
	}
	e.printf("get consumer status from client. group=%s, topic=%s, originClientId=%s\n", group, topic, id)
	e.printf("%-50s  %-15s  %-15s  %-20s\n", "#clientId", "#brokerName", "#queueId", "#offset")
	for _, r := range rows {
		e.printf("%-50s  %-15s  %-15d  %-20d\n", front(r.ClientID, 50), r.BrokerName, r.QueueID, r.Offset)
	}
	return nil
}

var consumerStatusCmd = &Command{
	Name: "consumerStatus", Desc: "Query consumer's internal data structure",
	Opts: []Option{
		{Short: "g", Long: "consumerGroup", HasArg: true, Desc: "consumer group name", Required: true},
		{Short: "i", Long: "clientId", HasArg: true, Desc: "The consumer's client id"},
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "broker address"},
		{Short: "s", Long: "jstack", Desc: "Run jstack command in the consumer progress"},
	},
	Run: runConsumerStatus,
}

// runConsumerStatus follows ConsumerStatusSubCommand.java: with -i one client's
// ConsumerRunningInfo.formatString; without, every connected client's running info
// written to <now>/<clientId> and a line per client, then whether the clients subscribe
// alike. -s (a Java thread dump) is not asked for: neither Go client makes one.
func runConsumerStatus(e *Env, f *Flags) error {
	group := f.Get("g")
	a, err := e.Admin()
	if err != nil {
		return err
	}
	if f.Has("i") {
		info, err := a.RunningInfo(e.Ctx, group, f.Get("i"))
		if err != nil {
			return err
		}
		e.printf("%s", formatRunningInfo(e, info))
		return nil
	}
	cc, err := a.ConsumerConnection(e.Ctx, group, f.Get("b"))
	if err != nil {
		return err
	}
	body.SortConnections(cc.ConnectionSet)
	now := e.Now().UnixMilli()
	e.printf("%-10s %-40s %-20s %s\n", "#Index", "#ClientId", "#Version", "#ConsumerRunningInfoFile")
	infos := map[string]*body.ConsumerRunningInfo{}
	i := 1
	for _, c := range cc.ConnectionSet {
		info, err := a.RunningInfo(e.Ctx, group, c.ClientID)
		if err != nil {
			fmt.Fprintf(e.Err, "running info of %s: %v\n", c.ClientID, err)
			continue
		}
		infos[c.ClientID] = info
		path := fmt.Sprintf("%d/%s", now, c.ClientID)
		full := filepath.Join(runInfoDir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err == nil {
			_ = os.WriteFile(full, []byte(formatRunningInfo(e, info)), 0o644)
		}
		e.printf("%-10d %-40s %-20s %s\n", i, c.ClientID, versionDesc(c.Version), path)
		i++
	}
	if len(infos) == 0 {
		return nil
	}
	if sameSubscription(infos) {
		e.printf("\n\nSame subscription in the same group of consumer")
		e.printf("\n\nRebalance %s\n", "OK")
	} else {
		e.printf("\n\nWARN: Different subscription in the same group of consumer!!!")
	}
	return nil
}

// sameSubscription is ConsumerRunningInfo.analyzeSubscription's core: every client
// subscribes the same topics with the same expressions.
func sameSubscription(infos map[string]*body.ConsumerRunningInfo) bool {
	var first string
	for i, id := range slices.Sorted(maps.Keys(infos)) {
		var subs []string
		for _, s := range infos[id].SubscriptionSet {
			subs = append(subs, s.Topic+"\x00"+s.SubString)
		}
		slices.Sort(subs)
		key := strings.Join(subs, "\x01")
		if i == 0 {
			first = key
		} else if key != first {
			return false
		}
	}
	return true
}

// formatRunningInfo is ConsumerRunningInfo.formatString (properties sorted by key,
// queues in MessageQueue order, status by topic).
func formatRunningInfo(e *Env, info *body.ConsumerRunningInfo) string {
	var sb strings.Builder
	sb.WriteString("#Consumer Properties#\n")
	for _, k := range slices.Sorted(maps.Keys(info.Properties)) {
		fmt.Fprintf(&sb, "%-40s: %s\n", k, info.Properties[k])
	}
	sb.WriteString("\n\n#Consumer Subscription#\n")
	for i, s := range info.SubscriptionSet {
		fmt.Fprintf(&sb, "%03d Topic: %-40s ClassFilter: %-8t SubExpression: %s\n", i+1, s.Topic, s.ClassFilterMode, s.SubString)
	}
	queues := body.SortedQueues(info.MQTable)
	sb.WriteString("\n\n#Consumer Offset#\n")
	fmt.Fprintf(&sb, "%-64s  %-32s  %-4s  %-20s\n", "#Topic", "#Broker Name", "#QID", "#Consumer Offset")
	for _, mq := range queues {
		fmt.Fprintf(&sb, "%-32s  %-32s  %-4d  %-20d\n", mq.Topic, mq.BrokerName, mq.QueueID, info.MQTable[mq].CommitOffset)
	}
	sb.WriteString("\n\n#Consumer MQ Detail#\n")
	fmt.Fprintf(&sb, "%-64s  %-32s  %-4s  %-20s\n", "#Topic", "#Broker Name", "#QID", "#ProcessQueueInfo")
	for _, mq := range queues {
		fmt.Fprintf(&sb, "%-64s  %-32s  %-4d  %s\n", mq.Topic, mq.BrokerName, mq.QueueID, processQueueString(e, info.MQTable[mq]))
	}
	sb.WriteString("\n\n#Consumer RT&TPS#\n")
	fmt.Fprintf(&sb, "%-64s  %14s %14s %14s %14s %18s %25s\n", "#Topic", "#Pull RT", "#Pull TPS", "#Consume RT", "#ConsumeOK TPS", "#ConsumeFailed TPS", "#ConsumeFailedMsgsInHour")
	for _, t := range slices.Sorted(maps.Keys(info.StatusTable)) {
		s := info.StatusTable[t]
		fmt.Fprintf(&sb, "%-32s  %14.2f %14.2f %14.2f %14.2f %18.2f %25d\n", t, s.PullRT, s.PullTPS, s.ConsumeRT, s.ConsumeOKTPS, s.ConsumeFailedTPS, s.ConsumeFailedMsgs)
	}
	if info.Jstack != "" {
		sb.WriteString("\n\n#Consumer jstack#\n")
		sb.WriteString(info.Jstack)
	}
	return sb.String()
}

// processQueueString is ProcessQueueInfo.toString, times as
// UtilAll.timeMillisToHumanString (yyyyMMddHHmmssSSS, local time).
func processQueueString(e *Env, p body.ProcessQueueInfo) string {
	human := func(ms int64) string { return time.UnixMilli(ms).In(e.Loc).Format("20060102150405000") }
	return fmt.Sprintf("ProcessQueueInfo [commitOffset=%d, cachedMsgMinOffset=%d, cachedMsgMaxOffset=%d, cachedMsgCount=%d, cachedMsgSizeInMiB=%d, transactionMsgMinOffset=%d, transactionMsgMaxOffset=%d, transactionMsgCount=%d, locked=%t, tryUnlockTimes=%d, lastLockTimestamp=%s, droped=%t, lastPullTimestamp=%s, lastConsumeTimestamp=%s]",
		p.CommitOffset, p.CachedMsgMinOffset, p.CachedMsgMaxOffset, p.CachedMsgCount, p.CachedMsgSizeInMiB,
		p.TransactionMsgMinOffset, p.TransactionMsgMaxOffset, p.TransactionMsgCount, p.Locked, p.TryUnlockTimes,
		human(p.LastLockTimestamp), p.Droped, human(p.LastPullTimestamp), human(p.LastConsumeTimestamp))
}

var cloneGroupOffsetCmd = &Command{
	Name: "cloneGroupOffset", Desc: "clone offset from other group.",
	Opts: []Option{
		{Short: "s", Long: "srcGroup", HasArg: true, Desc: "set source consumer group", Required: true},
		{Short: "d", Long: "destGroup", HasArg: true, Desc: "set destination consumer group", Required: true},
		{Short: "t", Long: "topic", HasArg: true, Desc: "set the topic", Required: true},
		{Short: "o", Long: "offline", HasArg: true, Desc: "the group or the topic is offline"},
	},
	Run: runCloneGroupOffset,
}

// runCloneGroupOffset prints CloneGroupOffsetCommand.java's line. Apache's command
// copies the offsets itself (consume stats, then UPDATE_CONSUMER_OFFSET per queue);
// rocketgo's asks each master of the topic to (CLONE_GROUP_OFFSET, 314) — the same
// offsets end up committed.
func runCloneGroupOffset(e *Env, f *Flags) error {
	src, dst, topic := f.Get("s"), f.Get("d"), f.Get("t")
	a, err := e.Admin()
	if err != nil {
		return err
	}
	if err := a.CloneGroupOffset(e.Ctx, src, dst, topic, javaBool(f.Get("o"))); err != nil {
		return err
	}
	e.printf("clone group offset success. srcGroup[%s], destGroup=[%s], topic[%s]", src, dst, topic)
	return nil
}

// subscriptionJSON is the subscription queryCq prints (Java: fastjson's pretty form).
func subscriptionJSON(s *body.SubscriptionData) string {
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err.Error()
	}
	return string(b)
}
