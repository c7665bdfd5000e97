package admincli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// run invokes mqadmin in-process and returns its stdout, stderr and exit status.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// mustRun is run for a command that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("mqadmin %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// normalizer replaces the fields that vary from run to run.
type normalizer struct{ pairs []string }

func (n *normalizer) apply(s string) string {
	s = strings.NewReplacer(n.pairs...).Replace(s)
	s = timeRE.ReplaceAllString(s, "<TIME>")
	return s
}

var timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(,\d{3})?`)

// golden compares got with testdata/name, whose header lines were taken from the
// Apache source the test cites.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "mqadmin-bodies")
	if err != nil {
		panic(err)
	}
	bodyDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestHelp checks `mqadmin` and `mqadmin help updateTopic` against MQAdminStartup.printHelp
// and commons-cli 1.2's HelpFormatter as ServerUtil.printCommandLineHelp calls it
// (tools/command/MQAdminStartup.java, topic/UpdateTopicSubCommand.java).
func TestHelp(t *testing.T) {
	golden(t, "help.golden", mustRun(t))
	golden(t, "help_updateTopic.golden", mustRun(t, "help", "updateTopic"))
	if out := mustRun(t, "updateTopic", "-h"); out != mustRun(t, "help", "updateTopic") {
		t.Errorf("updateTopic -h differs from help updateTopic:\n%s", out)
	}
	_, errs, code := run(t, "help", "noSuchCommand")
	if code == 0 || !strings.Contains(errs, "The sub command noSuchCommand not exist.") {
		t.Errorf("help of an unknown command: exit %d, stderr %q", code, errs)
	}
}

// TestUsageErrors: a bad command line exits 1 with the reason and the usage on stderr.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, "The sub command nope not exist."},
		{[]string{"topicRoute", "-n", "127.0.0.1:1"}, "Missing required option: t"},
		{[]string{"updateTopic", "-n", "127.0.0.1:1", "-t", "x"}, "Missing required option group: -b <arg> | -c <arg>"},
		{[]string{"topicStatus", "-t", "x", "-z"}, "Unrecognized option: -z"},
		{[]string{"topicStatus", "-t"}, "Missing argument for option: t"},
		{[]string{"topicStatus", "-t", "x"}, "no name server address"},
		{[]string{"topicStatus", "-n", "127.0.0.1:1", "-t", "x", "-o", "yaml"}, `-o "yaml": want text or json`},
	} {
		out, errs, code := run(t, tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// TestTopicCommands runs the topic family against a real namesrv and broker. Headers:
// topic/UpdateTopicSubCommand.java, topic/TopicListSubCommand.java,
// topic/TopicRouteSubCommand.java (FORMAT), topic/TopicStatusSubCommand.java,
// topic/TopicClusterSubCommand.java, topic/DeleteTopicSubCommand.java.
func TestTopicCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	n := &normalizer{pairs: []string{c.BrokerAddr(), "<BROKER>"}}
	waitRegistered(t, ns)

	golden(t, "updateTopic.golden", n.apply(mustRun(t, "updateTopic", "-n", ns, "-c", c.ClusterName(), "-t", "orders", "-r", "4", "-w", "4")))
	c.WaitRoute(t, "orders", 10*time.Second)
	golden(t, "updateTopic_b.golden", n.apply(mustRun(t, "updateTopic", "-n", ns, "-b", c.BrokerAddr(), "-t", "audit", "-p", "4", "-r", "2", "-w", "2")))
	c.WaitRoute(t, "audit", 10*time.Second)

	list := mustRun(t, "topicList", "-n", ns)
	for _, want := range []string{"orders\n", "audit\n"} {
		if !strings.Contains(list, want) {
			t.Errorf("topicList lacks %q:\n%s", want, list)
		}
	}
	golden(t, "topicRoute_l.golden", n.apply(mustRun(t, "topicRoute", "-n", ns, "-t", "orders", "-l")))
	golden(t, "topicRoute.golden", n.apply(mustRun(t, "topicRoute", "-n", ns, "-t", "orders")))
	golden(t, "topicStatus.golden", n.apply(mustRun(t, "topicStatus", "-n", ns, "-t", "orders")))
	golden(t, "topicStatus_json.golden", n.apply(mustRun(t, "topicStatus", "-n", ns, "-t", "orders", "-o", "json")))
	golden(t, "topicClusterList.golden", mustRun(t, "topicClusterList", "-n", ns, "-t", "orders"))

	// topicList -c asks every topic's consumer groups (QUERY_TOPIC_CONSUME_BY_WHO, 300).
	golden(t, "topicList_c.golden", mustRun(t, "topicList", "-n", ns, "-c"))

	golden(t, "deleteTopic.golden", mustRun(t, "deleteTopic", "-n", ns, "-c", c.ClusterName(), "-t", "audit"))
	c.WaitNoRoute(t, "audit", 10*time.Second)
	if _, errs, code := run(t, "topicStatus", "-n", ns, "-t", "audit"); code != 1 || errs == "" {
		t.Errorf("topicStatus of a deleted topic: exit %d, stderr %q", code, errs)
	}
}

// TestClusterCommands: cluster/ClusterListSubCommand.java (printClusterBaseInfo) and
// broker/BrokerStatusSubCommand.java.
func TestClusterCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	waitRegistered(t, ns)
	out := mustRun(t, "clusterList", "-n", ns)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	golden(t, "clusterList_header.golden", lines[0]+"\n")
	want := regexp.MustCompile(`^DefaultCluster    broker-a                0     ` + regexp.QuoteMeta(c.BrokerAddr()) + ` +V4_9_7 +\s+\d+\.\d\d\(0,0ms\)\s+\d+\.\d\d\(0,0ms\) +0 +\d+\.\d\d +\d\.\d{4}$`)
	if !want.MatchString(lines[1]) {
		t.Errorf("clusterList broker line %q does not match %s", lines[1], want)
	}
	if _, _, code := run(t, "clusterList", "-n", ns, "-m"); code != 1 {
		t.Errorf("clusterList -m: exit %d, want 1 (VIEW_BROKER_STATS_DATA unsupported)", code)
	}

	status := mustRun(t, "brokerStatus", "-n", ns, "-b", c.BrokerAddr())
	keyRE := regexp.MustCompile(`(?m)^(\S+) +: `)
	var keys []string
	for _, m := range keyRE.FindAllStringSubmatch(status, -1) {
		keys = append(keys, m[1])
	}
	golden(t, "brokerStatus_keys.golden", strings.Join(keys, "\n")+"\n")
	if !strings.Contains(status, "brokerVersionDesc               : V4_9_7\n") {
		t.Errorf("brokerStatus lacks the %%-32s: %%s version line:\n%s", status)
	}
	byCluster := mustRun(t, "brokerStatus", "-n", ns, "-c", c.ClusterName())
	if !strings.HasPrefix(byCluster, c.BrokerAddr()+strings.Repeat(" ", 24-len(c.BrokerAddr()))+" ") {
		t.Errorf("brokerStatus -c lines must start with the %%-24s broker address:\n%s", byCluster)
	}
}

// TestMessageAndConsumerCommands sends with sendMessage, finds the messages with the
// query commands, and moves a group's offsets with resetOffsetByTime. Headers:
// message/SendMessageCommand.java, message/QueryMsgByKeySubCommand.java,
// message/QueryMsgByIdSubCommand.java, message/QueryMsgByUniqueKeySubCommand.java,
// consumer/UpdateSubGroupSubCommand.java, consumer/ConsumerProgressSubCommand.java,
// offset/ResetOffsetByTimeOldCommand.java, connection/ProducerConnectionSubCommand.java,
// connection/ConsumerConnectionSubCommand.java.
func TestMessageAndConsumerCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "pay", 1)
	// A consumer's first heartbeat creates its group's retry topic, through which
	// consumerProgress finds the group's brokers (as examineConsumeStats does).
	c.CreateTopic(t, "%RETRY%billing", 1)
	n := &normalizer{pairs: []string{c.BrokerAddr(), "<BROKER>"}}

	var uniq []string
	for i, body := range []string{"one", "two", "three"} {
		out := mustRun(t, "sendMessage", "-n", ns, "-t", "pay", "-p", body, "-k", "order-"+string(rune('a'+i)), "-c", "TagA")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("sendMessage output:\n%s", out)
		}
		golden(t, "sendMessage_header.golden", lines[0]+"\n")
		f := strings.Fields(lines[1])
		if len(f) != 4 || f[0] != "broker-a" || f[1] != "0" || f[2] != "SEND_OK" {
			t.Fatalf("sendMessage result line %q", lines[1])
		}
		uniq = append(uniq, f[3])
	}

	var byKey string
	testutil.Eventually(t, 10*time.Second, "the key index to find order-b", func() bool {
		byKey = mustRun(t, "queryMsgByKey", "-n", ns, "-t", "pay", "-k", "order-b")
		return strings.Count(byKey, "\n") == 2
	})
	golden(t, "queryMsgByKey.golden", strings.Replace(byKey, uniq[1], "<MSGID>", 1))

	out := mustRun(t, "queryMsgByUniqueKey", "-n", ns, "-t", "pay", "-i", uniq[2])
	golden(t, "queryMsgByUniqueKey.golden", normalizeMsg(n.apply(strings.ReplaceAll(out, uniq[2], "<MSGID>"))))
	if b, err := os.ReadFile(filepath.Join(bodyDir, uniq[2])); err != nil || string(b) != "three" {
		t.Errorf("body file of %s: %q, %v", uniq[2], b, err)
	}

	// queryMsgById takes the offset id, which queryMsgByUniqueKey does not print: get it
	// from the admin client.
	a, err := client.NewAdmin(client.WithNameServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	m, err := a.QueryMessageByID(context.Background(), "pay", uniq[0])
	if err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "queryMsgById", "-n", ns, "-i", m.OffsetMsgID)
	golden(t, "queryMsgById.golden", normalizeMsg(n.apply(strings.NewReplacer(m.OffsetMsgID, "<OFFSETID>", uniq[0], "<MSGID>").Replace(out))))

	golden(t, "updateSubGroup.golden", n.apply(mustRun(t, "updateSubGroup", "-n", ns, "-c", c.ClusterName(), "-g", "billing", "-r", "3")))

	// Commit the group at the start of the queue: resetOffsetByTime to time 0.
	out = mustRun(t, "resetOffsetByTime", "-n", ns, "-g", "billing", "-t", "pay", "-s", "0")
	golden(t, "resetOffsetByTime.golden", out)
	if off, ok := c.ConsumerOffset(t, "billing", "pay", 0); !ok || off != 0 {
		t.Errorf("committed offset after reset to 0: %d, %v", off, ok)
	}
	out = mustRun(t, "consumerProgress", "-n", ns, "-g", "billing")
	golden(t, "consumerProgress.golden", n.apply(out))
	// Reset to now: the group skips the three messages.
	mustRun(t, "resetOffsetByTime", "-n", ns, "-g", "billing", "-t", "pay", "-s", "now")
	if off, _ := c.ConsumerOffset(t, "billing", "pay", 0); off != 3 {
		t.Errorf("committed offset after reset to now: %d, want 3", off)
	}
	golden(t, "consumerProgress_json.golden", n.apply(mustRun(t, "consumerProgress", "-n", ns, "-g", "billing", "-o", "json")))

	// No consumer is online: consumerConnection fails with the broker's reason.
	if out, errs, code := run(t, "consumerConnection", "-n", ns, "-g", "billing"); code != 1 || out != "" || errs == "" {
		t.Errorf("consumerConnection without consumers: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	p, err := client.NewProducer(client.WithNameServer(ns), client.WithProducerGroup("pg"), client.WithInstanceName("conn-test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	// A producer heartbeats the brokers of the topics it has sent to.
	if _, err := p.Send(context.Background(), client.NewMessage("pay", []byte("four"))); err != nil {
		t.Fatal(err)
	}
	var conn string
	testutil.Eventually(t, 10*time.Second, "the producer's heartbeat", func() bool {
		out, _, code := run(t, "producerConnection", "-n", ns, "-g", "pg", "-t", "pay")
		conn = out
		return code == 0 && out != ""
	})
	connRE := regexp.MustCompile(`^0001  \S+ +127\.0\.0\.1:\d+ +GO +V\d_\d_\d\n$`)
	if !connRE.MatchString(conn) {
		t.Errorf("producerConnection %q does not match %s", conn, connRE)
	}
}

// waitRegistered polls until the broker has registered with the NameServer.
func waitRegistered(t *testing.T, ns string) {
	testutil.Eventually(t, 10*time.Second, "the broker to register", func() bool {
		out, _, code := run(t, "clusterList", "-n", ns)
		return code == 0 && strings.Count(out, "\n") == 2
	})
}

// normalizeMsg blanks the ports and the body directory of the message detail.
func normalizeMsg(s string) string {
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "<HOST>")
	s = strings.ReplaceAll(s, bodyDir, "<BODYDIR>")
	return regexp.MustCompile(`UNIQ_KEY=[0-9A-F]+`).ReplaceAllString(s, "UNIQ_KEY=<MSGID>")
}

// TestRocketgoCommands: the rocketgo extension commands on an idle broker.
func TestRocketgoCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "later", 1)
	waitRegistered(t, ns)
	golden(t, "pendingTransactions_empty.golden", mustRun(t, "pendingTransactions", "-n", ns))
	if out := mustRun(t, "pendingTransactions", "-n", ns, "-o", "json"); out != "null\n" {
		t.Errorf("pendingTransactions -o json on an idle broker: %q", out)
	}
	_, errs, code := run(t, "cancelTimer", "-n", ns, "-t", "later", "-i", "0A0000000000000000000000000000AB")
	if code != 1 || !strings.Contains(errs, "no pending timer message") {
		t.Errorf("cancelTimer of an unknown id: exit %d, stderr %q", code, errs)
	}
	_, errs, code = run(t, "listDLQ", "-n", ns, "-b", c.BrokerAddr(), "-g", "nobody")
	if code != 1 || errs == "" {
		t.Errorf("listDLQ of a group without dead letters: exit %d, stderr %q", code, errs)
	}
	_, errs, code = run(t, "resolveTransaction", "-n", ns, "-b", c.BrokerAddr(), "-l", "12345", "-a", "commit")
	if code != 1 || errs == "" {
		t.Errorf("resolveTransaction of no half message: exit %d, stderr %q", code, errs)
	}
}
