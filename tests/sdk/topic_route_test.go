package sdk

import (
	"context"
	"fmt"
	"testing"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestTopicRoutedWhenCreateAnswers: UPDATE_AND_CREATE_TOPIC answers only once the
// NameServer routes the topic, and DELETE_TOPIC_IN_BROKER once it no longer carries the
// broker's queues (as Apache 4.7.1+ registers before answering): a route lookup right
// after each answer sees the change, every time.
func TestTopicRoutedWhenCreateAnswers(t *testing.T) {
	c := cluster.Start(t)
	ctx := context.Background()
	admin, err := client.NewAdmin(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for i := 0; i < 20; i++ {
		topic := fmt.Sprintf("routed-%d", i)
		if err := admin.CreateTopic(ctx, client.TopicConfig{Topic: topic, ReadQueueNums: 3, WriteQueueNums: 3}, client.OnBrokers(c.BrokerAddr())); err != nil {
			t.Fatal(err)
		}
		route, err := admin.TopicRoute(ctx, topic)
		if err != nil {
			t.Fatalf("route of %s right after its creation: %v", topic, err)
		}
		if len(route.QueueDatas) != 1 || route.QueueDatas[0].WriteQueueNums != 3 {
			t.Fatalf("route of %s: %+v, want one broker with 3 write queues", topic, route.QueueDatas)
		}
		if err := admin.DeleteTopic(ctx, topic, client.OnBrokers(c.BrokerAddr())); err != nil {
			t.Fatal(err)
		}
	}
}
