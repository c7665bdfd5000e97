package broker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// handleUpdateAndCreateTopic serves UPDATE_AND_CREATE_TOPIC (17): create a topic, or
// replace its config, and register the change with the NameServers at once. The broker's
// own topics cannot be redefined.
func (b *Broker) handleUpdateAndCreateTopic(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.CreateTopicRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	tc, err := b.topicFromRequest(&h)
	if err != nil {
		return errorResponse(req, err)
	}
	if err := b.topics.Put(tc); err != nil {
		return errorResponse(req, err)
	}
	b.log.Info().Str("topic", tc.GetTopicName()).Int32("read_queues", tc.GetReadQueueNums()).
		Int32("write_queues", tc.GetWriteQueueNums()).Int32("perm", tc.GetPerm()).Msg("topic updated")
	b.awaitRoute(tc.GetTopicName())
	return req.NewResponse(code.Success, "")
}

// topicRouteTimeout bounds how long a topic change waits for the NameServers
// (registerBrokerTimeoutMills, 6 s in Apache).
const topicRouteTimeout = 6 * time.Second

// awaitRoute waits until the NameServers hold the topic table with the change just made,
// as Apache 4.7.1+ registers before answering a topic create, update or delete: a client
// that sends or subscribes right after the answer then finds the route. A NameServer
// that does not answer in time only delays the answer; the next round carries the change.
func (b *Broker) awaitRoute(topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), topicRouteTimeout)
	defer cancel()
	if err := b.registrar.Sync(ctx); err != nil {
		b.log.Warn().Err(err).Str("topic", topic).Msg("topic change not registered with the NameServers yet; the next round carries it")
	}
}

// topicFromRequest validates an UPDATE_AND_CREATE_TOPIC header into a topic config.
func (b *Broker) topicFromRequest(h *header.CreateTopicRequest) (*metapb.TopicConfig, error) {
	if err := meta.CheckTopicName(h.Topic); err != nil {
		return nil, err
	}
	if b.topics.IsSystem(h.Topic) {
		return nil, reject(errBadRequest, "The topic[%s] is conflict with system topic.", h.Topic)
	}
	for _, n := range []struct {
		name string
		v    int32
	}{{"readQueueNums", h.ReadQueueNums}, {"writeQueueNums", h.WriteQueueNums}} {
		if n.v < 1 || n.v > meta.MaxQueueNums {
			return nil, reject(errBadRequest, "%s %d of topic %s outside 1..%d", n.name, n.v, h.Topic, meta.MaxQueueNums)
		}
	}
	if h.Perm&^meta.PermAll != 0 {
		return nil, reject(errBadRequest, "perm %d of topic %s: only bits 8 (priority), 4 (read), 2 (write), 1 (inherit) exist", h.Perm, h.Topic)
	}
	ft := metapb.TopicFilterType_SINGLE_TAG
	switch h.TopicFilterType {
	case "", body.FilterSingleTag:
	case body.FilterMultiTag:
		ft = metapb.TopicFilterType_MULTI_TAG
	default:
		return nil, reject(errBadRequest, "topicFilterType %q of topic %s: want %s or %s", h.TopicFilterType, h.Topic, body.FilterSingleTag, body.FilterMultiTag)
	}
	attrs, err := parseTopicAttributes(h.Topic, h.Attributes)
	if err != nil {
		return nil, err
	}
	return &metapb.TopicConfig{
		Attributes:      attrs,
		TopicName:       h.Topic,
		ReadQueueNums:   h.ReadQueueNums,
		WriteQueueNums:  h.WriteQueueNums,
		Perm:            h.Perm,
		TopicFilterType: ft,
		TopicSysFlag:    h.TopicSysFlag,
		Order:           h.Order,
	}, nil
}

// parseTopicAttributes reads RocketMQ 5's attributes of UPDATE_AND_CREATE_TOPIC,
// "+key=value,+key2=value2", into the stored map (keys without the "+"). The one this
// broker reads, duplicate.window, must parse (dedup.ParseWindow).
func parseTopicAttributes(topic, s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	attrs := make(map[string]string)
	for _, item := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(item, "=")
		if !ok || len(k) < 2 || k[0] != '+' {
			return nil, reject(errBadRequest, "attribute %q of topic %s: want +key=value", item, topic)
		}
		attrs[k[1:]] = v
	}
	if v, ok := attrs[dedup.Attribute]; ok {
		if _, err := dedup.ParseWindow(v); err != nil {
			return nil, reject(errBadRequest, "topic %s: %v", topic, err)
		}
	}
	return attrs, nil
}

// handleDeleteTopic serves DELETE_TOPIC_IN_BROKER (215): forget the topic's config,
// drop its ConsumeQueues (its records stay in the CommitLog until retention deletes the
// segments) and every consumer offset on it. Deleting an unknown topic succeeds, as in
// Java, so the admin tool can retry.
func (b *Broker) handleDeleteTopic(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.DeleteTopicRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if err := meta.CheckTopicName(h.Topic); err != nil {
		return errorResponse(req, err)
	}
	if b.topics.IsSystem(h.Topic) {
		return errorResponse(req, reject(errBadRequest, "The topic[%s] is conflict with system topic.", h.Topic))
	}
	if err := b.topics.Delete(h.Topic); err != nil {
		return errorResponse(req, err)
	}
	if err := b.store.DeleteTopic(h.Topic); err != nil {
		return errorResponse(req, fmt.Errorf("delete queues of topic %s: %w", h.Topic, err))
	}
	if err := b.offsets.DeleteTopic(h.Topic); err != nil {
		return errorResponse(req, fmt.Errorf("delete offsets of topic %s: %w", h.Topic, err))
	}
	if err := b.pop.Reset("", h.Topic); err != nil { // pop.go: a recreated topic starts afresh
		return errorResponse(req, fmt.Errorf("delete POP state of topic %s: %w", h.Topic, err))
	}
	b.log.Info().Str("topic", h.Topic).Msg("topic deleted")
	b.awaitRoute(h.Topic)
	return req.NewResponse(code.Success, "")
}

// handleGetAllTopicConfig serves GET_ALL_TOPIC_CONFIG (21): every topic config with the
// table's version, {"dataVersion":{...},"topicConfigTable":{...}}.
func (b *Broker) handleGetAllTopicConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	resp := req.NewResponse(code.Success, "")
	resp.Body = b.topics.Wrapper().AppendJSON(nil)
	return resp
}

// handleUpdateAndCreateSubGroup serves UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200): create
// or replace a consumer group's config from the SubscriptionGroupConfig JSON body.
func (b *Broker) handleUpdateAndCreateSubGroup(_ *server.Conn, req *codec.Command) *codec.Command {
	sg, err := meta.DecodeSubGroup(req.Body)
	if err != nil {
		return errorResponse(req, err)
	}
	if err := b.groups.Put(sg); err != nil {
		return errorResponse(req, err)
	}
	b.log.Info().Str("group", sg.GetGroupName()).Bool("consume_enable", sg.GetConsumeEnable()).
		Int32("retry_max_times", sg.GetRetryMaxTimes()).Msg("subscription group updated")
	return req.NewResponse(code.Success, "")
}

// handleGetAllSubscriptionGroupConfig serves GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201):
// {"dataVersion":{...},"subscriptionGroupTable":{"g":{...}}} as strict JSON, which the Go
// admin client parses with encoding/json.
func (b *Broker) handleGetAllSubscriptionGroupConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	data, err := b.groups.EncodeGroups()
	if err != nil {
		return errorResponse(req, err)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = data
	return resp
}
