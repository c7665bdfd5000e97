package admincli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/body"
)

// Topic commands: tools/command/topic/*.java of Apache RocketMQ 4.9.

var updateTopicCmd = &Command{
	Name: "updateTopic", Desc: "Update or create topic",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "create topic to which broker", Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "create topic to which cluster", Group: "target", GroupRequired: true},
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "r", Long: "readQueueNums", HasArg: true, Desc: "set read queue nums"},
		{Short: "w", Long: "writeQueueNums", HasArg: true, Desc: "set write queue nums"},
		{Short: "p", Long: "perm", HasArg: true, Desc: "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]"},
		{Short: "o", Long: "order", HasArg: true, Desc: "set topic's order(true|false)"},
		{Short: "u", Long: "unit", HasArg: true, Desc: "is unit topic (true|false)"},
		{Short: "s", Long: "hasUnitSub", HasArg: true, Desc: "has unit sub (true|false)"},
	},
	Run: runUpdateTopic,
}

// runUpdateTopic follows UpdateTopicSubCommand.java: one "create topic to <addr>
// success." line per broker, then TopicConfig.toString() without a newline.
func runUpdateTopic(e *Env, f *Flags) error {
	cfg := client.TopicConfig{Topic: f.Get("t"), ReadQueueNums: 8, WriteQueueNums: 8, Perm: body.PermRead | body.PermWrite, FilterType: body.FilterSingleTag}
	var err error
	if cfg.ReadQueueNums, err = intFlag(f, "r", cfg.ReadQueueNums); err != nil {
		return err
	}
	if cfg.WriteQueueNums, err = intFlag(f, "w", cfg.WriteQueueNums); err != nil {
		return err
	}
	if cfg.Perm, err = intFlag(f, "p", cfg.Perm); err != nil {
		return err
	}
	unit, centerSync := javaBool(f.Get("u")), javaBool(f.Get("s"))
	if unit {
		cfg.SysFlag |= 1 // TopicSysFlag.FLAG_UNIT
	}
	if centerSync {
		cfg.SysFlag |= 2 // TopicSysFlag.FLAG_UNIT_SUB
	}
	cfg.Order = javaBool(f.Get("o"))
	a, err := e.Admin()
	if err != nil {
		return err
	}
	addrs, err := targetAddrs(e, f)
	if err != nil {
		return err
	}
	for _, addr := range addrs {
		if err := a.CreateTopic(e.Ctx, cfg, client.OnBrokers(addr)); err != nil {
			return err
		}
		e.printf("create topic to %s success.\n", addr)
	}
	e.printf("%s", topicConfigString(cfg))
	return nil
}

// topicConfigString is TopicConfig.toString().
func topicConfigString(cfg client.TopicConfig) string {
	return fmt.Sprintf("TopicConfig [topicName=%s, readQueueNums=%d, writeQueueNums=%d, perm=%s, topicFilterType=%s, topicSysFlag=%d, order=%t]",
		cfg.Topic, cfg.ReadQueueNums, cfg.WriteQueueNums, permString(cfg.Perm), cfg.FilterType, cfg.SysFlag, cfg.Order)
}

var deleteTopicCmd = &Command{
	Name: "deleteTopic", Desc: "Delete topic from broker and NameServer.",
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "delete topic from which cluster", Required: true},
	},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		return deleteTopic(e, a, f.Get("c"), f.Get("t"))
	},
}

// deleteTopic is DeleteTopicSubCommand.deleteTopic: delete from the cluster's masters and
// the NameServers, one line each.
func deleteTopic(e *Env, a *client.Admin, cluster, topic string) error {
	if err := a.DeleteTopic(e.Ctx, topic, client.OnCluster(cluster)); err != nil {
		return err
	}
	e.printf("delete topic [%s] from cluster [%s] success.\n", topic, cluster)
	e.printf("delete topic [%s] from NameServer success.\n", topic)
	return nil
}

var updateTopicPermCmd = &Command{
	Name: "updateTopicPerm", Desc: "Update topic perm",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "create topic to which broker", Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "create topic to which cluster", Group: "target", GroupRequired: true},
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "p", Long: "perm", HasArg: true, Desc: "set topic's permission(2|4|6), intro[2:W; 4:R; 6:RW]", Required: true},
	},
	Run: runUpdateTopicPerm,
}

