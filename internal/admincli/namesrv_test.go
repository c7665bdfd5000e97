package admincli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/namesrv"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestNamesrvCommands runs the NameServer commands against a real NameServer and
// broker. Output: namesrv/WipeWritePermSubCommand.java, namesrv/AddWritePermSubCommand.java,
// namesrv/GetNamesrvConfigCommand.java, namesrv/UpdateNamesrvConfigCommand.java,
// topic/UpdateOrderConfCommand.java.
func TestNamesrvCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "orders", 2)
	a, err := client.NewAdmin(client.WithNameServer(ns), client.WithInstanceName("namesrv-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	topics, err := a.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perm := func(topic string) int32 {
		t.Helper()
		r, err := a.TopicRoute(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		return r.QueueDatas[0].Perm
	}
	n := &normalizer{pairs: []string{ns, "<NAMESRV>", fmt.Sprintf(", %d\n", len(topics)), ", <TOPICS>\n"}}

	// Every topic of the one broker is touched: the count is the NameServer's topic count.
	out := mustRun(t, "wipeWritePerm", "-n", ns, "-b", "broker-a")
	if want := fmt.Sprintf("wipe write perm of broker[broker-a] in name server[%s] OK, %d\n", ns, len(topics)); out != want {
		t.Fatalf("wipeWritePerm: %q, want %q", out, want)
	}
	golden(t, "wipeWritePerm.golden", n.apply(out))
	if p := perm("orders"); p != body.PermRead {
		t.Fatalf("perm after wipeWritePerm: %d, want %d", p, body.PermRead)
	}
	// A producer reading the route now finds no writable queue of broker-a.
	p, err := client.NewProducer(client.WithNameServer(ns), client.WithProducerGroup("wiped"), client.WithInstanceName("wiped"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	if res, err := p.Send(ctx, client.NewMessage("orders", []byte("x"))); !errors.Is(err, client.ErrNoRoute) {
		t.Fatalf("send to a wiped broker: %+v, %v; want ErrNoRoute (no writable queue)", res, err)
	}
	if _, errs, code := run(t, "sendMessage", "-n", ns, "-t", "orders", "-p", "x"); code != 1 || errs == "" {
		t.Fatalf("sendMessage to a wiped broker: exit %d, stderr %q", code, errs)
	}

	out = mustRun(t, "addWritePerm", "-n", ns, "-b", "broker-a")
	golden(t, "addWritePerm.golden", n.apply(out))
	if p := perm("orders"); p != body.PermRead|body.PermWrite {
		t.Fatalf("perm after addWritePerm: %d, want 6", p)
	}
	mustRun(t, "sendMessage", "-n", ns, "-t", "orders", "-p", "x")
	if _, errs, code := run(t, "wipeWritePerm", "-n", "127.0.0.1:1", "-b", "broker-a"); code != 1 || !strings.Contains(errs, "127.0.0.1:1") {
		t.Fatalf("wipeWritePerm on a dead NameServer: exit %d, stderr %q", code, errs)
	}

	cfgN := &normalizer{pairs: []string{ns, "<NAMESRV>", filepath.Dir(c.StoreDir()), "<DIR>"}}
	golden(t, "getNamesrvConfig.golden", cfgN.apply(mustRun(t, "getNamesrvConfig", "-n", ns)))
	var cfg map[string]map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, "getNamesrvConfig", "-n", ns, "-o", "json")), &cfg); err != nil || cfg[ns]["orderMessageEnable"] != "false" {
		t.Fatalf("getNamesrvConfig -o json: %v %v", cfg, err)
	}
	golden(t, "updateNamesrvConfig.golden", cfgN.apply(mustRun(t, "updateNamesrvConfig", "-n", ns, "-k", "orderMessageEnable", "-v", "true")))
	if _, errs, code := run(t, "updateNamesrvConfig", "-n", ns, "-k", "brokerExpiry", "-v", "5000"); code != 1 || !strings.Contains(errs, "not applied, read only at start: brokerExpiry") {
		t.Fatalf("updateNamesrvConfig of a start-only key: exit %d, stderr %q", code, errs)
	}
	if _, errs, code := run(t, "updateNamesrvConfig", "-n", ns, "-k", "kvConfigPath", "-v", "/tmp/x"); code != 1 || !strings.Contains(errs, "Can not update config path") {
		t.Fatalf("updateNamesrvConfig kvConfigPath: exit %d, stderr %q", code, errs)
	}

	golden(t, "updateOrderConf_put.golden", mustRun(t, "updateOrderConf", "-n", ns, "-t", "orders", "-m", "put", "-v", "broker-a:2"))
	golden(t, "updateOrderConf_get.golden", mustRun(t, "updateOrderConf", "-n", ns, "-t", "orders", "-m", "get"))
	// orderMessageEnable is on: the route carries the entry as orderTopicConf.
	if r, err := a.TopicRoute(ctx, "orders"); err != nil || r.OrderTopicConf != "broker-a:2" {
		t.Fatalf("orderTopicConf %v, %v; want broker-a:2", r, err)
	}
	golden(t, "updateOrderConf_delete.golden", mustRun(t, "updateOrderConf", "-n", ns, "-t", "orders", "-m", "delete"))
	if _, errs, code := run(t, "updateOrderConf", "-n", ns, "-t", "orders", "-m", "get"); code != 1 ||
		!strings.Contains(errs, "No config item, Namespace: ORDER_TOPIC_CONFIG Key: orders") {
		t.Fatalf("get of a deleted order conf: exit %d, stderr %q", code, errs)
	}
	if _, errs, code := run(t, "updateOrderConf", "-n", ns, "-t", "orders", "-m", "put"); code != 1 || !strings.Contains(errs, "please set orderConf with option -v.") {
		t.Fatalf("put without -v: exit %d, stderr %q", code, errs)
	}
	if r, err := a.TopicRoute(ctx, "orders"); err != nil || r.OrderTopicConf != "" {
		t.Fatalf("orderTopicConf after delete %q, %v", r.OrderTopicConf, err)
	}

	// The KV table outlives a NameServer restart: restart with the same kvConfigPath.
	mustRun(t, "updateOrderConf", "-n", ns, "-t", "orders", "-m", "put", "-v", "broker-a:1")
	ns2 := restartNamesrv(t, c)
	if got := mustRun(t, "updateOrderConf", "-n", ns2, "-t", "orders", "-m", "get"); got != "get orderConf success. topic=[orders], orderConf=[broker-a:1] \n" {
		t.Fatalf("order conf after a NameServer restart: %q", got)
	}
}

