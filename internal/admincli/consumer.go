package admincli

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/body"
)

// Consumer, connection and offset commands: tools/command/consumer/*.java,
// tools/command/connection/*.java and tools/command/offset/*.java of Apache RocketMQ 4.9.

var updateSubGroupCmd = &Command{
	Name: "updateSubGroup", Desc: "Update or create subscription group",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "create subscription group to which broker", Group: "target"},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "create subscription group to which cluster", Group: "target"},
		{Short: "g", Long: "groupName", HasArg: true, Desc: "consumer group name", Required: true},
		{Short: "s", Long: "consumeEnable", HasArg: true, Desc: "consume enable"},
		{Short: "m", Long: "consumeFromMinEnable", HasArg: true, Desc: "from min offset"},
		{Short: "d", Long: "consumeBroadcastEnable", HasArg: true, Desc: "broadcast"},
		{Short: "q", Long: "retryQueueNums", HasArg: true, Desc: "retry queue nums"},
		{Short: "r", Long: "retryMaxTimes", HasArg: true, Desc: "retry max times"},
		{Short: "i", Long: "brokerId", HasArg: true, Desc: "consumer from which broker id"},
		{Short: "w", Long: "whichBrokerWhenConsumeSlowly", HasArg: true, Desc: "which broker id when consume slowly"},
		{Short: "a", Long: "notifyConsumerIdsChanged", HasArg: true, Desc: "notify consumerId changed"},
	},
	Run: runUpdateSubGroup,
}

// runUpdateSubGroup follows UpdateSubGroupSubCommand.java: Apache's defaults except
// consumeBroadcastEnable and consumeFromMinEnable, which the command turns off.
func runUpdateSubGroup(e *Env, f *Flags) error {
	if !f.Has("b") && !f.Has("c") {
		return errors.New("give -b brokerAddr or -c clusterName")
	}
	cfg := client.DefaultSubscriptionGroupConfig(f.Get("g"))
	cfg.ConsumeBroadcastEnable, cfg.ConsumeFromMinEnable = false, false
	for short, dst := range map[string]*bool{"s": &cfg.ConsumeEnable, "m": &cfg.ConsumeFromMinEnable, "d": &cfg.ConsumeBroadcastEnable, "a": &cfg.NotifyConsumerIDsChangedEnable} {
		if f.Has(short) {
			*dst = javaBool(f.Get(short))
		}
	}
	var err error
	if cfg.RetryQueueNums, err = intFlag(f, "q", cfg.RetryQueueNums); err != nil {
		return err
	}
	if cfg.RetryMaxTimes, err = intFlag(f, "r", cfg.RetryMaxTimes); err != nil {
		return err
	}
	for short, dst := range map[string]*int64{"i": &cfg.BrokerID, "w": &cfg.WhichBrokerWhenConsumeSlowly} {
		if f.Has(short) {
			if *dst, err = strconv.ParseInt(f.Get(short), 10, 64); err != nil {
				return fmt.Errorf("-%s %q: not an integer", short, f.Get(short))
			}
		}
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	addrs, err := targetAddrs(e, f)
	if err != nil {
		return err
	}
	for _, addr := range addrs {
		if err := a.UpdateSubscriptionGroup(e.Ctx, cfg, client.OnBrokers(addr)); err != nil {
			return err
		}
		e.printf("create subscription group to %s success.\n", addr)
	}
	e.printf("SubscriptionGroupConfig [groupName=%s, consumeEnable=%t, consumeFromMinEnable=%t, consumeBroadcastEnable=%t, retryQueueNums=%d, retryMaxTimes=%d, brokerId=%d, whichBrokerWhenConsumeSlowly=%d, notifyConsumerIdsChangedEnable=%t]",
		cfg.GroupName, cfg.ConsumeEnable, cfg.ConsumeFromMinEnable, cfg.ConsumeBroadcastEnable, cfg.RetryQueueNums,
		cfg.RetryMaxTimes, cfg.BrokerID, cfg.WhichBrokerWhenConsumeSlowly, cfg.NotifyConsumerIDsChangedEnable)
	return nil
}

var consumerProgressCmd = &Command{
	Name: "consumerProgress", Desc: "Query consumers's progress, speed", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "groupName", HasArg: true, Desc: "consumer group name"},
		{Short: "s", Long: "showClientIP", HasArg: true, Desc: "Show Client IP per Queue"},
	},
	Run: runConsumerProgress,
}

