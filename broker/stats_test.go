package broker

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/message"
)

func TestTopicAndConsumeStats(t *testing.T) {
	e := startRegistryBroker(t, func(o *Options) { o.BrokerName = "broker-s" })
	if err := e.b.topics.Put(meta.NewTopicConfig("ST", 2, 2, body.PermRead|body.PermWrite)); err != nil {
		t.Fatal(err)
	}
	e.putMessage("ST", 0, nil, "m0")
	_, r1 := e.putMessage("ST", 0, nil, "m1")
	_, r2 := e.putMessage("ST", 0, nil, "m2")
	waitMaxOffset(t, e, "ST", 0, 3)
	if err := e.b.offsets.Commit("cg", "ST", 0, 2); err != nil {
		t.Fatal(err)
	}
	e.heartbeat(e.cli, "10.0.0.1@1", []string{"cg"}, []string{"ST"})

	// GET_TOPIC_STATS_INFO
	resp := e.call(e.cli, code.GetTopicStatsInfo, map[string]string{"topic": "ST"}, nil)
	ts, err := body.DecodeTopicStatsTable(resp.Body)
	if resp.Code != code.Success || err != nil {
		t.Fatalf("topic stats: code %d %q, %v", resp.Code, resp.Remark, err)
	}
	q0 := body.MessageQueue{Topic: "ST", BrokerName: "broker-s", QueueID: 0}
	q1 := body.MessageQueue{Topic: "ST", BrokerName: "broker-s", QueueID: 1}
	want0 := body.TopicOffset{MinOffset: 0, MaxOffset: 3, LastUpdateTimestamp: message.RecordStoreTimestamp(r2)}
	if len(ts.OffsetTable) != 2 || ts.OffsetTable[q0] != want0 || ts.OffsetTable[q1] != (body.TopicOffset{}) {
		t.Fatalf("topic stats: got %+v, want q0 %+v and an empty q1", ts.OffsetTable, want0)
	}
	if !strings.HasPrefix(string(resp.Body), `{"offsetTable":{{"brokerName":"broker-s","queueId":0,"topic":"ST"}:{`) {
		t.Fatalf("topic stats body is not in fastjson form: %s", resp.Body)
	}
	resp = e.call(e.cli, code.GetTopicStatsInfo, map[string]string{"topic": "NOPE"}, nil)
	if resp.Code != code.TopicNotExist || !strings.Contains(resp.Remark, "NOPE") {
		t.Fatalf("topic stats of unknown topic: code %d %q", resp.Code, resp.Remark)
	}

	// GET_CONSUME_STATS, by topic and for all the group's topics
	for _, ext := range []map[string]string{{"consumerGroup": "cg", "topic": "ST"}, {"consumerGroup": "cg"}} {
		resp = e.call(e.cli, code.GetConsumeStats, ext, nil)
		cs, err := body.DecodeConsumeStats(resp.Body)
		if resp.Code != code.Success || err != nil {
			t.Fatalf("consume stats %v: code %d %q, %v", ext, resp.Code, resp.Remark, err)
		}
		w0 := body.OffsetWrapper{BrokerOffset: 3, ConsumerOffset: 2, LastTimestamp: message.RecordStoreTimestamp(r1)}
		if len(cs.OffsetTable) != 2 || cs.OffsetTable[q0] != w0 || cs.OffsetTable[q1] != (body.OffsetWrapper{}) {
			t.Fatalf("consume stats %v: got %+v, want q0 %+v", ext, cs.OffsetTable, w0)
		}
		if d := cs.TotalDiff(); d != 1 {
			t.Fatalf("consume stats lag: got %d, want 1", d)
		}
	}
	resp = e.call(e.cli, code.GetConsumeStats, map[string]string{"consumerGroup": "cg", "topic": "NOPE"}, nil)
	if resp.Code != code.TopicNotExist {
		t.Fatalf("consume stats of unknown topic: code %d %q", resp.Code, resp.Remark)
	}
	resp = e.call(e.cli, code.GetConsumeStats, map[string]string{"consumerGroup": "ghost"}, nil)
	if resp.Code != code.SubscriptionGroupNotExist || !strings.Contains(resp.Remark, "ghost") {
		t.Fatalf("consume stats of unknown group: code %d %q", resp.Code, resp.Remark)
	}
	if resp := e.call(e.cli, code.GetConsumeStats, nil, nil); resp.Code != code.SystemError {
		t.Fatalf("consume stats without group: code %d", resp.Code)
	}
}