// restartNamesrv closes the cluster's NameServer and starts another on the same
// kvConfigPath (read from getNamesrvConfig), returning its address.
func restartNamesrv(t *testing.T, c *cluster.Cluster) string {
	t.Helper()
	var cfg map[string]map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, "getNamesrvConfig", "-n", c.NamesrvAddr(), "-o", "json")), &cfg); err != nil {
		t.Fatal(err)
	}
	o := namesrv.DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.MetricsExporterType = "DISABLE"
	o.KvConfigPath = cfg[c.NamesrvAddr()]["kvConfigPath"]
	if err := c.Namesrv().Close(); err != nil {
		t.Fatal(err)
	}
	s := namesrv.New(o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr()
}

// TestHelpOfNamesrvAndPrintCommands: `mqadmin help <cmd>` of each command of
// namesrv.go and message_print.go, rendered as commons-cli 1.2 renders the options of
// the Java command the golden file's name gives (tools/command/namesrv/*.java,
// topic/UpdateOrderConfCommand.java, message/QueryMsgByOffsetSubCommand.java,
// message/PrintMessageSubCommand.java, message/PrintMessageByQueueCommand.java).
func TestHelpOfNamesrvAndPrintCommands(t *testing.T) {
	for _, name := range []string{"wipeWritePerm", "addWritePerm", "getNamesrvConfig", "updateNamesrvConfig",
		"updateOrderConf", "queryMsgByOffset", "printMsg", "printMsgByQueue"} {
		out := mustRun(t, "help", name)
		golden(t, "help_"+name+".golden", out)
		if !strings.Contains(mustRun(t), "   "+name+" ") {
			t.Errorf("mqadmin help does not list %s", name)
		}
	}
}

// TestWipeSurvivesReRegistration (ROCKETGO_LONG=1; it waits for the broker's periodic
// registration, 10 s at the shortest): the re-registration of an unchanged broker keeps
// wipeWritePerm's effect, as in Apache (docs/protocol.md §12.3); a topic change on the
// broker, which registers a new DataVersion, restores the broker's own permission.
func TestWipeSurvivesReRegistration(t *testing.T) {
	if os.Getenv("ROCKETGO_LONG") == "" {
		t.Skip("waits for a periodic registration; set ROCKETGO_LONG=1")
	}
	// The NameServer reads its clock once per registration (and per sweep, which the
	// expiry-long scan interval keeps away): each read is a registration here.
	var clockReads atomic.Int64
	c := cluster.Start(t,
		cluster.WithBrokerOptions(func(o *broker.Options) { o.RegisterPeriod = 10 * time.Second }),
		cluster.WithNamesrvOptions(func(o *namesrv.Options) {
			o.ScanInterval = o.BrokerExpiry
			o.Now = func() time.Time { clockReads.Add(1); return time.Now() }
		}))
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "drained", 1)
	a, err := client.NewAdmin(client.WithNameServer(ns), client.WithInstanceName("reregister-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	perm := func() int32 {
		t.Helper()
		r, err := a.TopicRoute(context.Background(), "drained")
		if err != nil {
			t.Fatal(err)
		}
		return r.QueueDatas[0].Perm
	}
	mustRun(t, "wipeWritePerm", "-n", ns, "-b", "broker-a")
	before := clockReads.Load()
	testutil.Eventually(t, 20*time.Second, "the broker's next periodic registration", func() bool { return clockReads.Load() > before })
	if p := perm(); p != body.PermRead {
		t.Fatalf("perm after the broker re-registered unchanged: %d, want %d", p, body.PermRead)
	}
	c.CreateTopic(t, "changed", 1)
	testutil.Eventually(t, 10*time.Second, "the changed registration to restore write", func() bool { return perm() == body.PermRead|body.PermWrite })
}
