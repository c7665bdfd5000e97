package namesrv

import (
	"reflect"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
)

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func topics(version int64, tcs ...body.TopicConfig) *body.TopicConfigSerializeWrapper {
	w := &body.TopicConfigSerializeWrapper{
		TopicConfigTable: map[string]body.TopicConfig{},
		DataVersion:      body.DataVersion{Timestamp: 1000, Counter: version},
	}
	for _, tc := range tcs {
		w.TopicConfigTable[tc.TopicName] = tc
	}
	return w
}

func tc(name string, read, write, perm int32) body.TopicConfig {
	return body.TopicConfig{TopicName: name, ReadQueueNums: read, WriteQueueNums: write, Perm: perm, TopicFilterType: body.FilterSingleTag}
}

func reg(cluster, name string, id int64, addr string, w *body.TopicConfigSerializeWrapper, conn uint64, now time.Time) registration {
	return registration{
		cluster: cluster, name: name, id: id, addr: addr, haServerAddr: addr + "0",
		topics: w, filterServers: []string{}, connID: conn, now: now,
	}
}

func mustRoute(t *testing.T, rt *routeTable, topic string) *body.TopicRouteData {
	t.Helper()
	r, ok := rt.route(topic)
	if !ok {
		t.Fatalf("route(%q): not found", topic)
	}
	return r
}

func noRoute(t *testing.T, rt *routeTable, topic string) {
	t.Helper()
	if r, ok := rt.route(topic); ok {
		t.Fatalf("route(%q): got %+v, want none", topic, r)
	}
}

func TestRegisterBuildsRoutes(t *testing.T) {
	rt := newRouteTable()
	res := rt.register(reg("C", "broker-b", 0, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6), tc("Only-b", 2, 1, 4)), 1, t0))
	if res != (registerResult{newAddr: true}) {
		t.Fatalf("master register result: got %+v", res)
	}
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 8, 8, 6)), 2, t0))

	got := mustRoute(t, rt, "T")
	want := &body.TopicRouteData{
		QueueDatas: []body.QueueData{
			{BrokerName: "broker-a", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 6},
			{BrokerName: "broker-b", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6},
		},
		BrokerDatas: []body.BrokerData{
			{Cluster: "C", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: "10.0.0.1:10911"}},
			{Cluster: "C", BrokerName: "broker-b", BrokerAddrs: map[int64]string{0: "10.0.0.2:10911"}},
		},
		FilterServerTable: map[string][]string{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("route T:\n got %+v\nwant %+v", got, want)
	}
	only := mustRoute(t, rt, "Only-b")
	if len(only.QueueDatas) != 1 || only.QueueDatas[0] != (body.QueueData{BrokerName: "broker-b", ReadQueueNums: 2, WriteQueueNums: 1, Perm: 4}) {
		t.Fatalf("route Only-b: got %+v", only.QueueDatas)
	}
	noRoute(t, rt, "Unknown")
	if got := rt.allTopics(); !reflect.DeepEqual(got, []string{"Only-b", "T"}) {
		t.Fatalf("allTopics: got %v", got)
	}
}