// progressRow is one queue line of consumerProgress -g.
type progressRow struct {
	Topic          string `json:"topic"`
	BrokerName     string `json:"brokerName"`
	QueueID        int32  `json:"queueId"`
	BrokerOffset   int64  `json:"brokerOffset"`
	ConsumerOffset int64  `json:"consumerOffset"`
	Diff           int64  `json:"diff"`
	LastTime       string `json:"lastTime"`
}

// runConsumerProgress follows ConsumerProgressSubCommand.java. Without -g it lists
// every group that has a retry topic with its connection count, version, type, model,
// TPS and total lag. -s true (client of each queue) needs GET_CONSUMER_RUNNING_INFO
// (307), which rocketgo brokers do not relay.
func runConsumerProgress(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	asJSON, _ := e.JSON()
	if javaBool(f.Get("s")) {
		return fmt.Errorf("-s true: %w (GET_CONSUMER_RUNNING_INFO, 307)", client.ErrNotSupported)
	}
	if !f.Has("g") {
		return groupsSummary(e, a, asJSON)
	}
	p, err := a.ConsumerProgress(e.Ctx, f.Get("g"), "")
	if err != nil {
		return err
	}
	var rows []progressRow
	var total int64
	for _, q := range p.Queues {
		last := "N/A"
		if q.LastTimestamp != 0 {
			last = time.UnixMilli(q.LastTimestamp).In(e.Loc).Format("2006-01-02 15:04:05")
		}
		diff := q.BrokerOffset - q.ConsumerOffset
		total += diff
		rows = append(rows, progressRow{q.Queue.Topic, q.Queue.BrokerName, q.Queue.QueueID, q.BrokerOffset, q.ConsumerOffset, diff, last})
	}
	if asJSON {
		return e.printJSON(map[string]any{"group": p.Group, "queues": rows, "consumeTps": p.ConsumeTPS, "diffTotal": total})
	}
	e.printf("%-64s  %-32s  %-4s  %-20s  %-20s  %-20s  %s\n", "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff", "#LastTime")
	for _, r := range rows {
		e.printf("%-64s  %-32s  %-4d  %-20d  %-20d  %-20d  %s\n", front(r.Topic, 64), front(r.BrokerName, 32), r.QueueID, r.BrokerOffset, r.ConsumerOffset, r.Diff, r.LastTime)
	}
	e.printf("\n")
	e.printf("Consume TPS: %.2f\n", p.ConsumeTPS)
	e.printf("Diff Total: %d\n", total)
	return nil
}

// groupRow is one line of consumerProgress without -g.
type groupRow struct {
	Group     string `json:"group"`
	Count     int    `json:"count"`
	Version   string `json:"version"`
	Type      string `json:"consumeType"`
	Model     string `json:"messageModel"`
	TPS       int    `json:"consumeTps"`
	DiffTotal int64  `json:"diffTotal"`
}

func groupsSummary(e *Env, a *client.Admin, asJSON bool) error {
	topics, err := a.ListTopics(e.Ctx)
	if err != nil {
		return err
	}
	var rows []groupRow
	for _, t := range topics {
		group, ok := strings.CutPrefix(t, client.RetryTopicPrefix)
		if !ok {
			continue
		}
		r := groupRow{Group: group, Version: "OFFLINE", Type: "", Model: ""}
		if p, err := a.ConsumerProgress(e.Ctx, group, ""); err == nil {
			r.TPS = int(p.ConsumeTPS)
			for _, q := range p.Queues {
				r.DiffTotal += q.BrokerOffset - q.ConsumerOffset
			}
		}
		if cc, err := a.ConsumerConnection(e.Ctx, group, ""); err == nil {
			r.Count = len(cc.ConnectionSet)
			r.Type, r.Model = cc.ConsumeType, cc.MessageModel
			if r.Count > 0 {
				minV := cc.ConnectionSet[0].Version
				for _, c := range cc.ConnectionSet {
					minV = min(minV, c.Version)
				}
				r.Version = versionDesc(minV)
			}
		}
		rows = append(rows, r)
	}
	if asJSON {
		return e.printJSON(rows)
	}
	e.printf("%-64s  %-6s  %-24s %-5s  %-14s  %-7s  %s\n", "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff Total")
	for _, r := range rows {
		e.printf("%-64s  %-6d  %-24s %-5s  %-14s  %-7d  %d\n", front(r.Group, 64), r.Count, r.Version, typeDesc(r.Type), modelDesc(r.Model), r.TPS, r.DiffTotal)
	}
	return nil
}

