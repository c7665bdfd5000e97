package compat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// The admin API creates a topic on a broker (UPDATE_AND_CREATE_TOPIC, 17) and deletes it
// from the broker and every NameServer (DELETE_TOPIC_IN_BROKER 215, DELETE_TOPIC_IN_NAMESRV
// 216). The client ignores the response codes of all three, so the test judges by the
// route the NameServer serves and by the topic list (206).
func TestAdminCreateAndDeleteTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	topic := e.name("T")
	other := e.name("T2")
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver(e.nameserver())))
	if err != nil {
		t.Fatalf("new admin: %v", err)
	}
	t.Cleanup(func() { _ = adm.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Read and write queue counts may differ (mqadmin updateTopic -r 6 -w 4 is how a
	// topic is shrunk): the route must carry both as given.
	err = adm.CreateTopic(ctx,
		admin.WithTopicCreate(topic),
		admin.WithBrokerAddrCreate(e.c.BrokerAddr()),
		admin.WithReadQueueNums(6),
		admin.WithWriteQueueNums(4),
	)
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	var q cluster.QueueData
	ok := testutil.Poll(cluster.RouteTimeout, func() bool {
		r, err := e.c.Route(topic)
		if err != nil {
			return false
		}
		q, _ = r.Queue(e.c.BrokerName())
		return q.ReadQueueNums == 6 && q.WriteQueueNums == 4 && r.MasterAddr(e.c.BrokerName()) == e.c.BrokerAddr()
	})

	if !ok {
		t.Fatalf("route of the created topic: queue data %+v, want 6 read and 4 write queues on %s", q, e.c.BrokerAddr())
	}
	if q.Perm != 6 {
		t.Fatalf("created topic perm %d, want the admin default 6", q.Perm)
	}
	mqs, err := adm.FetchPublishMessageQueues(ctx, topic)
	if err != nil || len(mqs) != 4 {
		t.Fatalf("publish queues of the created topic: %d (%v), want 4", len(mqs), err)
	}
	if !topicListed(t, ctx, adm, topic) {
		t.Fatalf("topic list lacks the created topic %s", topic)
	}

	// The topic is usable: a message sent to it can be read back.
	p := e.producer()
	sendSync(t, p, message(topic, "adm", 0))
	consumeAll(t, e, topic, 1)

	if err := adm.DeleteTopic(ctx, admin.WithTopicDelete(topic), admin.WithBrokerAddrDelete(e.c.BrokerAddr())); err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	e.c.WaitNoRoute(t, topic, 10*time.Second)
	if topicListed(t, ctx, adm, topic) {
		t.Fatalf("topic list still has the deleted topic %s", topic)
	}
	// The broker re-registers all its topics whenever one is created: the deleted topic
	// must not come back with that registration.
	e.c.CreateTopic(t, other, 1)
	if _, err := e.c.Route(topic); !errors.Is(err, cluster.ErrNoRoute) {
		t.Fatalf("after the broker registered again, route of the deleted topic: %v, want no route", err)
	}
}

func topicListed(t *testing.T, ctx context.Context, adm admin.Admin, topic string) bool {
	t.Helper()
	list, err := adm.FetchAllTopicList(ctx)
	if err != nil {
		t.Fatalf("fetch topic list: %v", err)
	}
	for _, tp := range list.TopicList {
		if tp == topic {
			return true
		}
	}
	return false
}
