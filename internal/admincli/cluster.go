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
)

// Cluster and broker commands: tools/command/cluster/ClusterListSubCommand.java and
// tools/command/broker/BrokerStatusSubCommand.java of Apache RocketMQ 4.9.

var clusterListCmd = &Command{
	Name: "clusterList", Desc: "List all of clusters", Listing: true,
	Opts: []Option{
		{Short: "m", Long: "moreStats", Desc: "Print more stats"},
		{Short: "i", Long: "interval", HasArg: true, Desc: "specify intervals numbers, it is in seconds"},
	},
	Run: runClusterList,
}

// clusterRow is one broker line of clusterList.
type clusterRow struct {
	Cluster     string  `json:"clusterName"`
	BrokerName  string  `json:"brokerName"`
	BrokerID    int64   `json:"brokerId"`
	Addr        string  `json:"addr"`
	Version     string  `json:"version"`
	InTPS       float64 `json:"inTps"`
	OutTPS      float64 `json:"outTps"`
	SendQueue   string  `json:"sendThreadPoolQueueSize"`
	SendWait    string  `json:"sendThreadPoolQueueHeadWaitTimeMills"`
	PullQueue   string  `json:"pullThreadPoolQueueSize"`
	PullWait    string  `json:"pullThreadPoolQueueHeadWaitTimeMills"`
	PageCacheMS string  `json:"pageCacheLockTimeMills"`
	Hours       float64 `json:"hours"`
	Space       float64 `json:"commitLogDiskRatio"`
	Error       string  `json:"error,omitempty"`
}

const clusterListFormat = "%-16s  %-22s  %-4s  %-22s %-16s %19s %19s %10s %5s %6s\n"

func runClusterList(e *Env, f *Flags) error {
	if f.Has("m") {
		// printClusterMoreStats reads VIEW_BROKER_STATS_DATA (315), which neither this
		// tool nor rocketgo brokers implement.
		return fmt.Errorf("-m: %w (VIEW_BROKER_STATS_DATA, 315)", client.ErrNotSupported)
	}
	interval := time.Duration(0)
	if f.Has("i") {
		s, err := strconv.ParseInt(f.Get("i"), 10, 64)
		if err != nil || s <= 0 {
			return fmt.Errorf("-i %q: want a positive number of seconds", f.Get("i"))
		}
		interval = time.Duration(s) * time.Second
	}
	for {
		if err := printClusterBaseInfo(e); err != nil {
			return err
		}
		if interval == 0 {
			return nil
		}
		select {
		case <-e.Ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// printClusterBaseInfo is ClusterListSubCommand.printClusterBaseInfo: per broker its
// version, TPS, thread pool queues, hours of messages kept and disk ratio from
// GET_BROKER_RUNTIME_INFO. A broker that does not answer gets a line of zeros (as in
// Apache) and makes the command fail at the end.
func printClusterBaseInfo(e *Env) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	ci, err := a.Clusters(e.Ctx)
	if err != nil {
		return err
	}
	var rows []clusterRow
	var errs []error
	for _, cluster := range slices.Sorted(maps.Keys(ci.ClusterAddrTable)) {
		names := slices.Clone(ci.ClusterAddrTable[cluster])
		slices.Sort(names)
		for _, name := range slices.Compact(names) {
			bd, ok := ci.BrokerAddrTable[name]
			if !ok {
				continue
			}
			for _, id := range slices.Sorted(maps.Keys(bd.BrokerAddrs)) {
				row := clusterRow{Cluster: cluster, BrokerName: name, BrokerID: id, Addr: bd.BrokerAddrs[id]}
				kv, err := a.BrokerRuntimeStats(e.Ctx, row.Addr)
				if err != nil {
					row.Error = err.Error()
					errs = append(errs, err)
				} else {
					row.fill(kv, e.Now())
				}
				rows = append(rows, row)
			}
		}
	}
	if asJSON, _ := e.JSON(); asJSON {
		if err := e.printJSON(rows); err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	e.printf(clusterListFormat, "#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Version", "#InTPS(LOAD)", "#OutTPS(LOAD)", "#PCWait(ms)", "#Hour", "#SPACE")
	for _, r := range rows {
		e.printf(clusterListFormat, r.Cluster, r.BrokerName, strconv.FormatInt(r.BrokerID, 10), r.Addr, r.Version,
			fmt.Sprintf("%9.2f(%s,%sms)", r.InTPS, r.SendQueue, r.SendWait),
			fmt.Sprintf("%9.2f(%s,%sms)", r.OutTPS, r.PullQueue, r.PullWait),
			r.PageCacheMS, fmt.Sprintf("%2.2f", r.Hours), fmt.Sprintf("%.4f", r.Space))
	}
	return errors.Join(errs...)
}

// fill reads the figures clusterList shows from a runtime stats table.
func (r *clusterRow) fill(kv map[string]string, now time.Time) {
	r.Version = kv["brokerVersionDesc"]
	r.InTPS = firstFloat(kv["putTps"])
	r.OutTPS = firstFloat(kv["getTransferedTps"])
	r.SendQueue, r.SendWait = kv["sendThreadPoolQueueSize"], kv["sendThreadPoolQueueHeadWaitTimeMills"]
	r.PullQueue, r.PullWait = kv["pullThreadPoolQueueSize"], kv["pullThreadPoolQueueHeadWaitTimeMills"]
	r.PageCacheMS = kv["pageCacheLockTimeMills"]
	if ms, err := strconv.ParseInt(kv["earliestMessageTimeStamp"], 10, 64); err == nil {
		r.Hours = float64(now.UnixMilli()-ms) / 1000 / 60 / 60
	}
	r.Space, _ = strconv.ParseFloat(kv["commitLogDiskRatio"], 64)
}

// firstFloat parses the first space-separated figure of a TPS value ("12.5 10.1 9.8").
func firstFloat(s string) float64 {
	v, _ := strconv.ParseFloat(strings.Fields(s + " 0")[0], 64)
	return v
}

var brokerStatusCmd = &Command{
	Name: "brokerStatus", Desc: "Fetch broker runtime status data", Listing: true,
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "Broker address"},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "which cluster"},
	},
	Run: runBrokerStatus,
}

// runBrokerStatus prints the runtime table sorted by key; with -c every member
// (master and slaves) of the cluster, each line prefixed by the broker address.
func runBrokerStatus(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	var addrs []string
	switch {
	case f.Has("b"):
		addrs = []string{f.Get("b")}
	case f.Has("c"):
		ci, err := a.Clusters(e.Ctx)
		if err != nil {
			return err
		}
		names, ok := ci.ClusterAddrTable[f.Get("c")]
		if !ok {
			return fmt.Errorf("cluster [%s] not exist", f.Get("c"))
		}
		for _, n := range names {
			addrs = append(addrs, slices.Collect(maps.Values(ci.BrokerAddrTable[n].BrokerAddrs))...)
		}
		slices.Sort(addrs)
	default:
		return errors.New("give -b brokerAddr or -c clusterName")
	}
	all := map[string]map[string]string{}
	var errs []error
	for _, addr := range addrs {
		kv, err := a.BrokerRuntimeStats(e.Ctx, addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all[addr] = kv
	}
	if asJSON, _ := e.JSON(); asJSON {
		if err := e.printJSON(all); err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	for _, addr := range addrs {
		kv := all[addr]
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			if f.Has("b") {
				e.printf("%-32s: %s\n", k, kv[k])
			} else {
				e.printf("%-24s %-32s: %s\n", addr, k, kv[k])
			}
		}
	}
	return errors.Join(errs...)
}