// waitMaxOffset polls until the queue's max offset reaches want (the ConsumeQueue is
// written by the dispatcher after the append).
func waitMaxOffset(t *testing.T, e *regEnv, topic string, queueID int32, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.b.store.MaxOffset(topic, queueID) < want {
		if time.Now().After(deadline) {
			t.Fatalf("max offset of %s/%d: %d, want %d", topic, queueID, e.b.store.MaxOffset(topic, queueID), want)
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
}

func TestConsumeTpsFromCommittedProgress(t *testing.T) {
	e := startRegistryBroker(t, nil)
	if err := e.b.topics.Put(meta.NewTopicConfig("TP", 1, 1, body.PermRead|body.PermWrite)); err != nil {
		t.Fatal(err)
	}
	e.heartbeat(e.cli, "10.0.0.1@1", []string{"cg"}, []string{"TP"})
	if err := e.b.offsets.Commit("cg", "TP", 0, 100); err != nil {
		t.Fatal(err)
	}
	e.b.sampleStats()
	e.clock.Advance(time.Minute)
	if err := e.b.offsets.Commit("cg", "TP", 0, 700); err != nil {
		t.Fatal(err)
	}
	resp := e.call(e.cli, code.GetConsumeStats, map[string]string{"consumerGroup": "cg", "topic": "TP"}, nil)
	cs, err := body.DecodeConsumeStats(resp.Body)
	if err != nil || cs.ConsumeTps != 10 {
		t.Fatalf("consumeTps: got %v (%v), want 600 messages / 60 s = 10", cs.ConsumeTps, err)
	}
}

func TestConnectionLists(t *testing.T) {
	e := startRegistryBroker(t, nil)
	e.heartbeat(e.cli, "10.0.0.1@1", []string{"cg"}, []string{"T"}, "pg")

	resp := e.call(e.cli, code.GetConsumerConnectionList, map[string]string{"consumerGroup": "cg"}, nil)
	cc, err := body.DecodeConsumerConnection(resp.Body)
	if resp.Code != code.Success || err != nil {
		t.Fatalf("consumer connections: code %d %q, %v", resp.Code, resp.Remark, err)
	}
	if len(cc.ConnectionSet) != 1 || cc.ConnectionSet[0].ClientID != "10.0.0.1@1" || cc.ConnectionSet[0].Language != "GO" ||
		!strings.HasPrefix(cc.ConnectionSet[0].ClientAddr, "127.0.0.1:") {
		t.Fatalf("consumer connections: %+v", cc.ConnectionSet)
	}
	if cc.ConsumeFromWhere != body.ConsumeFromFirstOffset || cc.MessageModel != body.Clustering || cc.ConsumeType != body.ConsumePassively {
		t.Fatalf("consumer settings: %+v", cc)
	}
	if _, ok := cc.SubscriptionTable["T"]; !ok || len(cc.SubscriptionTable) != 2 {
		t.Fatalf("subscriptions: %+v", cc.SubscriptionTable)
	}
	resp = e.call(e.cli, code.GetConsumerConnectionList, map[string]string{"consumerGroup": "offline"}, nil)
	if resp.Code != code.ConsumerNotOnline || !strings.Contains(resp.Remark, "offline") {
		t.Fatalf("offline group: code %d %q", resp.Code, resp.Remark)
	}

	resp = e.call(e.cli, code.GetProducerConnectionList, map[string]string{"producerGroup": "pg"}, nil)
	pc, err := body.DecodeProducerConnection(resp.Body)
	if resp.Code != code.Success || err != nil || len(pc.ConnectionSet) != 1 || pc.ConnectionSet[0].ClientID != "10.0.0.1@1" {
		t.Fatalf("producer connections: code %d, %+v, %v", resp.Code, pc, err)
	}
	resp = e.call(e.cli, code.GetProducerConnectionList, map[string]string{"producerGroup": "none"}, nil)
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "none") {
		t.Fatalf("unknown producer group: code %d %q", resp.Code, resp.Remark)
	}
}

func TestRuntimeInfo(t *testing.T) {
	e := startRegistryBroker(t, nil)
	e.putMessage("RT", 0, nil, "a")
	e.putMessage("RT", 0, nil, "b")
	e.b.sampleStats()
	e.clock.Advance(10 * time.Second)
	e.putMessage("RT", 0, nil, "c")
	e.b.countPulled(2)

	resp := e.call(e.cli, code.GetBrokerRuntimeInfo, nil, nil)
	kv, err := body.DecodeKVTable(resp.Body)
	if resp.Code != code.Success || err != nil {
		t.Fatalf("runtime info: code %d, %v", resp.Code, err)
	}
	tab := kv.Table
	if tab["msgPutTotalTodayNow"] != "3" || tab["msgGetTotalTodayNow"] != "2" || tab["brokerVersionDesc"] != "V4_9_7" {
		t.Fatalf("runtime info: %v", tab)
	}
	if tab["commitLogMaxOffset"] != strconv.FormatInt(e.b.store.MaxPhysicalOffset(), 10) {
		t.Fatalf("commitLogMaxOffset: got %s, want %d", tab["commitLogMaxOffset"], e.b.store.MaxPhysicalOffset())
	}
	// mqadmin clusterList splits putTps on spaces and parses the first as a double:
	// one message over the last 10 s.
	tps := strings.Split(tab["putTps"], " ")
	if len(tps) != 3 || tps[0] != "0.1" {
		t.Fatalf("putTps: got %q, want 0.1 first", tab["putTps"])
	}
	if gtps := strings.Split(tab["getTransferedTps"], " "); len(gtps) != 3 || gtps[0] != "0.2" {
		t.Fatalf("getTransferedTps: got %q, want 0.2 first", tab["getTransferedTps"])
	}
	for _, k := range []string{"getTransferedTps", "commitLogDiskRatio", "earliestMessageTimeStamp", "bootTimestamp",
		"runtime", "msgGetTotalTodayNow", "msgPutTotalTodayMorning", "sendThreadPoolQueueSize", "pageCacheLockTimeMills"} {
		if tab[k] == "" {
			t.Fatalf("runtime info lacks %s: %v", k, tab)
		}
	}
	if early, _ := strconv.ParseInt(tab["earliestMessageTimeStamp"], 10, 64); early <= 0 {
		t.Fatalf("earliestMessageTimeStamp: %q", tab["earliestMessageTimeStamp"])
	}
	if _, err := strconv.ParseFloat(tab["commitLogDiskRatio"], 64); err != nil {
		t.Fatalf("commitLogDiskRatio %q: %v", tab["commitLogDiskRatio"], err)
	}
}
