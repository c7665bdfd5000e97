package admincli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// msgDetailRE blanks what varies between runs in MessageExt.toString.
var msgDetailRE = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(bornTimestamp|storeTimestamp)=\d+`), "$1=<TS>"},
	{regexp.MustCompile(`(bornHost|storeHost)=/[0-9.]+:\d+`), "$1=<HOST>"},
	{regexp.MustCompile(`(msgId|commitLogOffset)=[0-9A-F]+`), "$1=<X>"},
	{regexp.MustCompile(`MSGID: [0-9A-F]+`), "MSGID: <MSGID>"},
	{regexp.MustCompile(`UNIQ_KEY=[0-9A-F]+`), "UNIQ_KEY=<MSGID>"},
}

func normalizeDetail(s string) string {
	for _, r := range msgDetailRE {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// TestPrintCommands reads a queue with queryMsgByOffset, printMsgByQueue and printMsg.
// Output: message/QueryMsgByOffsetSubCommand.java (QueryMsgByIdSubCommand.printMsg),
// message/PrintMessageByQueueCommand.java, message/PrintMessageSubCommand.java, and
// MessageExt.toString / MessageQueue.toString of RocketMQ 4.9.
func TestPrintCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "prints", 1)
	for i, tag := range []string{"TagA", "TagB", "TagA"} {
		mustRun(t, "sendMessage", "-n", ns, "-t", "prints", "-p", fmt.Sprintf("body-%d", i), "-k", fmt.Sprintf("k%d", i), "-c", tag)
	}
	mustRun(t, "sendMessage", "-n", ns, "-t", "prints", "-p", "é") // UTF-8 C3 A9
	testutil.Eventually(t, 10*time.Second, "the four messages in the consume queue", func() bool { return c.MaxOffset(t, "prints", 0) == 4 })

	out := mustRun(t, "queryMsgByOffset", "-n", ns, "-t", "prints", "-b", "broker-a", "-i", "0", "-o", "1")
	detail := regexp.MustCompile(`(?m)^(OffsetID: +)[0-9A-F]+$`).ReplaceAllString(out, "$1<OFFSETID>")
	detail = regexp.MustCompile(`(?m)^(Message Body Path: +.*/)[0-9A-F]+$`).ReplaceAllString(detail, "$1<MSGID>")
	golden(t, "queryMsgByOffset.golden", (&normalizer{}).apply(normalizeMsg(detail)))
	if !strings.Contains(out, "Tags:                [TagB]\n") || !strings.Contains(out, "Queue Offset:        1\n") {
		t.Errorf("queryMsgByOffset -o 1 is not the second message:\n%s", out)
	}
	bodies, _ := filepath.Glob(filepath.Join(bodyDir, "*"))
	found := false
	for _, b := range bodies {
		if raw, _ := os.ReadFile(b); string(raw) == "body-1" {
			found = true
		}
	}
	if !found {
		t.Errorf("queryMsgByOffset did not write body-1 under %s", bodyDir)
	}
	if _, errs, code := run(t, "queryMsgByOffset", "-n", ns, "-t", "prints", "-b", "broker-a", "-i", "0", "-o", "4"); code != 1 || !strings.Contains(errs, "NO_NEW_MSG") {
		t.Errorf("queryMsgByOffset past the end: exit %d, stderr %q", code, errs)
	}

	// Without -p nothing is printed; -p true prints the messages, -d true their bodies.
	if out := mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0"); out != "" {
		t.Errorf("printMsgByQueue without -p printed %q", out)
	}
	golden(t, "printMsgByQueue_p.golden", normalizeDetail(mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-p", "true")))
	out = mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-p", "true", "-d", "true")
	for i, want := range []string{" BODY: body-0\n", " BODY: body-1\n", " BODY: body-2\n", " BODY: é\n"} {
		if lines := strings.SplitAfter(out, "\n"); len(lines) < 4 || !strings.HasSuffix(lines[i], want) {
			t.Errorf("printMsgByQueue -d true line %d lacks %q:\n%s", i, want, out)
		}
	}
	// -c names the charset the body is decoded with.
	if out := mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-p", "true", "-d", "true", "-c", "ISO-8859-1", "-b", "0"); !strings.HasSuffix(out, " BODY: Ã©\n") {
		t.Errorf("-c ISO-8859-1: %q", out[strings.LastIndex(out, "BODY"):])
	}
	if _, errs, code := run(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-c", "no-such"); code != 1 || !strings.Contains(errs, `unknown charset`) {
		t.Errorf("-c no-such: exit %d, stderr %q", code, errs)
	}
	// -s filters by tag; -f counts the tags, most first.
	out = mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-p", "true", "-d", "true", "-s", "TagB")
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, " BODY: body-1\n") {
		t.Errorf("-s TagB:\n%s", out)
	}
	golden(t, "printMsgByQueue_f.golden", mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-f", "true"))
	// -b after the last store time: nothing to read; -e before the first: the same.
	later := fmt.Sprint(time.Now().Add(time.Hour).UnixMilli())
	if out := mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-p", "true", "-b", later); out != "" {
		t.Errorf("-b in the future printed %q", out)
	}
	if out := mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-p", "true", "-e", "2000-01-01#00:00:00:000"); out != "" {
		t.Errorf("-e in the past printed %q", out)
	}
	if _, errs, code := run(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-b", "yesterday"); code != 1 || !strings.Contains(errs, "yyyy-MM-dd#HH:mm:ss:SSS") {
		t.Errorf("-b yesterday: exit %d, stderr %q", code, errs)
	}
	var js struct {
		Messages []struct {
			QueueOffset int64   `json:"queueOffset"`
			Tags        string  `json:"tags"`
			Body        *string `json:"body"`
		} `json:"messages"`
		Tags []tagCount `json:"tags"`
	}
	raw := mustRun(t, "printMsgByQueue", "-n", ns, "-t", "prints", "-a", "broker-a", "-i", "0", "-d", "true", "-f", "true", "-o", "json")
	if err := json.Unmarshal([]byte(raw), &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Messages) != 4 || js.Messages[1].Tags != "TagB" || js.Messages[3].QueueOffset != 3 || *js.Messages[2].Body != "body-2" ||
		len(js.Tags) != 2 || js.Tags[0] != (tagCount{"TagA", 2}) {
		t.Errorf("printMsgByQueue -o json:\n%s", raw)
	}

	golden(t, "printMsg.golden", normalizeDetail(mustRun(t, "printMsg", "-n", ns, "-t", "prints", "-d", "false")))
	var queues []struct {
		BrokerName string `json:"brokerName"`
		MinOffset  int64  `json:"minOffset"`
		MaxOffset  int64  `json:"maxOffset"`
		Messages   []struct {
			Body *string `json:"body"`
		} `json:"messages"`
	}
	raw = mustRun(t, "printMsg", "-n", ns, "-t", "prints", "-s", "TagA", "-o", "json")
	if err := json.Unmarshal([]byte(raw), &queues); err != nil {
		t.Fatal(err)
	}
	if len(queues) != 1 || queues[0].BrokerName != "broker-a" || queues[0].MaxOffset != 4 || len(queues[0].Messages) != 2 ||
		*queues[0].Messages[0].Body != "body-0" || *queues[0].Messages[1].Body != "body-2" {
		t.Errorf("printMsg -s TagA -o json:\n%s", raw)
	}
}
