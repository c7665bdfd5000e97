package admincli

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// quickStartLines returns the command lines of the README's "Five-minute quick start"
// section: every line of its sh blocks, comments stripped.
func quickStartLines(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(raw), "\n## Five-minute quick start\n")
	if !ok {
		t.Fatal("README.md has no \"## Five-minute quick start\" section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var lines []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(sec, -1) {
		for _, l := range strings.Split(block[1], "\n") {
			if i := strings.Index(l, " #"); i >= 0 {
				l = l[:i]
			}
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

// shellWords splits a command line as sh does for the quoting the README uses: words
// separated by blanks, '...' and "..." taken literally.
func shellWords(t *testing.T, line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; ch {
		case ' ', '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case '\'', '"':
			j := strings.IndexByte(line[i+1:], ch)
			if j < 0 {
				t.Fatalf("unbalanced quote in %q", line)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestReadmeQuickStart runs the README's quick start command lines, exactly as written
// (NAMESRV_ADDR pointed at an in-process NameServer and broker instead of :9876), and
// checks what each is said to show.
func TestReadmeQuickStart(t *testing.T) {
	c := cluster.Start(t)
	waitRegistered(t, c.NamesrvAddr())
	// Every check, in the order of the command lines: the sub command and what its
	// output must contain.
	want := []struct{ cmd, out string }{
		{"updateTopic", "create topic to " + c.BrokerAddr() + " success.\n"},
		{"sendMessage", " SEND_OK "},
		{"sendMessage", " SEND_OK "},
		{"printMsgByQueue", "BODY: hello rocketgo\n"},
		{"printMsgByQueue", "Tag: TagA                           Count: 1\nTag: TagB                           Count: 1\n"},
		{"updateSubGroup", "create subscription group to " + c.BrokerAddr() + " success.\n"},
		{"updateTopic", "create topic to " + c.BrokerAddr() + " success.\n"},
		{"resetOffsetByTime", "consumerGroup[QuickStartGroup], topic[QuickStart]"},
		{"consumerProgress", "\nDiff Total: 2\n"},
		{"resetOffsetByTime", "consumerGroup[QuickStartGroup], topic[QuickStart]"},
		{"consumerProgress", "\nDiff Total: 0\n"},
	}
	sent, n := 0, 0
	for _, line := range quickStartLines(t) {
		if v, ok := strings.CutPrefix(line, "export NAMESRV_ADDR="); ok {
			if v != "127.0.0.1:9876" {
				t.Fatalf("the quick start exports NAMESRV_ADDR=%s, not the standalone NameServer", v)
			}
			t.Setenv("NAMESRV_ADDR", c.NamesrvAddr())
			continue
		}
		args, ok := strings.CutPrefix(line, "go run ./bin/mqadmin ")
		if !ok {
			t.Fatalf("quick start line %q is not an mqadmin command", line)
		}
		if n == len(want) {
			t.Fatalf("quick start line %q has no check here", line)
		}
		w := shellWords(t, args)
		if w[0] != want[n].cmd {
			t.Fatalf("quick start command %d is %s, the test expects %s", n, w[0], want[n].cmd)
		}
		out := mustRun(t, w...)
		if !strings.Contains(out, want[n].out) {
			t.Errorf("%s\noutput lacks %q:\n%s", line, want[n].out, out)
		}
		if w[0] == "updateTopic" {
			c.WaitRoute(t, w[len(w)-5], 10*time.Second) // -t <topic> -r 1 -w 1
		}
		if w[0] == "sendMessage" {
			// A reader a moment later finds the message in the queue.
			sent++
			testutil.Eventually(t, 10*time.Second, "the message in the consume queue", func() bool {
				return c.MaxOffset(t, "QuickStart", 0) == int64(sent)
			})
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("the quick start has %d mqadmin commands, the test checks %d", n, len(want))
	}
}