// runUpdateTopicPerm follows UpdateTopicPermSubCommand.java: the topic's queue counts and
// flags come from the first queue data of its route; UPDATE_AND_CREATE_TOPIC (17) then
// carries the new perm to the broker, or to every master of the cluster.
func runUpdateTopicPerm(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	topic := f.Get("t")
	r, err := a.TopicRoute(e.Ctx, topic)
	if err != nil {
		return err
	}
	if len(r.QueueDatas) == 0 {
		return fmt.Errorf("topic %s has no queue data in its route", topic)
	}
	qd := r.QueueDatas[0]
	perm, err := strconv.ParseInt(f.Get("p"), 10, 32)
	if err != nil {
		return fmt.Errorf("-p %q: not an integer", f.Get("p"))
	}
	if int32(perm) == qd.Perm {
		e.printf("new perm equals to the old one!\n")
		return nil
	}
	cfg := client.TopicConfig{Topic: topic, ReadQueueNums: qd.ReadQueueNums, WriteQueueNums: qd.WriteQueueNums,
		Perm: int32(perm), SysFlag: qd.TopicSysFlag, FilterType: body.FilterSingleTag}
	addrs, err := targetAddrs(e, f)
	if err != nil {
		return err
	}
	for _, addr := range addrs {
		if err := a.UpdateTopic(e.Ctx, cfg, client.OnBrokers(addr)); err != nil {
			return err
		}
		e.printf("update topic perm from %d to %d in %s success.\n", qd.Perm, perm, addr)
	}
	if f.Has("b") {
		e.printf("%s\n", topicConfigString(cfg))
	}
	return nil
}

var topicListCmd = &Command{
	Name: "topicList", Desc: "Fetch all topic list from name server", Listing: true,
	Opts: []Option{{Short: "c", Long: "clusterModel", Desc: "clusterModel"}},
	Run:  runTopicList,
}

// topicClusterRow is one line of topicList -c.
type topicClusterRow struct {
	Cluster string `json:"clusterName"`
	Topic   string `json:"topic"`
	Group   string `json:"consumerGroup"`
}

// runTopicList follows TopicListSubCommand.java. With -c it needs the consumer groups
// of every topic (QUERY_TOPIC_CONSUME_BY_WHO); a broker without that request fails the
// command rather than print empty groups.
func runTopicList(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	asJSON, _ := e.JSON()
	topics, err := a.ListTopics(e.Ctx)
	if err != nil {
		return err
	}
	if !f.Has("c") {
		if asJSON {
			return e.printJSON(map[string][]string{"topicList": topics})
		}
		for _, t := range topics {
			e.printf("%s\n", t)
		}
		return nil
	}
	ci, err := a.Clusters(e.Ctx)
	if err != nil {
		return err
	}
	var rows []topicClusterRow
	for _, t := range topics {
		if strings.HasPrefix(t, client.RetryTopicPrefix) || strings.HasPrefix(t, client.DLQTopicPrefix) {
			continue
		}
		cluster := ""
		if r, err := a.TopicRoute(e.Ctx, t); err == nil && len(r.BrokerDatas) > 0 {
			cluster = clusterOfBroker(ci, r.BrokerDatas[0].BrokerName)
		}
		groups, err := a.TopicConsumers(e.Ctx, t)
		if err != nil {
			return err
		}
		if len(groups) == 0 {
			groups = []string{""}
		}
		for _, g := range groups {
			rows = append(rows, topicClusterRow{cluster, t, g})
		}
	}
	if asJSON {
		return e.printJSON(rows)
	}
	e.printf("%-20s  %-48s  %-48s\n", "#Cluster Name", "#Topic", "#Consumer Group")
	for _, r := range rows {
		e.printf("%-20s  %-64s  %-64s\n", front(r.Cluster, 20), front(r.Topic, 64), front(r.Group, 64))
	}
	return nil
}

var topicRouteCmd = &Command{
	Name: "topicRoute", Desc: "Examine topic route info", Listing: true,
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "l", Long: "list", Desc: "Use list format to print data"},
	},
	Run: runTopicRoute,
}

// topicRouteFormat is TopicRouteSubCommand.FORMAT.
const topicRouteFormat = "%-45s %-32s %-50s %-10s %-11s %-5s\n"

func runTopicRoute(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	r, err := a.TopicRoute(e.Ctx, f.Get("t"))
	if err != nil {
		return err
	}
	asJSON, _ := e.JSON()
	if !f.Has("l") || asJSON {
		// Apache prints TopicRouteData.toJson(true): the route JSON, tab-indented.
		var buf bytes.Buffer
		if err := json.Indent(&buf, r.Encode(), "", "\t"); err != nil {
			return err
		}
		e.printf("%s\n", buf.Bytes())
		return nil
	}
	qds := map[string]body.QueueData{}
	for _, q := range r.QueueDatas {
		qds[q.BrokerName] = q
	}
	bds := slices.Clone(r.BrokerDatas)
	slices.SortFunc(bds, func(x, y body.BrokerData) int { return strings.Compare(x.BrokerName, y.BrokerName) })
	e.printf(topicRouteFormat, "#ClusterName", "#BrokerName", "#BrokerAddrs", "#ReadQueue", "#WriteQueue", "#Perm")
	var totalRead, totalWrite int32
	for _, b := range bds {
		q := qds[b.BrokerName]
		totalRead += q.ReadQueueNums
		totalWrite += q.WriteQueueNums
		e.printf(topicRouteFormat, b.Cluster, b.BrokerName, javaLongMap(b.BrokerAddrs), itoa(q.ReadQueueNums), itoa(q.WriteQueueNums), itoa(q.Perm))
	}
	e.printf("%s\n", strings.Repeat("-", 158))
	e.printf(topicRouteFormat, "Total:", strconv.Itoa(len(qds)), "", itoa(totalRead), itoa(totalWrite), "")
	return nil
}