// typeDesc and modelDesc are GroupConsumeInfo.consumeTypeDesc and messageModelDesc.
func typeDesc(t string) string {
	switch t {
	case "CONSUME_ACTIVELY":
		return "PULL"
	case "CONSUME_PASSIVELY":
		return "PUSH"
	}
	return ""
}

func modelDesc(m string) string { return m }

var consumerConnectionCmd = &Command{
	Name: "consumerConnection", Desc: "Query consumer's socket connection, client version and subscription", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "consumerGroup", HasArg: true, Desc: "consumer group name", Required: true},
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "broker address"},
	},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		cc, err := a.ConsumerConnection(e.Ctx, f.Get("g"), f.Get("b"))
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			return e.printJSON(cc)
		}
		body.SortConnections(cc.ConnectionSet)
		e.printf("%-36s %-22s %-10s %s\n", "#ClientId", "#ClientAddr", "#Language", "#Version")
		for _, c := range cc.ConnectionSet {
			e.printf("%-36s %-22s %-10s %s\n", c.ClientID, c.ClientAddr, c.Language, versionDesc(c.Version))
		}
		e.printf("\nBelow is subscription:\n")
		e.printf("%-20s %s\n", "#Topic", "#SubExpression")
		for _, t := range slices.Sorted(maps.Keys(cc.SubscriptionTable)) {
			sd := cc.SubscriptionTable[t]
			e.printf("%-20s %s\n", sd.Topic, sd.SubString)
		}
		e.printf("\n")
		e.printf("ConsumeType: %s\n", cc.ConsumeType)
		e.printf("MessageModel: %s\n", cc.MessageModel)
		e.printf("ConsumeFromWhere: %s\n", cc.ConsumeFromWhere)
		return nil
	},
}

var producerConnectionCmd = &Command{
	Name: "producerConnection", Desc: "Query producer's socket connection and client version", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "producerGroup", HasArg: true, Desc: "producer group name", Required: true},
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
	},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		pc, err := a.ProducerConnection(e.Ctx, f.Get("g"), f.Get("t"))
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			return e.printJSON(pc)
		}
		body.SortConnections(pc.ConnectionSet)
		for i, c := range pc.ConnectionSet {
			e.printf("%04d  %-32s %-22s %-8s %s\n", i+1, c.ClientID, c.ClientAddr, c.Language, versionDesc(c.Version))
		}
		return nil
	},
}

var resetOffsetByTimeCmd = &Command{
	Name: "resetOffsetByTime", Desc: "Reset consumer offset by timestamp(without client restart).", Listing: true,
	Opts: []Option{
		{Short: "g", Long: "group", HasArg: true, Desc: "set the consumer group", Required: true},
		{Short: "t", Long: "topic", HasArg: true, Desc: "set the topic", Required: true},
		{Short: "s", Long: "timestamp", HasArg: true, Desc: "set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]", Required: true},
		{Short: "f", Long: "force", HasArg: true, Desc: "set the force rollback by timestamp switch[true|false]"},
		{Short: "c", Long: "cplus", Desc: "reset c++ client offset"},
	},
	Run: runResetOffsetByTime,
}

