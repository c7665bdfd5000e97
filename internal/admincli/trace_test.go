package admincli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestQueryMsgTraceByID sends one message with a traced producer and prints its trace
// as QueryMsgTraceByIdSubCommand.java does: the Pub header and one Pub row naming the
// producer group, with status success.
func TestQueryMsgTraceByID(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	c.CreateTopic(t, "traced", 1)
	ctx := context.Background()
	p, err := client.NewProducer(client.WithNameServer(ns), client.WithProducerGroup("PG_traced"), client.WithTrace(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	res, err := p.Send(ctx, client.NewMessage("traced", []byte("hello")).WithKeys("k1"))
	if err != nil {
		t.Fatal(err)
	}

	var out string
	testutil.Eventually(t, 20*time.Second, "the trace of "+res.MsgID, func() bool {
		o, _, code := run(t, "queryMsgTraceById", "-n", ns, "-i", res.MsgID)
		out = o
		return code == 0
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("trace output:\n%s", out)
	}
	if h := strings.Fields(lines[0]); strings.Join(h, " ") != "#Type #ProducerGroup #ClientHost #SendTime #CostTimes #Status" {
		t.Errorf("header %q", lines[0])
	}
	row := strings.Fields(lines[1])
	if len(row) < 2 || row[0] != "Pub" || row[1] != "PG_traced" || row[len(row)-1] != "success" {
		t.Errorf("Pub row %q", lines[1])
	}

	if _, stderr, code := run(t, "queryMsgTraceById", "-n", ns, "-i", "0A0000000000000000000000000000FF"); code == 0 || !strings.Contains(stderr, "no trace records") {
		t.Errorf("unknown id: exit %d, stderr %q", code, stderr)
	}
}
