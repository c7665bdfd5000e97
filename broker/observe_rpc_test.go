package broker

import (
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
)

// TestRPCLatencyCounts runs a known workload and checks rocketmq_rpc_latency's count
// per (request_code, response_code, is_long_polling): every request is observed
// exactly once, late answers (a parked pull) included.
func TestRPCLatencyCounts(t *testing.T) {
	h := newHarness(t, withMetrics)
	const topic = "RpcT"
	h.createTopic(topic, 1, 6)
	for range 4 {
		h.send(topic, 0, "m", nil)
	}
	if resp := h.pull(pullReq("g", topic, 0, 0)); resp.Code != code.Success {
		t.Fatalf("pull: %d %s", resp.Code, resp.Remark)
	}
	if resp := h.pull(pullReq("g", topic, 0, 4)); resp.Code != code.PullNotFound {
		t.Fatalf("pull at the end: %d %s, want PULL_NOT_FOUND", resp.Code, resp.Remark)
	}
	if resp := h.pull(pullReq("g", "NoSuchTopic", 0, 0)); resp.Code != code.TopicNotExist {
		t.Fatalf("pull of a missing topic: %d %s, want TOPIC_NOT_EXIST", resp.Code, resp.Remark)
	}
	// One pull parks and is answered late by the fifth send.
	ch, _ := h.asyncPull(h.cl, suspendReq("g", topic, 0, 4, 20000))
	h.waitParked(1)
	h.send(topic, 0, "m", nil)
	if resp := <-ch; resp == nil || resp.Code != code.Success {
		t.Fatalf("parked pull answer: %+v", resp)
	}

	fams, text := scrape(t, h.b)
	cases := []struct {
		req, resp, longPolling string
		want                   uint64
	}{
		{"update_and_create_topic", "success", "false", 1},
		{"send_message", "success", "false", 5},
		{"pull_message", "success", "false", 1},
		{"pull_message", "pull_not_found", "false", 1},
		{"pull_message", "topic_not_exist", "false", 1},
		{"pull_message", "success", "true", 1},
	}
	var total uint64
	for _, c := range cases {
		m := sample(t, fams, "rocketmq_rpc_latency", map[string]string{
			"cluster": "ClusterT", "node_type": "broker", "node_id": "broker-t", "protocol_type": "remoting",
			"request_code": c.req, "response_code": c.resp, "is_long_polling": c.longPolling, "result": "success",
		})
		hist := m.GetHistogram()
		if got := hist.GetSampleCount(); got != c.want {
			t.Errorf("rpc_latency{%s,%s,long_polling=%s} count %d, want %d", c.req, c.resp, c.longPolling, got, c.want)
		}
		if b := hist.GetBucket(); len(b) < 9 || b[0].GetUpperBound() != 1 || b[4].GetUpperBound() != 10 || b[8].GetUpperBound() != 3000 {
			t.Errorf("rpc_latency buckets %v, want Apache's 1,3,5,7,10,100,1000,2000,3000 ms", b)
		}
	}
	for _, m := range fams["rocketmq_rpc_latency"].GetMetric() {
		total += m.GetHistogram().GetSampleCount()
	}
	if want := uint64(10); total != want {
		t.Errorf("rpc_latency observed %d requests in all, want %d", total, want)
	}
	promtool(t, text)
}