func TestRegisterSlave(t *testing.T) {
	rt := newRouteTable()
	// A slave whose master is not registered learns nothing, and adds no queue data.
	res := rt.register(reg("C", "broker-a", 1, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	if res.masterAddr != "" || res.haServerAddr != "" {
		t.Fatalf("slave without master: got %+v", res)
	}
	noRoute(t, rt, "T")

	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 2, t0))
	res = rt.register(reg("C", "broker-a", 1, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	if want := (registerResult{masterAddr: "10.0.0.1:10911", haServerAddr: "10.0.0.1:109110"}); res != want {
		t.Fatalf("slave with master: got %+v, want %+v", res, want)
	}
	r := mustRoute(t, rt, "T")
	if want := map[int64]string{0: "10.0.0.1:10911", 1: "10.0.0.2:10911"}; !reflect.DeepEqual(r.BrokerDatas[0].BrokerAddrs, want) {
		t.Fatalf("brokerAddrs: got %v, want %v", r.BrokerDatas[0].BrokerAddrs, want)
	}
}

func TestRegisterSameAddrMovesID(t *testing.T) {
	rt := newRouteTable()
	rt.register(reg("C", "broker-a", 1, "10.0.0.2:10911", topics(1), 1, t0))
	// The slave is promoted: the same address now registers as brokerId 0.
	rt.register(reg("C", "broker-a", 0, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	r := mustRoute(t, rt, "T")
	if want := map[int64]string{0: "10.0.0.2:10911"}; !reflect.DeepEqual(r.BrokerDatas[0].BrokerAddrs, want) {
		t.Fatalf("brokerAddrs after promotion: got %v, want %v", r.BrokerDatas[0].BrokerAddrs, want)
	}
}

func TestRegisterDataVersionGatesRebuild(t *testing.T) {
	rt := newRouteTable()
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	rt.deleteTopic("T", "")
	noRoute(t, rt, "T")

	// Same DataVersion: the periodic registration does not bring the topic back.
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	noRoute(t, rt, "T")

	// A new DataVersion rebuilds the broker's queue data, with the new counts.
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(2, tc("T", 2, 3, 4)), 1, t0))
	r := mustRoute(t, rt, "T")
	if want := (body.QueueData{BrokerName: "broker-a", ReadQueueNums: 2, WriteQueueNums: 3, Perm: 4}); r.QueueDatas[0] != want {
		t.Fatalf("queue data after new version: got %+v, want %+v", r.QueueDatas[0], want)
	}
}

func TestUnregisterTable(t *testing.T) {
	rt := newRouteTable()
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6), tc("A-only", 1, 1, 6)), 1, t0))
	rt.register(reg("C", "broker-a", 1, "10.0.0.2:10911", topics(1), 2, t0))
	rt.register(reg("C", "broker-b", 0, "10.0.0.3:10911", topics(1, tc("T", 4, 4, 6)), 3, t0))

	// Removing the slave leaves the group and its queue data.
	if !rt.unregister("C", "10.0.0.2:10911", "broker-a", 1) {
		t.Fatal("unregister slave: reported unknown")
	}
	if r := mustRoute(t, rt, "A-only"); len(r.BrokerDatas[0].BrokerAddrs) != 1 {
		t.Fatalf("after slave left: got %+v", r.BrokerDatas)
	}
	// Removing the master empties the group: its queue data goes from every topic.
	rt.unregister("C", "10.0.0.1:10911", "broker-a", 0)
	noRoute(t, rt, "A-only")
	r := mustRoute(t, rt, "T")
	if len(r.QueueDatas) != 1 || r.QueueDatas[0].BrokerName != "broker-b" || len(r.BrokerDatas) != 1 {
		t.Fatalf("route T after broker-a left: got %+v", r)
	}
	ci := rt.clusterInfo()
	if want := map[string][]string{"C": {"broker-b"}}; !reflect.DeepEqual(ci.ClusterAddrTable, want) {
		t.Fatalf("clusters: got %v, want %v", ci.ClusterAddrTable, want)
	}
	if _, ok := ci.BrokerAddrTable["broker-a"]; ok {
		t.Fatalf("broker-a still in cluster info: %+v", ci.BrokerAddrTable)
	}
	rt.unregister("C", "10.0.0.3:10911", "broker-b", 0)
	if ci := rt.clusterInfo(); len(ci.ClusterAddrTable) != 0 || len(ci.BrokerAddrTable) != 0 || rt.liveCount() != 0 {
		t.Fatalf("after all left: %+v, live %d", ci, rt.liveCount())
	}
	if rt.unregister("C", "10.0.0.3:10911", "broker-b", 0) {
		t.Fatal("second unregister: reported registered")
	}
}

func TestExpire(t *testing.T) {
	rt := newRouteTable()
	const expiry = 120 * time.Second
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 7, t0))
	rt.register(reg("C", "broker-b", 0, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6)), 8, t0.Add(60*time.Second)))

	if gone := rt.expire(t0.Add(expiry), expiry); len(gone) != 0 {
		t.Fatalf("at exactly the expiry: removed %v, want none", gone)
	}
	gone := rt.expire(t0.Add(expiry+time.Millisecond), expiry)
	if want := []removedBroker{{addr: "10.0.0.1:10911", connID: 7}}; !reflect.DeepEqual(gone, want) {
		t.Fatalf("expire: got %v, want %v", gone, want)
	}
	r := mustRoute(t, rt, "T")
	if len(r.QueueDatas) != 1 || r.QueueDatas[0].BrokerName != "broker-b" {
		t.Fatalf("route after expiry: got %+v", r)
	}
	// A registration refreshes liveness.
	rt.register(reg("C", "broker-b", 0, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6)), 8, t0.Add(170*time.Second)))
	if gone := rt.expire(t0.Add(200*time.Second), expiry); len(gone) != 0 {
		t.Fatalf("refreshed broker expired: %v", gone)
	}
	if gone := rt.expire(t0.Add(291*time.Second), expiry); len(gone) != 1 {
		t.Fatalf("expire later: got %v, want broker-b", gone)
	}
	noRoute(t, rt, "T")
}

func TestConnClosed(t *testing.T) {
	rt := newRouteTable()
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	rt.register(reg("C", "broker-b", 0, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6)), 2, t0))
	// broker-b reconnects and registers on connection 3: closing 2 must not remove it.
	rt.register(reg("C", "broker-b", 0, "10.0.0.2:10911", topics(1, tc("T", 4, 4, 6)), 3, t0))

	if gone := rt.connClosed(2); len(gone) != 0 {
		t.Fatalf("closing a superseded connection removed %v", gone)
	}
	if !rt.connInUse(1) || rt.connInUse(2) {
		t.Fatal("connInUse: want 1 in use, 2 not")
	}
	if gone := rt.connClosed(1); !reflect.DeepEqual(gone, []string{"10.0.0.1:10911"}) {
		t.Fatalf("connClosed(1): got %v", gone)
	}
	r := mustRoute(t, rt, "T")
	if len(r.BrokerDatas) != 1 || r.BrokerDatas[0].BrokerName != "broker-b" {
		t.Fatalf("route after close: got %+v", r)
	}
}

