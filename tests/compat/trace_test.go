package compat_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/client/trace"
	"github.com/rocketgo/rocketgo/internal/testutil"
)

// msgIDField is where each record type keeps the message id.
var msgIDField = map[trace.Type]int{trace.Pub: 5, trace.SubBefore: 5, trace.SubAfter: 2}

// rawTrace returns the raw fields of the records of msgID in the trace topic, by type.
func rawTrace(t *testing.T, admin *client.Admin, msgID string) map[trace.Type][][]string {
	t.Helper()
	msgs, err := admin.QueryMessageByKey(context.Background(), trace.DefaultTopic, msgID, time.Time{}, time.Time{}, 64)
	if err != nil {
		t.Fatalf("query trace topic for %s: %v", msgID, err)
	}
	out := map[trace.Type][][]string{}
	for _, m := range msgs {
		for _, rec := range strings.Split(string(m.Body), "\x02") {
			f := strings.Split(rec, "\x01")
			i, ok := msgIDField[trace.Type(f[0])]
			if ok && len(f) > i && f[i] == msgID {
				out[trace.Type(f[0])] = append(out[trace.Type(f[0])], f)
			}
		}
	}
	return out
}

// traceRan is set by the first TestTraceInterop of the process.
var traceRan atomic.Bool

// TestTraceInterop: the official producer and push consumer with trace on store their
// records in RMQ_SYS_TRACE_TOPIC (created by the broker), QueryMsgTrace decodes them, and
// the SDK's records for the same kind of message have the same fields, separators and
// order.
func TestTraceInterop(t *testing.T) {
	if traceRan.Swap(true) {
		// v2.1.2's trace dispatcher runs on one client per process (instance
		// INNER_TRACE_CLIENT_DEFAULT, internal/trace.go); once the first run shut it down,
		// a new traced producer gets a nil dispatcher and panics. So: once per process.
		t.Skip("the official client's trace works once per process; run with -count=1")
	}
	e := newEnv(t)
	topic, group, sdkGroup := e.name("T"), e.name("CG"), e.name("SCG")
	e.c.CreateTopic(t, topic, 1)
	cfg := &primitive.TraceConfig{NamesrvAddrs: e.nameserver(), GroupName: e.name("TRACE")}
	p := e.producer(producer.WithTrace(cfg))
	box := &inbox{}
	e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box, consumer.WithTrace(cfg))

	sp, err := client.NewProducer(client.WithNameServer(e.c.NamesrvAddr()), client.WithInstanceName(e.instance()),
		client.WithProducerGroup(e.name("SPG")), client.WithTrace(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer sp.Shutdown(context.Background())
	sc, err := client.NewPushConsumer(client.WithNameServer(e.c.NamesrvAddr()), client.WithInstanceName(e.instance()),
		client.WithConsumerGroup(sdkGroup), client.WithConsumeFrom(client.ConsumeFromFirstOffset), client.WithTrace(""))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 8)
	if err := sc.Subscribe(topic, client.SelectAll, func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		for _, m := range msgs {
			got <- m.MsgID
		}
		return client.ConsumeSuccess, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := sc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer sc.Shutdown(context.Background())

	official := sendSync(t, p, primitive.NewMessage(topic, []byte("official")).WithTag("tg").WithKeys([]string{"k1"})).MsgID
	res, err := sp.Send(context.Background(), client.NewMessage(topic, []byte("sdkmsg!!")).WithTags("tg").WithKeys("k1"))
	if err != nil {
		t.Fatal(err)
	}
	ours := res.MsgID
	box.wait(t, 2)
	for i := 0; i < 2; i++ {
		select {
		case <-got:
		case <-time.After(consumeTimeout):
			t.Fatal("the SDK consumer did not get both messages")
		}
	}

	admin, err := client.NewAdmin(client.WithNameServer(e.c.NamesrvAddr()), client.WithInstanceName(e.instance()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// Each message: one Pub, and a SubBefore and SubAfter from each consumer group.
	var recs map[string][]trace.Record
	testutil.Eventually(t, consumeTimeout, "both messages fully traced", func() bool {
		recs = map[string][]trace.Record{}
		for _, id := range []string{official, ours} {
			r, err := admin.QueryMsgTrace(context.Background(), "", id)
			if err != nil || len(r) != 5 {
				return false
			}
			recs[id] = r
		}
		return true
	})

	// The official records, decoded.
	for _, r := range recs[official] {
		switch r.Type {
		case trace.Pub:
			if r.Group != e.name("PG") || r.Topic != topic || r.Tags != "tg" || r.Keys != "k1" ||
				r.StoreHost != e.c.BrokerAddr() || !r.Success || r.BodyLength != len("official") || r.OffsetMsgID == "" || r.RegionID != "DefaultRegion" {
				t.Errorf("official Pub: %+v", r)
			}
		case trace.SubBefore:
			if (r.Group != group && r.Group != sdkGroup) || r.Keys != "k1" || r.RequestID == "" {
				t.Errorf("SubBefore: %+v", r)
			}
		case trace.SubAfter:
			if (r.Group != group && r.Group != sdkGroup) || !r.Success || r.ContextCode != trace.ContextSuccess {
				t.Errorf("SubAfter: %+v", r)
			}
		}
	}

	// Same fields, separators and order: compare the raw records of both clients
	// field by field wherever the value does not depend on who wrote it.
	same := map[trace.Type][]int{
		trace.Pub:       {0, 2, 4, 6, 7, 8, 9, 11, 13},
		trace.SubBefore: {0, 2, 6, 7},
		trace.SubAfter:  {0, 4, 5, 6},
	}
	offRaw, ourRaw := rawTrace(t, admin, official), rawTrace(t, admin, ours)
	pick := func(raw map[trace.Type][][]string, typ trace.Type, wantGroup string) []string {
		for _, f := range raw[typ] {
			g := f[3]
			if typ == trace.SubAfter {
				g = f[8]
			}
			if wantGroup == "" || g == wantGroup {
				return f
			}
		}
		t.Fatalf("no %s record of group %q in %v", typ, wantGroup, raw[typ])
		return nil
	}
	pairs := []struct {
		typ      trace.Type
		off, our []string
	}{
		{trace.Pub, pick(offRaw, trace.Pub, ""), pick(ourRaw, trace.Pub, "")},
		{trace.SubBefore, pick(offRaw, trace.SubBefore, group), pick(offRaw, trace.SubBefore, sdkGroup)},
		{trace.SubAfter, pick(offRaw, trace.SubAfter, group), pick(offRaw, trace.SubAfter, sdkGroup)},
	}
	for _, pr := range pairs {
		if len(pr.off) != len(pr.our) {
			t.Errorf("%s: official has %d fields %q, ours %d %q", pr.typ, len(pr.off), pr.off, len(pr.our), pr.our)
			continue
		}
		for _, i := range same[pr.typ] {
			if pr.off[i] != pr.our[i] {
				t.Errorf("%s field %d: official %q, ours %q", pr.typ, i, pr.off[i], pr.our[i])
			}
		}
	}
	// The SDK's Pub decodes like the official one.
	for _, r := range recs[ours] {
		if r.Type == trace.Pub && (r.Group != e.name("SPG") || r.Topic != topic || r.StoreHost != e.c.BrokerAddr() || r.Keys != "k1") {
			t.Errorf("SDK Pub: %+v", r)
		}
	}
}
