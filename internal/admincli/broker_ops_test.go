package admincli

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// liveConsumer is an SDK push consumer that records every body it is given.
type liveConsumer struct {
	pc     *client.PushConsumer
	mu     sync.Mutex
	bodies []string
}

func startLiveConsumer(t *testing.T, ns, group, topic string) *liveConsumer {
	t.Helper()
	lc := &liveConsumer{}
	pc, err := client.NewPushConsumer(client.WithNameServer(ns), client.WithConsumerGroup(group),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset), client.WithInstanceName("live-"+group))
	if err != nil {
		t.Fatal(err)
	}
	err = pc.Subscribe(topic, client.ByTag("*"), func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		lc.mu.Lock()
		defer lc.mu.Unlock()
		for _, m := range msgs {
			lc.bodies = append(lc.bodies, string(m.Body))
		}
		return client.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Shutdown(context.Background()) })
	lc.pc = pc
	return lc
}

func (lc *liveConsumer) got() []string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return slices.Clone(lc.bodies)
}

// sendAll sends bodies to topic, each stored in a later millisecond than the one
// before, and returns their store times and offset ids.
func sendAll(t *testing.T, ns, topic string, bodies ...string) (times []int64, ids []string) {
	t.Helper()
	p, err := client.NewProducer(client.WithNameServer(ns), client.WithProducerGroup("pg-"+topic), client.WithInstanceName("send-"+topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	a, err := client.NewAdmin(client.WithNameServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, b := range bodies {
		if len(times) > 0 {
			last := times[len(times)-1]
			testutil.Eventually(t, time.Second, "the next millisecond", func() bool { return time.Now().UnixMilli() > last })
		}
		r, err := p.Send(context.Background(), client.NewMessage(topic, []byte(b)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := a.QueryMessageByID(context.Background(), topic, r.OffsetMsgID)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, m.StoreTimestamp)
		ids = append(ids, r.OffsetMsgID)
	}
	return times, ids
}

// TestOnlineOffsetCommands runs the commands that act on a live SDK consumer through
// the broker: resetOffsetByTime online (offset/ResetOffsetByTimeCommand.java),
// getConsumerStatus (offset/GetConsumerStatusCommand.java), consumerStatus
// (consumer/ConsumerStatusSubCommand.java), queryMsgById -g -d
// (message/QueryMsgByIdSubCommand.java), cloneGroupOffset
// (offset/CloneGroupOffsetCommand.java) and skipAccumulatedMessage on a group without
// consumers (offset/SkipAccumulationSubCommand.java, ResetOffsetByTimeOldCommand's table).
func TestOnlineOffsetCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "ledger", 1)
	c.CreateTopic(t, "%RETRY%live", 1)
	c.CreateTopic(t, "%RETRY%idle", 1)
	times, ids := sendAll(t, ns, "ledger", "m0", "m1", "m2", "m3")
	lc := startLiveConsumer(t, ns, "live", "ledger")
	testutil.Eventually(t, 20*time.Second, "the four messages", func() bool { return len(lc.got()) == 4 })
	testutil.Eventually(t, 20*time.Second, "the commit of offset 4", func() bool {
		off, _ := c.ConsumerOffset(t, "live", "ledger", 0)
		return off == 4
	})

	// Online reset to m2's store time: the running consumer re-consumes m2 and m3 (in
	// either order: the listener runs concurrently).
	ts := fmt.Sprint(times[2])
	out := mustRun(t, "resetOffsetByTime", "-n", ns, "-g", "live", "-t", "ledger", "-s", ts)
	golden(t, "resetOffsetByTime_online.golden", strings.ReplaceAll(out, ts, "<TS>"))
	testutil.Eventually(t, 20*time.Second, "m2 and m3 again", func() bool { return len(lc.got()) == 6 })
	if got := slices.Sorted(slices.Values(lc.got()[4:])); !slices.Equal(got, []string{"m2", "m3"}) {
		t.Fatalf("re-consumed %q, want m2 m3", got)
	}

	id := lc.pc.ClientID()
	testutil.Eventually(t, 20*time.Second, "the consumer's offset back at 4", func() bool {
		out := mustRun(t, "getConsumerStatus", "-n", ns, "-g", "live", "-t", "ledger")
		return strings.Contains(out, " 4 ")
	})
	n := &normalizer{pairs: []string{id, "<CLIENT>"}}
	golden(t, "getConsumerStatus.golden", n.apply(mustRun(t, "getConsumerStatus", "-n", ns, "-g", "live", "-t", "ledger")))

	dir := t.TempDir()
	runInfoDir = dir
	out = mustRun(t, "consumerStatus", "-n", ns, "-g", "live")
	re := regexp.MustCompile(`^#Index     #ClientId                                #Version             #ConsumerRunningInfoFile\n1          \S+ +V\d_\d_\d+ +(\d+/\S+)\n\n\nSame subscription in the same group of consumer\n\nRebalance OK\n$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("consumerStatus:\n%s", out)
	}
	if b, err := os.ReadFile(dir + "/" + m[1]); err != nil || !strings.Contains(string(b), "Topic: ledger ") {
		t.Errorf("running info file %s: %v\n%s", m[1], err, b)
	}
	one := mustRun(t, "consumerStatus", "-n", ns, "-g", "live", "-i", id)
	for _, want := range []string{"#Consumer Properties#\n",
		fmt.Sprintf("%03d Topic: %-40s ClassFilter: %-8t SubExpression: %s\n", 2, "ledger", false, "*"),
		"#Consumer Offset#\n", fmt.Sprintf("%-32s  %-32s  %-4d  %-20d\n", "ledger", "broker-a", 0, 4)} {
		if !strings.Contains(one, want) {
			t.Errorf("consumerStatus -i lacks %q:\n%s", want, one)
		}
	}

	// queryMsgById -g -d: the live consumer consumes m1 once more, at once.
	out = mustRun(t, "queryMsgById", "-n", ns, "-i", ids[1], "-g", "live", "-d", id)
	if !regexp.MustCompile(`^ConsumeMessageDirectlyResult \[order=false, autoCommit=true, consumeResult=CR_SUCCESS, remark=null, spentTimeMills=\d+\]$`).MatchString(out) {
		t.Errorf("queryMsgById -g -d: %q", out)
	}
	testutil.Eventually(t, 10*time.Second, "the direct delivery", func() bool { return len(lc.got()) == 7 })
	if got := lc.got()[6]; got != "m1" {
		t.Errorf("directly consumed %q, want m1", got)
	}

	testutil.Eventually(t, 20*time.Second, "live's commit of offset 4", func() bool {
		off, _ := c.ConsumerOffset(t, "live", "ledger", 0)
		return off == 4
	})
	out = mustRun(t, "cloneGroupOffset", "-n", ns, "-s", "live", "-d", "idle", "-t", "ledger")
	golden(t, "cloneGroupOffset.golden", out)
	if off, ok := c.ConsumerOffset(t, "idle", "ledger", 0); !ok || off != 4 {
		t.Fatalf("idle after clone: %d %v", off, ok)
	}

	// idle has no consumer: skipAccumulatedMessage falls back to rewriting its offset.
	mustRun(t, "resetOffsetByTime", "-n", ns, "-g", "idle", "-t", "ledger", "-s", "0")
	golden(t, "skipAccumulatedMessage_offline.golden", mustRun(t, "skipAccumulatedMessage", "-n", ns, "-g", "idle", "-t", "ledger"))
	if off, _ := c.ConsumerOffset(t, "idle", "ledger", 0); off != 4 {
		t.Fatalf("idle after skip: %d, want 4", off)
	}
	// ... and online for live, which is at the end already.
	golden(t, "skipAccumulatedMessage_online.golden", mustRun(t, "skipAccumulatedMessage", "-n", ns, "-g", "live", "-t", "ledger", "-o", "json"))
}

// TestBrokerMaintenanceCommands runs brokerConsumeStats
// (broker/BrokerConsumeStatsSubCommad.java), queryCq (queue/QueryConsumeQueueCommand.java),
// statsAll (stats/StatsAllSubCommand.java), cleanExpiredCQ
// (broker/CleanExpiredCQSubCommand.java) and cleanUnusedTopic
// (broker/CleanUnusedTopicCommand.java) against a real cluster.
func TestBrokerMaintenanceCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "stock", 1)
	times, _ := sendAll(t, ns, "stock", "s0", "s1", "s2")
	a, err := client.NewAdmin(client.WithNameServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mustRun(t, "updateSubGroup", "-n", ns, "-b", c.BrokerAddr(), "-g", "audit")
	mustRun(t, "updateTopic", "-n", ns, "-b", c.BrokerAddr(), "-t", "%RETRY%audit", "-r", "1", "-w", "1")
	c.WaitRoute(t, "%RETRY%audit", 10*time.Second)
	mustRun(t, "resetOffsetByTime", "-n", ns, "-g", "audit", "-t", "stock", "-s", fmt.Sprint(times[2]))

	n := &normalizer{pairs: []string{c.BrokerAddr(), "<BROKER>"}}
	golden(t, "brokerConsumeStats.golden", n.apply(mustRun(t, "brokerConsumeStats", "-n", ns, "-b", c.BrokerAddr())))
	golden(t, "brokerConsumeStats_json.golden", regexp.MustCompile(`"lastTimestamp": \d+`).ReplaceAllString(
		mustRun(t, "brokerConsumeStats", "-n", ns, "-b", c.BrokerAddr(), "-o", "json"), `"lastTimestamp": <TS>`))

	out := mustRun(t, "queryCq", "-n", ns, "-t", "stock", "-q", "0", "-i", "1", "-c", "5")
	golden(t, "queryCq.golden", regexp.MustCompile(`physicOffset=\d+`).ReplaceAllString(out, "physicOffset=<PHY>"))
	if _, errs, code := run(t, "queryCq", "-n", ns, "-t", "stock", "-q", "0", "-i", "9", "-b", c.BrokerAddr()); code != 1 || !strings.Contains(errs, "Index 9 of 0@stock is not exist!") {
		t.Errorf("queryCq past the end: exit %d, stderr %q", code, errs)
	}

	stats := mustRun(t, "statsAll", "-n", ns, "-t", "stock")
	lines := strings.Split(strings.TrimSuffix(stats, "\n"), "\n")
	golden(t, "statsAll_header.golden", lines[0]+"\n")
	row := regexp.MustCompile(`^stock +audit +1 +\d+\.\d\d +\d+\.\d\d +\d+ +\d+$`)
	if len(lines) != 2 || !row.MatchString(lines[1]) {
		t.Errorf("statsAll rows:\n%s", stats)
	}

	for _, cmd := range []string{"cleanExpiredCQ", "cleanUnusedTopic"} {
		if out := mustRun(t, cmd, "-n", ns, "-c", c.ClusterName()); out != "success" {
			t.Errorf("%s -c: %q", cmd, out)
		}
		if out := mustRun(t, cmd, "-n", ns, "-b", c.BrokerAddr()); out != "success" {
			t.Errorf("%s -b: %q", cmd, out)
		}
	}
	if got := c.MaxOffset(t, "stock", 0); got != 3 {
		t.Errorf("stock's queue after the cleanups: max %d, want 3", got)
	}
	if _, errs, code := run(t, "cleanUnusedTopic", "-n", ns, "-b", "127.0.0.1:1"); code != 1 || errs == "" {
		t.Errorf("cleanUnusedTopic on a dead broker: exit %d, stderr %q", code, errs)
	}
}
