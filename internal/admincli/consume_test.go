package admincli

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// bodyLineRE picks queueId, queueOffset and body out of a printed message line.
var bodyLineRE = regexp.MustCompile(`(?m)^MSGID: [0-9A-F]+ MessageExt \[brokerName=broker-a, queueId=(\d+), storeSize=\d+, queueOffset=(\d+),.* BODY: (.*)$`)

// consumed lists the "q<queueId>@<offset>=<body>" of every printed message, in order.
func consumed(out string) []string {
	var got []string
	for _, m := range bodyLineRE.FindAllStringSubmatch(out, -1) {
		got = append(got, fmt.Sprintf("q%s@%s=%s", m[1], m[2], m[3]))
	}
	return got
}

// TestConsumeMessage pulls known messages with consumeMessage. Output and option
// checks: tools/command/message/ConsumeMessageCommand.java of RocketMQ 4.9 (executeDefault,
// executeByCondition, pullMessageByQueue), its messages printed as
// PrintMessageByQueueCommand.printMessage with bodies in UTF-8.
func TestConsumeMessage(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "consumes", 2)
	sent := map[int][]string{0: {"a0", "a1", "a2"}, 1: {"b0", "b1"}}
	for q := 0; q < 2; q++ {
		for _, body := range sent[q] {
			mustRun(t, "sendMessage", "-n", ns, "-t", "consumes", "-b", "broker-a", "-i", fmt.Sprint(q), "-p", body, "-c", "Tag"+body[:1])
		}
	}
	testutil.Eventually(t, 10*time.Second, "3 + 2 messages in the consume queues", func() bool {
		return c.MaxOffset(t, "consumes", 0) == 3 && c.MaxOffset(t, "consumes", 1) == 2
	})

	// Every queue, in full: each read is "Consume ok" and its messages, each queue
	// ends at NO_NEW_MSG.
	out := mustRun(t, "consumeMessage", "-n", ns, "-t", "consumes")
	golden(t, "consumeMessage.golden", normalizeDetail(out))
	want := []string{"q0@0=a0", "q0@1=a1", "q0@2=a2", "q1@0=b0", "q1@1=b1"}
	if got := consumed(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("consumeMessage printed %v, want %v", got, want)
	}

	// -c 2 cuts the first queue and stops there.
	out = mustRun(t, "consumeMessage", "-n", ns, "-t", "consumes", "-c", "2")
	if got := consumed(out); strings.Join(got, " ") != "q0@0=a0 q0@1=a1" || !strings.HasPrefix(out, "The older 2 message of the 0 queue will be provided\nConsume ok\n") {
		t.Errorf("consumeMessage -c 2:\n%s", out)
	}

	// One queue from an offset, one message.
	out = mustRun(t, "consumeMessage", "-n", ns, "-t", "consumes", "-b", "broker-a", "-i", "0", "-o", "1", "-c", "1")
	golden(t, "consumeMessage_queue.golden", normalizeDetail(out))
	if got := consumed(out); strings.Join(got, " ") != "q0@1=a1" {
		t.Errorf("consumeMessage -i 0 -o 1 -c 1 printed %v", got)
	}
	out = mustRun(t, "consumeMessage", "-n", ns, "-t", "consumes", "-b", "broker-a", "-i", "1", "-o", "1")
	if got := consumed(out); strings.Join(got, " ") != "q1@1=b1" || !strings.HasSuffix(out, "print msg finished. status=NO_NEW_MSG, offset=2\n") {
		t.Errorf("consumeMessage -i 1 -o 1:\n%s", out)
	}
	if out := mustRun(t, "consumeMessage", "-n", ns, "-t", "consumes", "-b", "broker-a", "-i", "1", "-o", "5"); out != "MessageQueue [topic=consumes, brokerName=broker-a, queueId=1] no matched msg, offset=5\n" {
		t.Errorf("consumeMessage past the end printed %q", out)
	}

	// A named group reads too, and nothing is committed for it or for TOOLS_CONSUMER:
	// had the reads committed, the offsets would be 3 and 2. An uncommitted group on a
	// young queue is answered 0 (docs/protocol.md §2.5).
	out = mustRun(t, "consumeMessage", "-n", ns, "-t", "consumes", "-b", "broker-a", "-i", "0", "-g", "consume-check")
	if got := consumed(out); len(got) != 3 {
		t.Errorf("consumeMessage -g printed %v", got)
	}
	for _, g := range []string{"consume-check", "TOOLS_CONSUMER"} {
		for q := 0; q < 2; q++ {
			if off, _ := c.ConsumerOffset(t, g, "consumes", q); off != 0 {
				t.Errorf("consumeMessage committed offset %d of queue %d for %s", off, q, g)
			}
		}
	}

	// Where Apache prints a complaint and exits 0, rocketgo fails with it.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "0"}, "please input a positive messageNumber!"},
		{[]string{"-c", "many"}, `-c "many": not an integer`},
		{[]string{"-i", "0"}, "Please set the brokerName before queueId!"},
		{[]string{"-b", "broker-a", "-o", "1"}, "please set queueId before offset!"},
		{[]string{"-b", "broker-a", "-i", "0", "-s", "yesterday"}, "yyyy-MM-dd#HH:mm:ss:SSS"},
	} {
		args := append([]string{"consumeMessage", "-n", ns, "-t", "consumes"}, tc.args...)
		if out, errs, code := run(t, args...); code != 1 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}
