package compat_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
)

// The broker relays GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309)
// to a live official push consumer and returns its answers (AdminBrokerProcessor
// .callConsumer): the running info lists the subscription, and a message consumed
// directly reaches the consumer's callback a second time with CR_SUCCESS (0).
func TestAdminRelaysToOfficialConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic, group := e.name("T"), e.name("G")
	e.c.CreateTopic(t, topic, 1)
	box := &inbox{}
	e.pushConsumer(group, topic, "*", consumer.ConsumeFromFirstOffset, box)
	p := e.producer()
	res := sendSync(t, p, message(topic, "direct", 0))
	first := box.wait(t, 1)[0]

	var ids []string
	if !testutil.Poll(10*time.Second, func() bool { ids = e.c.ConsumerIDs(t, group); return len(ids) == 1 }) {
		t.Fatalf("consumer ids of %s: %v", group, ids)
	}
	adm, err := client.NewAdmin(client.WithNameServer(e.c.NamesrvAddr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adm.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	info, err := adm.ConsumerRunningInfo(ctx, e.c.BrokerAddr(), group, ids[0])
	if err != nil {
		t.Fatalf("running info: %v", err)
	}
	if !strings.Contains(string(info), topic) {
		t.Errorf("running info does not name the subscribed topic %s:\n%s", topic, info)
	}
	if _, err := adm.ConsumerRunningInfo(ctx, e.c.BrokerAddr(), group, "10.0.0.1@nobody"); err == nil || !strings.Contains(err.Error(), "not online") {
		t.Errorf("running info of an unknown client: %v", err)
	}

	out, err := adm.ConsumeMessageDirectly(ctx, e.c.BrokerAddr(), group, ids[0], res.OffsetMsgID)
	if err != nil {
		t.Fatalf("consume directly: %v", err)
	}
	var r struct {
		ConsumeResult int  `json:"consumeResult"`
		AutoCommit    bool `json:"autoCommit"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.ConsumeResult != 0 || !r.AutoCommit {
		t.Fatalf("consume directly answered %s (%v)", out, err)
	}
	all := box.all()
	if len(all) != 2 || string(all[1].Body) != string(first.Body) || all[1].OffsetMsgId != first.OffsetMsgId {
		t.Fatalf("the callback got %d deliveries, want the message again: %s", len(all), describe(all))
	}
}