func TestTopicsByClusterAndDelete(t *testing.T) {
	rt := newRouteTable()
	rt.register(reg("C1", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("Shared", 4, 4, 6), tc("A", 4, 4, 6)), 1, t0))
	rt.register(reg("C2", "broker-b", 0, "10.0.0.2:10911", topics(1, tc("Shared", 4, 4, 6), tc("B", 4, 4, 6)), 2, t0))

	if got := rt.topicsByCluster("C1"); !reflect.DeepEqual(got, []string{"A", "Shared"}) {
		t.Fatalf("topicsByCluster(C1): got %v", got)
	}
	if got := rt.topicsByCluster("nope"); len(got) != 0 {
		t.Fatalf("topicsByCluster(nope): got %v", got)
	}
	// Deleting within one cluster keeps the other cluster's queue data.
	rt.deleteTopic("Shared", "C1")
	r := mustRoute(t, rt, "Shared")
	if len(r.QueueDatas) != 1 || r.QueueDatas[0].BrokerName != "broker-b" {
		t.Fatalf("Shared after cluster delete: got %+v", r.QueueDatas)
	}
	rt.deleteTopic("Shared", "C2")
	noRoute(t, rt, "Shared")
	rt.deleteTopic("A", "")
	noRoute(t, rt, "A")
	if got := rt.allTopics(); !reflect.DeepEqual(got, []string{"B"}) {
		t.Fatalf("allTopics: got %v", got)
	}
}

func TestFilterServersInRoute(t *testing.T) {
	rt := newRouteTable()
	r := reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 1, t0)
	r.filterServers = []string{"10.0.0.1:20000"}
	rt.register(r)
	if got := mustRoute(t, rt, "T").FilterServerTable; !reflect.DeepEqual(got, map[string][]string{"10.0.0.1:10911": {"10.0.0.1:20000"}}) {
		t.Fatalf("filter servers: got %v", got)
	}
	// nil (a pre-3.0.11 body) keeps them; an empty list clears them.
	r.filterServers = nil
	rt.register(r)
	if got := mustRoute(t, rt, "T").FilterServerTable; len(got) != 1 {
		t.Fatalf("filter servers after nil list: got %v", got)
	}
	r.filterServers = []string{}
	rt.register(r)
	if got := mustRoute(t, rt, "T").FilterServerTable; len(got) != 0 {
		t.Fatalf("filter servers after empty list: got %v", got)
	}
}

func TestQueryDataVersion(t *testing.T) {
	rt := newRouteTable()
	dv := body.DataVersion{Timestamp: 1000, Counter: 1}
	if changed, held := rt.queryDataVersion("10.0.0.1:10911", dv, t0); !changed || held != nil {
		t.Fatalf("unknown broker: got changed=%v held=%v, want true, nil", changed, held)
	}
	rt.register(reg("C", "broker-a", 0, "10.0.0.1:10911", topics(1), 1, t0))
	// Unchanged: the broker skips registering, and the query keeps it alive.
	changed, held := rt.queryDataVersion("10.0.0.1:10911", dv, t0.Add(100*time.Second))
	if changed || held == nil || *held != dv {
		t.Fatalf("same version: got changed=%v held=%v", changed, held)
	}
	if gone := rt.expire(t0.Add(200*time.Second), 120*time.Second); len(gone) != 0 {
		t.Fatalf("broker kept alive by the query expired: %v", gone)
	}
	changed, held = rt.queryDataVersion("10.0.0.1:10911", body.DataVersion{Timestamp: 1000, Counter: 2}, t0.Add(300*time.Second))
	if !changed || *held != dv {
		t.Fatalf("new version: got changed=%v held=%v", changed, held)
	}
	if gone := rt.expire(t0.Add(300*time.Second), 120*time.Second); len(gone) != 1 {
		t.Fatalf("a changed-version query refreshed liveness: removed %v", gone)
	}
}

func TestRegisterRenamedBrokerLeavesOldGroup(t *testing.T) {
	rt := newRouteTable()
	rt.register(reg("C", "old-name", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	rt.register(reg("C", "new-name", 0, "10.0.0.1:10911", topics(1, tc("T", 4, 4, 6)), 1, t0))
	r := mustRoute(t, rt, "T")
	if len(r.QueueDatas) != 1 || r.QueueDatas[0].BrokerName != "new-name" || len(r.BrokerDatas) != 1 || r.BrokerDatas[0].BrokerName != "new-name" {
		t.Fatalf("route after rename: got %+v", r)
	}
	if ci := rt.clusterInfo(); !reflect.DeepEqual(ci.ClusterAddrTable, map[string][]string{"C": {"new-name"}}) {
		t.Fatalf("clusters after rename: got %v", ci.ClusterAddrTable)
	}
}
