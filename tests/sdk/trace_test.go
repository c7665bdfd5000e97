package sdk

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/client/trace"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestTraceProducerConsumer: a traced producer and push consumer leave a Pub, a
// SubBefore and a SubAfter per message in RMQ_SYS_TRACE_TOPIC, which QueryMsgTrace finds
// by message id and FormatTrace prints.
func TestTraceProducerConsumer(t *testing.T) {
	c := cluster.Start(t)
	const topic, n = "traced", 8
	c.CreateTopic(t, topic, 2)
	p := startProducer(t, c, client.WithTrace(""))
	col := newCollector()
	pc := startPush(t, c, "CG_traced", topic, client.SelectAll, col.listener(),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset), client.WithTrace(""))
	ids := map[string]int{}
	for i := 0; i < n; i++ {
		m := client.NewMessage(topic, []byte(fmt.Sprintf("body-%d", i))).WithTags("tg").WithKeys(fmt.Sprintf("k%d", i))
		res, err := p.Send(context.Background(), m)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		ids[res.MsgID] = i
	}
	testutil.Eventually(t, 20*time.Second, "all consumed", func() bool { return col.distinct() == n })
	testutil.Eventually(t, 10*time.Second, "consumer trace records sent", func() bool { return pc.TraceStats().Sent == 2*n })
	testutil.Eventually(t, 10*time.Second, "producer trace records sent", func() bool { return p.TraceStats().Sent == n })
	if s := p.TraceStats(); s.Dropped != 0 || s.Failed != 0 {
		t.Fatalf("producer trace stats %+v", s)
	}

	admin, err := client.NewAdmin(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for id, i := range ids {
		var recs []trace.Record
		testutil.Eventually(t, 10*time.Second, "trace of "+id, func() bool {
			recs, err = admin.QueryMsgTrace(context.Background(), "", id)
			return err == nil && len(recs) == 3
		})
		byType := map[trace.Type]trace.Record{}
		for _, r := range recs {
			byType[r.Type] = r
		}
		pub, before, after := byType[trace.Pub], byType[trace.SubBefore], byType[trace.SubAfter]
		wantPub := trace.Record{Type: trace.Pub, RegionID: "DefaultRegion", Group: p.Group(), Topic: topic, MsgID: id,
			Tags: "tg", Keys: fmt.Sprintf("k%d", i), StoreHost: c.BrokerAddr(), BodyLength: len(fmt.Sprintf("body-%d", i)),
			MsgType: trace.NormalMsg, Success: true}
		got := pub
		got.Timestamp, got.CostTime, got.OffsetMsgID, got.ClientHost, got.BornHost = 0, 0, "", "", ""
		if got != wantPub || pub.OffsetMsgID == "" || pub.Timestamp == 0 || pub.ClientHost == "" || pub.BornHost == "" {
			t.Errorf("Pub of %s: %+v", id, pub)
		}
		if before.Group != "CG_traced" || before.RequestID == "" || before.Keys != wantPub.Keys || before.RetryTimes != 0 {
			t.Errorf("SubBefore of %s: %+v", id, before)
		}
		if after.Group != "CG_traced" || after.RequestID != before.RequestID || !after.Success ||
			after.ContextCode != trace.ContextSuccess || after.Timestamp < before.Timestamp {
			t.Errorf("SubAfter of %s: %+v (before %+v)", id, after, before)
		}
		var out bytes.Buffer
		if err := trace.FormatTrace(&out, recs); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(out.String(), "\n")
		if len(lines) != 7 || !strings.HasPrefix(lines[1], "Pub        "+p.Group()) ||
			!strings.HasPrefix(lines[4], "Sub        CG_traced") || !strings.HasSuffix(lines[4], "success   ") {
			t.Errorf("printed trace of %s:\n%s", id, out.String())
		}
	}
}

// TestTraceTopicUnavailable: without a trace topic every send still succeeds at once,
// and every record is counted as lost.
func TestTraceTopicUnavailable(t *testing.T) {
	c := cluster.Start(t, cluster.WithBrokerOptions(func(o *broker.Options) { o.TraceTopicEnable = false }))
	const topic, n = "untraced", 20
	c.CreateTopic(t, topic, 1)
	p := startProducer(t, c, client.WithTrace(""), client.WithTraceQueueSize(4))
	send(t, p, topic, "m", n, nil)
	testutil.Eventually(t, 20*time.Second, "every record accounted for", func() bool {
		s := p.TraceStats()
		return s.Dropped+s.Failed == n
	})
	if s := p.TraceStats(); s.Sent != 0 || s.Failed == 0 {
		t.Fatalf("trace stats %+v: want nothing sent and some sends failed", s)
	}
	if _, err := c.Route(trace.DefaultTopic); err == nil {
		t.Fatal("the trace topic was created by the client")
	}
}
