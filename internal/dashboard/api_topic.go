package dashboard

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/rocketgo/rocketgo/client"
)

// topicRow is one topic of the topic list.
type topicRow struct {
	Topic string `json:"topic"`
	Kind  string `json:"kind"` // NORMAL, RETRY, DLQ or SYSTEM
}

// topics lists every topic the NameServer knows, classified as the dashboard's filter
// buttons need.
func (s *Server) topics(ctx context.Context, _ *http.Request) (any, error) {
	names, err := s.admin.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	// RocketMQ brokers register topics named after their cluster and broker name
	// (and <cluster>_REPLY_TOPIC): system topics too.
	own := map[string]bool{}
	if ci, err := s.admin.Clusters(ctx); err == nil {
		for c := range ci.ClusterAddrTable {
			own[c], own[c+"_REPLY_TOPIC"] = true, true
		}
		for b := range ci.BrokerAddrTable {
			own[b] = true
		}
	}
	out := make([]topicRow, 0, len(names))
	for _, n := range names {
		kind := topicKind(n)
		if own[n] {
			kind = "SYSTEM"
		}
		out = append(out, topicRow{Topic: n, Kind: kind})
	}
	return out, nil
}

// systemTopics are the broker's own topics that are not retry or DLQ topics.
var systemTopics = []string{"TBW102", "SCHEDULE_TOPIC_XXXX", "RMQ_SYS_", "OFFSET_MOVED_EVENT", "SELF_TEST_TOPIC", "rmq_sys_"}

func topicKind(t string) string {
	switch {
	case strings.HasPrefix(t, client.RetryTopicPrefix):
		return "RETRY"
	case strings.HasPrefix(t, client.DLQTopicPrefix):
		return "DLQ"
	}
	for _, p := range systemTopics {
		if strings.HasPrefix(t, p) {
			return "SYSTEM"
		}
	}
	return "NORMAL"
}

// topic returns a topic's route, per-queue offsets and consumer groups.
func (s *Server) topic(ctx context.Context, r *http.Request) (any, error) {
	topic, err := required(r, "topic")
	if err != nil {
		return nil, err
	}
	route, err := s.admin.TopicRoute(ctx, topic)
	if err != nil {
		return nil, err
	}
	stats, err := s.admin.TopicStats(ctx, topic)
	if err != nil {
		return nil, err
	}
	type queueRow struct {
		BrokerName     string `json:"brokerName"`
		QueueID        int32  `json:"queueId"`
		MinOffset      int64  `json:"minOffset"`
		MaxOffset      int64  `json:"maxOffset"`
		LastUpdateTime int64  `json:"lastUpdateTimestamp"`
	}
	queues := make([]queueRow, 0, len(stats))
	var total int64
	for _, q := range stats {
		queues = append(queues, queueRow{q.Queue.BrokerName, q.Queue.QueueID, q.MinOffset, q.MaxOffset, q.LastUpdateTimestamp})
		total += q.MaxOffset - q.MinOffset
	}
	out := map[string]any{"topic": topic, "kind": topicKind(topic), "queueDatas": route.QueueDatas, "queues": queues, "messages": total}
	groups, err := s.admin.TopicConsumers(ctx, topic)
	switch {
	case errors.Is(err, client.ErrNotSupported):
		out["consumersError"] = "listing a topic's consumer groups (QUERY_TOPIC_CONSUME_BY_WHO) is not supported by this broker"
	case err != nil:
		out["consumersError"] = err.Error()
	default:
		out["consumers"] = append([]string{}, groups...)
	}
	return out, nil
}

// topicForm is the body of POST /api/topic.
type topicForm struct {
	Topic          string `json:"topic"`
	ReadQueueNums  int32  `json:"readQueueNums"`
	WriteQueueNums int32  `json:"writeQueueNums"`
	Perm           int32  `json:"perm"`
	Order          bool   `json:"order"`
	Cluster        string `json:"cluster"`
}

// upsertTopic creates or updates a topic on every master (of Cluster, when given).
func (s *Server) upsertTopic(ctx context.Context, r *http.Request) (any, error) {
	var f topicForm
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if err := validTopic(f.Topic); err != nil {
		return nil, err
	}
	if f.ReadQueueNums < 0 || f.WriteQueueNums < 0 || f.ReadQueueNums > 1024 || f.WriteQueueNums > 1024 {
		return nil, bad("queue counts must be between 1 and 1024")
	}
	if f.Perm != 0 && (f.Perm < 2 || f.Perm > 7) {
		return nil, bad("perm %d: want 2 (write), 4 (read) or 6 (read+write)", f.Perm)
	}
	cfg := client.TopicConfig{Topic: f.Topic, ReadQueueNums: f.ReadQueueNums, WriteQueueNums: f.WriteQueueNums, Perm: f.Perm, Order: f.Order}
	if err := s.admin.CreateTopic(ctx, cfg, client.Target{Cluster: f.Cluster}); err != nil {
		return nil, err
	}
	return map[string]string{"topic": f.Topic}, nil
}

// validTopic applies RocketMQ's topic name rule: 1–127 characters of [%|a-zA-Z0-9_-].
func validTopic(t string) error {
	if t == "" || len(t) > 127 {
		return bad("topic name must be 1 to 127 characters")
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '%' || c == '|') {
			return bad("topic %q: only letters, digits, %%, |, - and _ are allowed", t)
		}
	}
	return nil
}

// deleteTopic removes a topic from its brokers and the NameServers.
func (s *Server) deleteTopic(ctx context.Context, r *http.Request) (any, error) {
	var f struct {
		Topic string `json:"topic"`
	}
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if err := validTopic(f.Topic); err != nil {
		return nil, err
	}
	if err := s.admin.DeleteTopic(ctx, f.Topic, client.Target{}); err != nil {
		return nil, err
	}
	return map[string]string{"deleted": f.Topic}, nil
}

// sendMessage sends one test message with the dashboard's producer.
func (s *Server) sendMessage(ctx context.Context, r *http.Request) (any, error) {
	var f struct {
		Topic string `json:"topic"`
		Tag   string `json:"tag"`
		Keys  string `json:"keys"`
		Body  string `json:"body"`
	}
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if err := validTopic(f.Topic); err != nil {
		return nil, err
	}
	if f.Body == "" {
		return nil, bad("message body is required")
	}
	p, err := s.testProducer(ctx)
	if err != nil {
		return nil, err
	}
	m := client.NewMessage(f.Topic, []byte(f.Body)).WithTags(f.Tag)
	if keys := strings.Fields(f.Keys); len(keys) > 0 {
		m.WithKeys(keys...)
	}
	res, err := p.Send(ctx, m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"status": res.Status.String(), "msgId": res.MsgID, "offsetMsgId": res.OffsetMsgID,
		"brokerName": res.MessageQueue.BrokerName, "queueId": res.MessageQueue.QueueID, "queueOffset": res.QueueOffset}, nil
}