// runResetOffsetByTime follows ResetOffsetByTimeCommand.java: the brokers reset the
// group online (INVOKE_BROKER_TO_RESET_OFFSET, 222), telling its live consumers to jump;
// where the group has no live consumer (CONSUMER_NOT_ONLINE) it falls back, as Apache
// does, to rewriting the committed offsets (ResetOffsetByTimeOldCommand.java).
func runResetOffsetByTime(e *Env, f *Flags) error {
	group, topic, tsStr := f.Get("g"), f.Get("t"), f.Get("s")
	ts, err := parseResetTime(tsStr, e)
	if err != nil {
		return err
	}
	force := true
	if f.Has("f") {
		force = javaBool(f.Get("f"))
	}
	if f.Has("c") {
		return fmt.Errorf("-c (the C++ client's ResetOffsetBodyForC): %w", client.ErrNotSupported)
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	table, err := a.ResetOffsetOnline(e.Ctx, group, topic, ts, force)
	if errors.Is(err, client.ErrConsumerNotOnline) {
		rows, err := a.ResetOffsetOffline(e.Ctx, group, topic, ts, force)
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			return e.printJSON(rows)
		}
		e.printf("rollback consumer offset by specified consumerGroup[%s], topic[%s], force[%t], timestamp(string)[%s], timestamp(long)[%d]\n",
			group, topic, force, tsStr, ts)
		printRollback(e, rows)
		return nil
	}
	if err != nil {
		return err
	}
	if asJSON, _ := e.JSON(); asJSON {
		return e.printJSON(offsetRows(table))
	}
	e.printf("rollback consumer offset by specified group[%s], topic[%s], force[%t], timestamp(string)[%s], timestamp(long)[%d]\n",
		group, topic, force, tsStr, ts)
	printOffsetTable(e, table)
	return nil
}

// parseResetTime reads -s: "now" (-1), milliseconds since the epoch, or
// yyyy-MM-dd#HH:mm:ss:SSS in local time (UtilAll.YYYY_MM_DD_HH_MM_SS_SSS).
func parseResetTime(s string, e *Env) (int64, error) {
	if s == "now" {
		return -1, nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	t, err := time.ParseInLocation("2006-01-02#15:04:05:000", s, e.Loc)
	if err != nil {
		return 0, fmt.Errorf("-s %q: want now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS", s)
	}
	return t.UnixMilli(), nil
}

// versionDesc is MQVersion.getVersionDesc for the 4.x and 5.x ordinals: from
// V4_0_0_SNAPSHOT (212) each release is a _SNAPSHOT ordinal followed by the release,
// up to V5_9_9 (611); anything above is HIGHER_VERSION.
func versionDesc(v int32) string {
	const first, last = 212, 611
	switch {
	case v > last:
		return "HIGHER_VERSION"
	case v < first:
		return strconv.Itoa(int(v)) // a 3.x client: the ordinal
	}
	n := int(v-first) / 2
	s := fmt.Sprintf("V%d_%d_%d", 4+n/100, n/10%10, n%10)
	if (v-first)%2 == 0 {
		s += "_SNAPSHOT"
	}
	return s
}

var deleteSubGroupCmd = &Command{
	Name: "deleteSubGroup", Desc: "Delete subscription group from broker.",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "delete subscription group from which broker", Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "delete subscription group from which cluster", Group: "target", GroupRequired: true},
		{Short: "g", Long: "groupName", HasArg: true, Desc: "subscription group name", Required: true},
		{Short: "r", Long: "removeOffset", HasArg: true, Desc: "remove offset"},
	},
	Run: runDeleteSubGroup,
}

// runDeleteSubGroup follows DeleteSubscriptionGroupCommand.java: with -c it also deletes
// the group's %RETRY% and %DLQ% topics from the cluster. -r true (RocketMQ 5's option)
// also drops the group's committed offsets.
func runDeleteSubGroup(e *Env, f *Flags) error {
	a, addrs, err := adminAndTargets(e, f)
	if err != nil {
		return err
	}
	group, cluster := f.Get("g"), f.Get("c")
	removeOffset := javaBool(f.Get("r"))
	for _, addr := range addrs {
		if err := a.DeleteSubscriptionGroup(e.Ctx, group, removeOffset, client.OnBrokers(addr)); err != nil {
			return err
		}
		if f.Has("b") {
			e.printf("delete subscription group [%s] from broker [%s] success.\n", group, addr)
			return nil
		}
		e.printf("delete subscription group [%s] from broker [%s] in cluster [%s] success.\n", group, addr, cluster)
	}
	for _, topic := range []string{client.RetryTopicPrefix + group, client.DLQTopicPrefix + group} {
		if err := deleteTopic(e, a, cluster, topic); err != nil {
			return err
		}
	}
	return nil
}
