package admincli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestListTimers lists a pending timer message and a delay-level one with listTimers,
// as a table and as JSON, and sees the timer gone after cancelTimer.
func TestListTimers(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "later", 1)
	waitRegistered(t, ns)
	p, err := client.NewProducer(client.WithNameServer(ns), client.WithProducerGroup("pg"), client.WithInstanceName("timer-test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	timer, err := p.Send(context.Background(), client.NewMessage("later", []byte("in an hour")).WithTags("TagT").WithDeliverDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	level, err := p.Send(context.Background(), client.NewMessage("later", []byte("level 18")).WithTags("TagL").WithDelayLevel(18))
	if err != nil {
		t.Fatal(err)
	}

	var out string
	testutil.Eventually(t, 10*time.Second, "both scheduled messages listed", func() bool {
		out = mustRun(t, "listTimers", "-n", ns, "-t", "later")
		return strings.Count(out, "\n") == 3
	})
	if !strings.Contains(out, timer.MsgID) || !strings.Contains(out, level.MsgID) {
		t.Fatalf("listTimers lacks %s or %s:\n%s", timer.MsgID, level.MsgID, out)
	}
	golden(t, "listTimers.golden", normalizeTimers(out))

	var js struct {
		Timers []client.TimerMessage `json:"timers"`
		More   bool                  `json:"more"`
	}
	raw := mustRun(t, "listTimers", "-n", ns, "-o", "json")
	if err := json.Unmarshal([]byte(raw), &js); err != nil {
		t.Fatalf("listTimers -o json: %v\n%s", err, raw)
	}
	if len(js.Timers) != 2 || js.More || js.Timers[0].MsgID != timer.MsgID || js.Timers[0].DelayLevel != 0 ||
		js.Timers[1].MsgID != level.MsgID || js.Timers[1].DelayLevel != 18 || js.Timers[0].BodySize != len("in an hour") {
		t.Fatalf("listTimers -o json: %+v", js)
	}
	golden(t, "listTimers_json.golden", normalizeTimers(raw))

	mustRun(t, "cancelTimer", "-n", ns, "-t", "later", "-i", timer.MsgID)
	if out := mustRun(t, "listTimers", "-n", ns); strings.Contains(out, timer.MsgID) || !strings.Contains(out, level.MsgID) {
		t.Errorf("after cancelTimer:\n%s", out)
	}
}

// normalizeTimers blanks what changes between runs: addresses, ids, times, offsets.
func normalizeTimers(s string) string {
	for _, r := range []struct{ re, with string }{
		{`127\.0\.0\.1:\d+`, "<HOST>"},
		{`[0-9A-F]{32}`, "<MSGID>"},
		{`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}`, "<TIME>"},
		{`"\d{4}-\d\d-\d\dT[^"]+"`, `"<TIME>"`},
		{`"commitLogOffset": \d+`, `"commitLogOffset": <OFF>`},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.with)
	}
	return s
}
