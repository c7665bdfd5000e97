package admincli

import (
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestDeleteSubGroupAndTopicPerm: consumer/DeleteSubscriptionGroupCommand.java (its
// success lines, then DeleteTopicSubCommand.deleteTopic for %RETRY% and %DLQ%) and
// topic/UpdateTopicPermSubCommand.java ("update topic perm from %s to %s in %s
// success.", TopicConfig.toString(), "new perm equals to the old one!").
func TestDeleteSubGroupAndTopicPerm(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	n := &normalizer{pairs: []string{c.BrokerAddr(), "<BROKER>"}}
	c.CreateTopic(t, "pay", 1)
	c.CreateTopic(t, "%RETRY%billing", 1)
	mustRun(t, "updateSubGroup", "-n", ns, "-c", c.ClusterName(), "-g", "billing")
	mustRun(t, "sendMessage", "-n", ns, "-t", "pay", "-p", "one")
	// Commit offset 1 once the message is in the queue.
	testutil.Eventually(t, 10*time.Second, "offset 1 committed", func() bool {
		mustRun(t, "resetOffsetByTime", "-n", ns, "-g", "billing", "-t", "pay", "-s", "now")
		off, ok := c.ConsumerOffset(t, "billing", "pay", 0)
		return ok && off == 1
	})

	// The group holds an offset on pay: QUERY_TOPIC_CONSUME_BY_WHO (300) names it.
	if out := mustRun(t, "topicList", "-n", ns, "-c"); !strings.Contains(out, "DefaultCluster        pay"+strings.Repeat(" ", 61)+"  billing") {
		t.Errorf("topicList -c lacks the pay/billing line:\n%s", out)
	}
	golden(t, "deleteSubGroup_b.golden", n.apply(mustRun(t, "deleteSubGroup", "-n", ns, "-b", c.BrokerAddr(), "-g", "billing")))
	if off, ok := c.ConsumerOffset(t, "billing", "pay", 0); !ok || off != 1 {
		t.Errorf("without -r the offsets stay: %d, %v", off, ok)
	}
	golden(t, "deleteSubGroup_c.golden", n.apply(mustRun(t, "deleteSubGroup", "-n", ns, "-c", c.ClusterName(), "-g", "billing", "-r", "true")))
	if off, ok := c.ConsumerOffset(t, "billing", "pay", 0); ok && off != 0 {
		t.Errorf("with -r true the committed offset is still %d", off)
	}
	c.WaitNoRoute(t, "%RETRY%billing", 10*time.Second)

	golden(t, "updateTopicPerm_b.golden", n.apply(mustRun(t, "updateTopicPerm", "-n", ns, "-b", c.BrokerAddr(), "-t", "pay", "-p", "4")))
	testutil.Eventually(t, 10*time.Second, "the route to carry perm 4", func() bool {
		qd, _ := c.WaitRoute(t, "pay", 10*time.Second).Queue(c.BrokerName())
		return qd.Perm == 4
	})
	if out, errs, code := run(t, "sendMessage", "-n", ns, "-t", "pay", "-p", "two"); code == 0 {
		t.Errorf("send to a read-only topic succeeded: %s%s", out, errs)
	}
	if out := mustRun(t, "updateTopicPerm", "-n", ns, "-c", c.ClusterName(), "-t", "pay", "-p", "4"); out != "new perm equals to the old one!\n" {
		t.Errorf("same perm: %q", out)
	}
	if out := mustRun(t, "updateTopicPerm", "-n", ns, "-c", c.ClusterName(), "-t", "pay", "-p", "6"); !strings.HasPrefix(out, "update topic perm from 4 to 6 in "+c.BrokerAddr()+" success.\n") {
		t.Errorf("updateTopicPerm -c: %q", out)
	}
}
