package broker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// invokeOK sends req to addr from e's client and fails the test unless it succeeds.
func (e *regEnv) invokeOK(addr string, req *codec.Command) *codec.Command {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.cli.Invoke(ctx, addr, req)
	if err != nil {
		e.t.Fatalf("code %d to %s: %v", req.Code, addr, err)
	}
	if resp.Code != code.Success {
		e.t.Fatalf("code %d to %s: answered %d %s", req.Code, addr, resp.Code, resp.Remark)
	}
	return resp
}

// route asks the NameServer at ns for topic's route: the decoded route and the
// answer's code (-1 when the request failed, which fails the test).
func (e *regEnv) route(ns, topic string) (*body.TopicRouteData, int32) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.cli.Invoke(ctx, ns, codec.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil))
	if err != nil {
		e.t.Errorf("route %s: %v", topic, err)
		return nil, -1
	}
	if resp.Code != code.Success {
		return nil, resp.Code
	}
	rd, err := body.DecodeTopicRouteData(resp.Body)
	if err != nil {
		e.t.Errorf("route %s body: %v", topic, err)
		return nil, -1
	}
	return rd, resp.Code
}

func createTopicRequest(topic string, queues int32) *codec.Command {
	h := header.CreateTopicRequest{Topic: topic, DefaultTopic: "TBW102", ReadQueueNums: queues, WriteQueueNums: queues, Perm: 6}
	return codec.NewRequest(code.UpdateAndCreateTopic, h.Encode(), nil)
}

// A created topic is registered alone (Apache's registerIncrementBrokerData), under a
// version no full round carries; a deletion registers the whole table.
func TestRegistrarIncrementalCreate(t *testing.T) {
	addr, got := startFakeNamesrv(t)
	e := startRegistryBroker(t, func(o *Options) {
		o.NamesrvAddrs = []string{addr}
		o.BrokerName, o.ClusterName = "broker-r", "ClusterR"
		o.RegisterPeriod = time.Minute
	})
	first := checkRegistration(t, e, nextCaptured(t, got, code.RegisterBroker, 5*time.Second)).TopicConfigSerializeWrapper

	e.invokeOK(e.b.Addr(), createTopicRequest("IncT", 8))
	inc := checkRegistration(t, e, nextCaptured(t, got, code.RegisterBroker, 5*time.Second)).TopicConfigSerializeWrapper
	if len(inc.TopicConfigTable) != 1 {
		t.Fatalf("incremental registration carries %d topics, want 1: %v", len(inc.TopicConfigTable), inc.TopicConfigTable)
	}
	if tc := inc.TopicConfigTable["IncT"]; tc.TopicName != "IncT" || tc.ReadQueueNums != 8 || tc.WriteQueueNums != 8 || tc.Perm != 6 {
		t.Fatalf("incremental registration: %+v", tc)
	}
	_, table := e.b.topics.All()
	if table.Counter != first.DataVersion.Counter+1 || inc.DataVersion.Counter != table.Counter {
		t.Fatalf("versions: first %+v, increment %+v, table %+v", first.DataVersion, inc.DataVersion, table)
	}
	if inc.DataVersion == table {
		t.Fatalf("increment carries the table's version %+v: the next full round would be skipped", table)
	}

	del := header.DeleteTopicRequest{Topic: "IncT"}
	e.invokeOK(e.b.Addr(), codec.NewRequest(code.DeleteTopicInBroker, del.Encode(), nil))
	full := checkRegistration(t, e, nextCaptured(t, got, code.RegisterBroker, 5*time.Second)).TopicConfigSerializeWrapper
	_, table = e.b.topics.All()
	if _, ok := full.TopicConfigTable["IncT"]; ok || len(full.TopicConfigTable) != len(first.TopicConfigTable) || full.DataVersion != table {
		t.Fatalf("after delete: %d topics (IncT present: %v) at %+v, want %d at %+v",
			len(full.TopicConfigTable), ok, full.DataVersion, len(first.TopicConfigTable), table)
	}
}

// Topics created concurrently all have a route the moment their creation is answered,
// and the NameServer keeps every other topic: an incremental body adds, never replaces.
// A deleted topic leaves the route table through DELETE_TOPIC_IN_NAMESRV, as mqadmin
// deleteTopic sends it.
func TestRegistrarIncrementalRealNamesrv(t *testing.T) {
	ns := startNamesrv(t)
	e := startRegistryBroker(t, func(o *Options) {
		o.NamesrvAddrs = []string{ns.Addr()}
		o.RegisterPeriod = time.Minute
	})
	route := func(topic string) (*body.TopicRouteData, int32) { return e.route(ns.Addr(), topic) }

	const creators, each = 4, 10
	var wg sync.WaitGroup
	for c := range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				topic := fmt.Sprintf("IncR%d_%d", c, i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				resp, err := e.cli.Invoke(ctx, e.b.Addr(), createTopicRequest(topic, int32(1+i%4)))
				cancel()
				if err != nil || resp.Code != code.Success {
					t.Errorf("create %s: %v %+v", topic, err, resp)
					return
				}
				// The answer comes after the NameServer took the change.
				rd, rc := route(topic)
				if rc != code.Success || len(rd.QueueDatas) != 1 || rd.QueueDatas[0].WriteQueueNums != int32(1+i%4) {
					t.Errorf("route of %s right after its creation: code %d %+v", topic, rc, rd)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, topic := range []string{"TBW102", "IncR0_0", "IncR3_9"} {
		if _, rc := route(topic); rc != code.Success {
			t.Fatalf("route of %s after all creations: code %d", topic, rc)
		}
	}

	del := header.DeleteTopicRequest{Topic: "IncR1_1"}
	e.invokeOK(e.b.Addr(), codec.NewRequest(code.DeleteTopicInBroker, del.Encode(), nil))
	e.invokeOK(ns.Addr(), codec.NewRequest(code.DeleteTopicInNamesrv, del.Encode(), nil))
	if _, rc := route("IncR1_1"); rc != code.TopicNotExist {
		t.Fatalf("route of a deleted topic: code %d, want %d", rc, code.TopicNotExist)
	}
	// A later creation is incremental and does not bring the deleted topic back.
	e.invokeOK(e.b.Addr(), createTopicRequest("IncAfter", 2))
	if _, rc := route("IncR1_1"); rc != code.TopicNotExist {
		t.Fatalf("route of a deleted topic after a creation: code %d", rc)
	}
	if _, rc := route("IncAfter"); rc != code.Success {
		t.Fatalf("route of IncAfter: code %d", rc)
	}
}
