package schedule

import (
	"context"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestDLQResendSDK: an SDK consumer that fails a message sees it again with its
// reconsume times incremented until WithMaxReconsumeTimes(1) sends it to the group's
// DLQ; Admin.ListDLQ shows it there and Admin.ResendDLQ brings it back to the consumer,
// which now succeeds.
func TestDLQResendSDK(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t, withBroker(func(o *broker.Options) { o.MessageDelayLevel = "200ms 400ms 600ms" }))
	const topic, group = "DLQT", "DLQGroup"
	c.CreateTopic(t, topic, 1)
	// The retry topic exists before the consumer starts, so its first rebalance owns it.
	c.CreateTopic(t, "%RETRY%"+group, 1)
	col := &collector{result: client.ConsumeRetryLater}
	startPush(t, c.NamesrvAddr(), group, topic, client.SelectAll, col.listener(), client.WithMaxReconsumeTimes(1))
	p := startProducer(t, c.NamesrvAddr())
	res := send(t, p, client.NewMessage(topic, []byte("poison")).WithTags("bad").WithKeys("order-7"))

	admin, err := client.NewAdmin(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var page *client.DLQPage
	ctx := context.Background()
	if !testutil.Poll(30*time.Second, func() bool {
		page, err = admin.ListDLQ(ctx, c.BrokerAddr(), group, 0, 10)
		return err == nil && len(page.Messages) == 1
	}) {
		t.Fatalf("no dead letter after %d deliveries: %v", col.count(), err)
	}
	msgs, _ := col.snapshot()
	if len(msgs) != 2 || msgs[0].ReconsumeTimes != 0 || msgs[1].ReconsumeTimes != 1 {
		t.Fatalf("deliveries before the DLQ: %s", describeAttempts(msgs))
	}
	d := page.Messages[0]
	if string(d.Body) != "poison" || d.ReconsumeTimes != 2 || d.MsgID != res.MsgID || d.Property(client.PropertyRetryTopic) != topic ||
		page.Next != 1 || page.Max != 1 {
		t.Fatalf("dead letter %q reconsume %d id %s props %v page %+v", d.Body, d.ReconsumeTimes, d.MsgID, d.Properties(), page)
	}

	col.setResult(client.ConsumeSuccess)
	n, next, err := admin.ResendDLQ(ctx, c.BrokerAddr(), group, 0, 0)
	if err != nil || n != 1 || next != 1 {
		t.Fatalf("resend: %d %d %v", n, next, err)
	}
	col.waitCount(t, 3, 30*time.Second)
	msgs, _ = col.snapshot()
	back := msgs[2]
	if string(back.Body) != "poison" || back.ReconsumeTimes != 0 || back.Topic != topic || back.MsgID != res.MsgID || back.Tags() != "bad" {
		t.Fatalf("resent delivery %q reconsume %d topic %q id %s", back.Body, back.ReconsumeTimes, back.Topic, back.MsgID)
	}
	if _, err := admin.ListDLQ(ctx, c.BrokerAddr(), "NoSuchGroup", 0, 10); err == nil {
		t.Fatal("ListDLQ of a group without dead letters succeeded")
	}
}

func describeAttempts(msgs []*client.MessageExt) string {
	s := ""
	for _, m := range msgs {
		s += " " + string(m.Body) + "/" + string(rune('0'+m.ReconsumeTimes))
	}
	return s
}