var topicStatusCmd = &Command{
	Name: "topicStatus", Desc: "Examine topic Status info", Listing: true,
	Opts: []Option{{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true}},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		stats, err := a.TopicStats(e.Ctx, f.Get("t"))
		if err != nil {
			return err
		}
		if asJSON, _ := e.JSON(); asJSON {
			type row struct {
				BrokerName          string `json:"brokerName"`
				QueueID             int32  `json:"queueId"`
				MinOffset           int64  `json:"minOffset"`
				MaxOffset           int64  `json:"maxOffset"`
				LastUpdateTimestamp int64  `json:"lastUpdateTimestamp"`
			}
			rows := []row{}
			for _, s := range stats {
				rows = append(rows, row{s.Queue.BrokerName, s.Queue.QueueID, s.MinOffset, s.MaxOffset, s.LastUpdateTimestamp})
			}
			return e.printJSON(rows)
		}
		e.printf("%-32s  %-4s  %-20s  %-20s    %s\n", "#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated")
		for _, s := range stats {
			last := ""
			if s.LastUpdateTimestamp > 0 {
				last = e.humanTime2(s.LastUpdateTimestamp)
			}
			e.printf("%-32s  %-4d  %-20d  %-20d    %s\n", front(s.Queue.BrokerName, 32), s.Queue.QueueID, s.MinOffset, s.MaxOffset, last)
		}
		return nil
	},
}

var topicClusterListCmd = &Command{
	Name: "topicClusterList", Desc: "get cluster info for topic", Listing: true,
	Opts: []Option{{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true}},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		r, err := a.TopicRoute(e.Ctx, f.Get("t"))
		if err != nil {
			return err
		}
		ci, err := a.Clusters(e.Ctx)
		if err != nil {
			return err
		}
		var clusters []string
		for _, b := range r.BrokerDatas {
			if c := clusterOfBroker(ci, b.BrokerName); c != "" {
				clusters = append(clusters, c)
			}
		}
		slices.Sort(clusters)
		clusters = slices.Compact(clusters)
		if asJSON, _ := e.JSON(); asJSON {
			return e.printJSON(clusters)
		}
		for _, c := range clusters {
			e.printf("%s\n", c)
		}
		return nil
	},
}

// targetAddrs resolves -b or -c to broker addresses: the -b address, or every master of
// the -c cluster (CommandUtil.fetchMasterAddrByClusterName), sorted.
func targetAddrs(e *Env, f *Flags) ([]string, error) {
	if f.Has("b") {
		return []string{f.Get("b")}, nil
	}
	a, err := e.Admin()
	if err != nil {
		return nil, err
	}
	ci, err := a.Clusters(e.Ctx)
	if err != nil {
		return nil, err
	}
	cluster := f.Get("c")
	names, ok := ci.ClusterAddrTable[cluster]
	if !ok {
		return nil, fmt.Errorf("cluster [%s] not exist", cluster)
	}
	var out []string
	for _, n := range names {
		if addr := ci.BrokerAddrTable[n].BrokerAddrs[0]; addr != "" {
			out = append(out, addr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cluster [%s] has no master broker", cluster)
	}
	slices.Sort(out)
	return out, nil
}

func clusterOfBroker(ci *body.ClusterInfo, brokerName string) string {
	for _, c := range slices.Sorted(maps.Keys(ci.ClusterAddrTable)) {
		if slices.Contains(ci.ClusterAddrTable[c], brokerName) {
			return c
		}
	}
	return ""
}

// permString is PermName.perm2String: R, W and X (inherit) or '-'.
func permString(p int32) string {
	b := []byte("---")
	if p&body.PermRead != 0 {
		b[0] = 'R'
	}
	if p&body.PermWrite != 0 {
		b[1] = 'W'
	}
	if p&body.PermInherit != 0 {
		b[2] = 'X'
	}
	return string(b)
}

// javaLongMap renders a brokerId → address map as Java's HashMap.toString does for
// small Long keys: ascending, {0=addr, 1=addr}.
func javaLongMap(m map[int64]string) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d=%s", id, m[id]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// front is UtilAll.frontStringAtLeast: s cut to at most n characters.
func front(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// javaBool is Boolean.parseBoolean: true only for "true", ignoring case.
func javaBool(s string) bool { return strings.EqualFold(s, "true") }

func itoa(v int32) string { return strconv.Itoa(int(v)) }

// intFlag parses an integer flag, def when absent.
func intFlag(f *Flags, short string, def int32) (int32, error) {
	if !f.Has(short) {
		return def, nil
	}
	v, err := strconv.ParseInt(f.Get(short), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("-%s %q: not an integer", short, f.Get(short))
	}
	return int32(v), nil
}
