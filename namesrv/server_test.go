package namesrv

import (
	"context"
	"hash/crc32"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// manualClock is an injectable clock that moves only when the test says so.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startServer starts a namesrv on 127.0.0.1:0 whose sweep loop never fires on its
// own: tests drive expiry through sweep after advancing clk.
func startServer(t *testing.T, clk *manualClock) *Server {
	t.Helper()
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.ScanInterval = o.BrokerExpiry
	o.Logger = zerolog.New(zerolog.NewTestWriter(t))
	o.Now = clk.Now
	o.KvConfigPath = filepath.Join(t.TempDir(), "kvConfig.json")
	s := New(o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func newClient(t *testing.T) *transport.Client {
	t.Helper()
	c := transport.NewClient(transport.ClientOptions{Logger: zerolog.New(zerolog.NewTestWriter(t))})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func call(t *testing.T, c *transport.Client, addr string, req *codec.Command) *codec.Command {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Invoke(ctx, addr, req)
	if err != nil {
		t.Fatalf("invoke code %d: %v", req.Code, err)
	}
	return resp
}

// javaCRC32 is UtilAll.crc32: CRC32 (IEEE) with the sign bit cleared.
func javaCRC32(b []byte) int32 { return int32(crc32.ChecksumIEEE(b) & 0x7fffffff) }

type broker struct {
	cluster, name, addr string
	id                  int64
	compressed          bool
	version             int64
	topics              []body.TopicConfig
}

func (b broker) request(t *testing.T) *codec.Command {
	t.Helper()
	rb := body.RegisterBrokerBody{TopicConfigSerializeWrapper: body.TopicConfigSerializeWrapper{
		TopicConfigTable: map[string]body.TopicConfig{},
		DataVersion:      body.DataVersion{Timestamp: 1690000000000, Counter: b.version},
	}}
	for _, tc := range b.topics {
		rb.TopicConfigSerializeWrapper.TopicConfigTable[tc.TopicName] = tc
	}
	data, err := rb.Encode(b.compressed)
	if err != nil {
		t.Fatalf("encode register body: %v", err)
	}
	h := header.RegisterBrokerRequest{
		BrokerName: b.name, BrokerAddr: b.addr, ClusterName: b.cluster,
		HAServerAddr: strings.Replace(b.addr, ":10911", ":10912", 1), BrokerID: b.id,
		Compressed: b.compressed, BodyCRC32: javaCRC32(data),
	}
	return codec.NewRequest(code.RegisterBroker, h.Encode(), data)
}

func (b broker) register(t *testing.T, c *transport.Client, ns string) header.RegisterBrokerResponse {
	t.Helper()
	resp := call(t, c, ns, b.request(t))
	if resp.Code != code.Success {
		t.Fatalf("register %s: code %d remark %q", b.addr, resp.Code, resp.Remark)
	}
	var rh header.RegisterBrokerResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		t.Fatalf("register response header: %v", err)
	}
	return rh
}

func topicConfig(name string, queues int32) body.TopicConfig {
	return body.TopicConfig{TopicName: name, ReadQueueNums: queues, WriteQueueNums: queues, Perm: 6, TopicFilterType: body.FilterSingleTag}
}

func routeReq(topic string) *codec.Command {
	h := header.GetRouteInfoRequest{Topic: topic}
	return codec.NewRequest(code.GetRouteInfoByTopic, h.Encode(), nil)
}

func getRoute(t *testing.T, c *transport.Client, ns, topic string) (*codec.Command, *body.TopicRouteData) {
	t.Helper()
	resp := call(t, c, ns, routeReq(topic))
	if resp.Code != code.Success {
		return resp, nil
	}
	r, err := body.DecodeTopicRouteData(resp.Body)
	if err != nil {
		t.Fatalf("route body %s: %v", resp.Body, err)
	}
	return resp, r
}

func wantNoRoute(t *testing.T, c *transport.Client, ns, topic string) {
	t.Helper()
	resp := call(t, c, ns, routeReq(topic))
	if resp.Code != code.TopicNotExist {
		t.Fatalf("route %q: code %d body %s, want %d", topic, resp.Code, resp.Body, code.TopicNotExist)
	}
	if len(resp.Body) != 0 {
		t.Fatalf("route %q: TOPIC_NOT_EXIST with a body %q", topic, resp.Body)
	}
	if !strings.Contains(resp.Remark, topic) {
		t.Fatalf("route %q: remark %q does not name the topic", topic, resp.Remark)
	}
}

// pollUntil retries cond until it holds or the deadline passes.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var brokerA = broker{
	cluster: "DefaultCluster", name: "broker-a", addr: "127.0.0.1:10911", version: 1,
	topics: []body.TopicConfig{topicConfig("TopicA", 4), topicConfig("TBW102", 8)},
}

func TestRegisterJSONThenRouteGolden(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)
	if rh := brokerA.register(t, c, s.Addr()); rh != (header.RegisterBrokerResponse{}) {
		t.Fatalf("master register response: got %+v, want no master info", rh)
	}
	for topic, queues := range map[string]int{"TopicA": 4, "TBW102": 8} {
		resp := call(t, c, s.Addr(), routeReq(topic))
		if resp.Code != code.Success {
			t.Fatalf("route %s: code %d remark %q", topic, resp.Code, resp.Remark)
		}
		q := strconv.Itoa(queues)
		want := `{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],` +
			`"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":` + q +
			`,"topicSysFlag":0,"writeQueueNums":` + q + `}]}`
		if string(resp.Body) != want {
			t.Fatalf("route %s body:\n got %s\nwant %s", topic, resp.Body, want)
		}
	}
	wantNoRoute(t, c, s.Addr(), "Nobody")
}

func TestRegisterCompressedThenRoute(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)
	b := brokerA
	b.compressed = true
	b.topics = append([]body.TopicConfig{topicConfig("%RETRY%group", 1)}, b.topics...)
	b.register(t, c, s.Addr())
	b2 := broker{cluster: "DefaultCluster", name: "broker-b", addr: "127.0.0.2:10911", version: 1, compressed: true,
		topics: []body.TopicConfig{topicConfig("TopicA", 2)}}
	b2.register(t, c, s.Addr())

	_, r := getRoute(t, c, s.Addr(), "TopicA")
	want := &body.TopicRouteData{
		QueueDatas: []body.QueueData{
			{BrokerName: "broker-a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6},
			{BrokerName: "broker-b", ReadQueueNums: 2, WriteQueueNums: 2, Perm: 6},
		},
		BrokerDatas: []body.BrokerData{
			{Cluster: "DefaultCluster", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: "127.0.0.1:10911"}},
			{Cluster: "DefaultCluster", BrokerName: "broker-b", BrokerAddrs: map[int64]string{0: "127.0.0.2:10911"}},
		},
		FilterServerTable: map[string][]string{},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("route TopicA:\n got %+v\nwant %+v", r, want)
	}
	_, r = getRoute(t, c, s.Addr(), "%RETRY%group")
	if r == nil || len(r.QueueDatas) != 1 || r.QueueDatas[0].ReadQueueNums != 1 || r.QueueDatas[0].BrokerName != "broker-a" {
		t.Fatalf("route %%RETRY%%group: got %+v", r)
	}
}

func TestRegisterCRC(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)

	req := brokerA.request(t)
	good := javaCRC32(req.Body)
	req.ExtFields["bodyCrc32"] = strconv.Itoa(int(good ^ 0x55))
	resp := call(t, c, s.Addr(), req)
	if resp.Code != code.SystemError {
		t.Fatalf("bad crc: code %d, want %d", resp.Code, code.SystemError)
	}
	for _, want := range []string{"crc32 not match", strconv.Itoa(int(good ^ 0x55)), strconv.Itoa(int(good))} {
		if !strings.Contains(resp.Remark, want) {
			t.Fatalf("bad crc remark %q does not contain %q", resp.Remark, want)
		}
	}
	// Nothing was registered, and the same connection is still served.
	wantNoRoute(t, c, s.Addr(), "TopicA")

	// The CRC with its sign bit kept (plain CRC32 as int32) and 0 (no check) both pass.
	req = brokerA.request(t)
	req.ExtFields["bodyCrc32"] = strconv.Itoa(int(int32(crc32.ChecksumIEEE(req.Body))))
	if resp := call(t, c, s.Addr(), req); resp.Code != code.Success {
		t.Fatalf("signed crc: code %d remark %q", resp.Code, resp.Remark)
	}
	req = brokerA.request(t)
	req.ExtFields["bodyCrc32"] = "0"
	req.Body = append(req.Body, ' ') // no longer matches any CRC, but is not checked
	if resp := call(t, c, s.Addr(), req); resp.Code != code.Success {
		t.Fatalf("crc 0: code %d remark %q", resp.Code, resp.Remark)
	}
	if _, r := getRoute(t, c, s.Addr(), "TopicA"); r == nil {
		t.Fatal("route TopicA missing after a good registration")
	}
}

func TestRegisterBadRequests(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)

	withBody := func(compressed bool, data []byte) *codec.Command {
		req := brokerA.request(t)
		req.ExtFields["compressed"] = strconv.FormatBool(compressed)
		req.ExtFields["bodyCrc32"] = strconv.Itoa(int(javaCRC32(data)))
		req.Body = data
		return req
	}
	tests := []struct {
		name   string
		req    *codec.Command
		remark string
	}{
		{"invalid JSON", withBody(false, []byte(`{"topicConfigSerializeWrapper":`)), "malformed"},
		{"JSON not an object", withBody(false, []byte(`[1,2]`)), "not a JSON object"},
		{"wrong field type", withBody(false, []byte(`{"filterServerList":"x"}`)), "malformed"},
		{"bad zlib", withBody(true, []byte("definitely not zlib")), "zlib"},
		{"JSON sent as compressed", withBody(true, brokerA.request(t).Body), "zlib"},
		{"missing brokerAddr", func() *codec.Command {
			req := brokerA.request(t)
			delete(req.ExtFields, "brokerAddr")
			return req
		}(), "brokerAddr"},
		{"brokerAddr with a space", func() *codec.Command {
			req := brokerA.request(t)
			req.ExtFields["brokerAddr"] = "127.0.0.1: 10911"
			return req
		}(), "brokerAddr"},
		{"brokerId not a number", func() *codec.Command {
			req := brokerA.request(t)
			req.ExtFields["brokerId"] = "master"
			return req
		}(), "brokerId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, c, s.Addr(), tt.req)
			if resp.Code != code.SystemError {
				t.Fatalf("code %d remark %q, want %d", resp.Code, resp.Remark, code.SystemError)
			}
			if !strings.Contains(resp.Remark, tt.remark) {
				t.Fatalf("remark %q does not mention %q", resp.Remark, tt.remark)
			}
			wantNoRoute(t, c, s.Addr(), "TopicA")
		})
	}
	// The server keeps serving: a good registration on the same connection works.
	brokerA.register(t, c, s.Addr())
	if _, r := getRoute(t, c, s.Addr(), "TopicA"); r == nil {
		t.Fatal("route missing after good registration")
	}
}

func TestRegisterEmptyBodyAndOldVersion(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)

	// No body: the broker joins its cluster with no topics.
	req := brokerA.request(t)
	req.Body = nil
	req.ExtFields["bodyCrc32"] = "0"
	if resp := call(t, c, s.Addr(), req); resp.Code != code.Success {
		t.Fatalf("empty body: code %d remark %q", resp.Code, resp.Remark)
	}
	wantNoRoute(t, c, s.Addr(), "TopicA")

	// A broker older than V3_0_11 sends the bare TopicConfigSerializeWrapper.
	w := body.TopicConfigSerializeWrapper{
		TopicConfigTable: map[string]body.TopicConfig{"Old": topicConfig("Old", 3)},
		DataVersion:      body.DataVersion{Timestamp: 1, Counter: 9},
	}
	req = brokerA.request(t)
	req.Version = 30
	req.Body = w.AppendJSON(nil)
	req.ExtFields["bodyCrc32"] = strconv.Itoa(int(javaCRC32(req.Body)))
	if resp := call(t, c, s.Addr(), req); resp.Code != code.Success {
		t.Fatalf("old version: code %d remark %q", resp.Code, resp.Remark)
	}
	if _, r := getRoute(t, c, s.Addr(), "Old"); r == nil || r.QueueDatas[0].ReadQueueNums != 3 {
		t.Fatalf("route Old: got %+v", r)
	}
}

func TestSlaveGetsMasterAddress(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)
	slave := broker{cluster: "DefaultCluster", name: "broker-a", addr: "127.0.0.9:10911", id: 1, version: 1}
	if rh := slave.register(t, c, s.Addr()); rh != (header.RegisterBrokerResponse{}) {
		t.Fatalf("slave before master: got %+v", rh)
	}
	brokerA.register(t, c, s.Addr())
	rh := slave.register(t, c, s.Addr())
	if want := (header.RegisterBrokerResponse{HAServerAddr: "127.0.0.1:10912", MasterAddr: "127.0.0.1:10911"}); rh != want {
		t.Fatalf("slave after master: got %+v, want %+v", rh, want)
	}
	_, r := getRoute(t, c, s.Addr(), "TopicA")
	if want := map[int64]string{0: "127.0.0.1:10911", 1: "127.0.0.9:10911"}; !reflect.DeepEqual(r.BrokerDatas[0].BrokerAddrs, want) {
		t.Fatalf("brokerAddrs: got %v, want %v", r.BrokerDatas[0].BrokerAddrs, want)
	}
}

func TestExpiryByClock(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t) // queries; the brokers register on their own connections
	brokerA.register(t, newClient(t), s.Addr())
	other := broker{cluster: "C2", name: "broker-b", addr: "127.0.0.2:10911", version: 1, topics: []body.TopicConfig{topicConfig("TopicB", 2)}}

	clk.Advance(60 * time.Second)
	other.register(t, newClient(t), s.Addr())
	clk.Advance(60 * time.Second) // broker-a is exactly BrokerExpiry old: still alive
	if gone := s.sweep(); len(gone) != 0 {
		t.Fatalf("sweep at the expiry: removed %v", gone)
	}
	clk.Advance(time.Second)
	if gone := s.sweep(); !reflect.DeepEqual(gone, []string{"127.0.0.1:10911"}) {
		t.Fatalf("sweep after the expiry: removed %v, want broker-a", gone)
	}
	wantNoRoute(t, c, s.Addr(), "TopicA")
	if _, r := getRoute(t, c, s.Addr(), "TopicB"); r == nil {
		t.Fatal("broker-b expired with broker-a")
	}
	// The expired broker's connection was closed by the server; broker-b's was not.
	pollUntil(t, "the expired broker's connection to close", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.mu.conns) == 1
	})
	// Registering again brings it back.
	brokerA.register(t, newClient(t), s.Addr())
	if _, r := getRoute(t, c, s.Addr(), "TopicA"); r == nil {
		t.Fatal("route missing after re-registration")
	}
}

func TestExpiryOnConnectionClose(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	brokerConn := transport.NewClient(transport.ClientOptions{})
	brokerA.register(t, brokerConn, s.Addr())
	c := newClient(t)
	if _, r := getRoute(t, c, s.Addr(), "TopicA"); r == nil {
		t.Fatal("route missing after registration")
	}
	if err := brokerConn.Close(); err != nil {
		t.Fatalf("close broker connection: %v", err)
	}
	pollUntil(t, "the route to go after the broker's connection closed", func() bool {
		return call(t, c, s.Addr(), routeReq("TopicA")).Code == code.TopicNotExist
	})
	resp := call(t, c, s.Addr(), codec.NewRequest(code.GetBrokerClusterInfo, nil, nil))
	ci, err := body.DecodeClusterInfo(resp.Body)
	if err != nil || len(ci.BrokerAddrTable) != 0 || len(ci.ClusterAddrTable) != 0 {
		t.Fatalf("cluster info after close: %+v, %v", ci, err)
	}
	// A client's connection (no registration) closing changes nothing.
	brokerA.register(t, c, s.Addr())
	other := newClient(t)
	call(t, other, s.Addr(), routeReq("TopicA"))
	_ = other.Close()
	if _, r := getRoute(t, c, s.Addr(), "TopicA"); r == nil {
		t.Fatal("a client's close removed the broker")
	}
}

func TestUnregister(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)
	brokerA.register(t, c, s.Addr())
	b := broker{cluster: "DefaultCluster", name: "broker-b", addr: "127.0.0.2:10911", version: 1, topics: []body.TopicConfig{topicConfig("TopicA", 2)}}
	b.register(t, c, s.Addr())

	h := header.UnregisterBrokerRequest{BrokerName: "broker-a", BrokerAddr: "127.0.0.1:10911", ClusterName: "DefaultCluster", BrokerID: 0}
	if resp := call(t, c, s.Addr(), codec.NewRequest(code.UnregisterBroker, h.Encode(), nil)); resp.Code != code.Success {
		t.Fatalf("unregister: code %d remark %q", resp.Code, resp.Remark)
	}
	wantNoRoute(t, c, s.Addr(), "TBW102") // only broker-a served it
	_, r := getRoute(t, c, s.Addr(), "TopicA")
	if r == nil || len(r.QueueDatas) != 1 || r.QueueDatas[0].BrokerName != "broker-b" || len(r.BrokerDatas) != 1 {
		t.Fatalf("route TopicA after unregister: got %+v", r)
	}
	resp := call(t, c, s.Addr(), codec.NewRequest(code.UnregisterBroker, map[string]string{"brokerName": "x"}, nil))
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "brokerAddr") {
		t.Fatalf("unregister without keys: code %d remark %q", resp.Code, resp.Remark)
	}
}

func TestDeleteTopic(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)
	brokerA.register(t, c, s.Addr())
	h := header.DeleteTopicRequest{Topic: "TopicA"}
	if resp := call(t, c, s.Addr(), codec.NewRequest(code.DeleteTopicInNamesrv, h.Encode(), nil)); resp.Code != code.Success {
		t.Fatalf("delete: code %d remark %q", resp.Code, resp.Remark)
	}
	wantNoRoute(t, c, s.Addr(), "TopicA")
	if _, r := getRoute(t, c, s.Addr(), "TBW102"); r == nil {
		t.Fatal("deleting TopicA removed TBW102")
	}
	// A periodic registration with the same DataVersion does not resurrect it.
	brokerA.register(t, c, s.Addr())
	wantNoRoute(t, c, s.Addr(), "TopicA")
}

func TestClusterInfoAndTopicLists(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)
	brokerA.register(t, c, s.Addr())
	b := broker{cluster: "C2", name: "broker-b", addr: "127.0.0.2:10911", version: 1,
		topics: []body.TopicConfig{topicConfig("TopicB", 2), topicConfig("TopicA", 2)}}
	b.register(t, c, s.Addr())

	resp := call(t, c, s.Addr(), codec.NewRequest(code.GetBrokerClusterInfo, nil, nil))
	want := `{"brokerAddrTable":{` +
		`"broker-a":{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"},` +
		`"broker-b":{"brokerAddrs":{"0":"127.0.0.2:10911"},"brokerName":"broker-b","cluster":"C2"}},` +
		`"clusterAddrTable":{"C2":["broker-b"],"DefaultCluster":["broker-a"]}}`
	if resp.Code != code.Success || string(resp.Body) != want {
		t.Fatalf("cluster info: code %d\n got %s\nwant %s", resp.Code, resp.Body, want)
	}

	resp = call(t, c, s.Addr(), codec.NewRequest(code.GetAllTopicListFromNameserver, nil, nil))
	if want := `{"topicList":["TBW102","TopicA","TopicB"]}`; resp.Code != code.Success || string(resp.Body) != want {
		t.Fatalf("topic list: code %d got %s, want %s", resp.Code, resp.Body, want)
	}

	for cluster, want := range map[string]string{
		"C2":             `{"topicList":["TopicA","TopicB"]}`,
		"DefaultCluster": `{"topicList":["TBW102","TopicA"]}`,
		"Unknown":        `{"topicList":[]}`,
	} {
		h := header.GetTopicsByClusterRequest{Cluster: cluster}
		resp := call(t, c, s.Addr(), codec.NewRequest(code.GetTopicsByCluster, h.Encode(), nil))
		if resp.Code != code.Success || string(resp.Body) != want {
			t.Fatalf("topics by cluster %s: code %d got %s, want %s", cluster, resp.Code, resp.Body, want)
		}
	}
	resp = call(t, c, s.Addr(), codec.NewRequest(code.GetTopicsByCluster, nil, nil))
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "cluster") {
		t.Fatalf("topics by cluster without header: code %d remark %q", resp.Code, resp.Remark)
	}
}

func TestUnknownCodeAndIndependentServers(t *testing.T) {
	clk := &manualClock{t: t0}
	s1 := startServer(t, clk)
	s2 := startServer(t, clk)
	c := newClient(t)
	resp := call(t, c, s1.Addr(), codec.NewRequest(999, nil, nil))
	if resp.Code != code.RequestCodeNotSupported {
		t.Fatalf("unknown code: got %d, want %d", resp.Code, code.RequestCodeNotSupported)
	}
	brokerA.register(t, c, s1.Addr())
	if _, r := getRoute(t, c, s1.Addr(), "TopicA"); r == nil {
		t.Fatal("route missing on the namesrv the broker registered with")
	}
	wantNoRoute(t, c, s2.Addr(), "TopicA")
}

func TestOptions(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Options)
		key  string
	}{
		{"no port", func(o *Options) { o.ListenAddr = "0.0.0.0" }, "listenAddr"},
		{"bad port", func(o *Options) { o.ListenAddr = "0.0.0.0:99999" }, "listenAddr"},
		{"host name", func(o *Options) { o.ListenAddr = "example.com:9876" }, "listenAddr"},
		{"zero expiry", func(o *Options) { o.BrokerExpiry = 0 }, "brokerExpiry"},
		{"zero scan", func(o *Options) { o.ScanInterval = 0 }, "scanInterval"},
		{"scan beyond expiry", func(o *Options) { o.ScanInterval = 5 * time.Minute }, "scanInterval"},
		{"tiny frames", func(o *Options) { o.MaxFrameBytes = 100 }, "maxFrameBytes"},
	}
	for _, tt := range tests {
		o := DefaultOptions()
		tt.mod(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Fatalf("%s: got %v, want an error naming %s", tt.name, err, tt.key)
		}
		if err := New(o).Start(context.Background()); err == nil {
			t.Fatalf("%s: Start accepted invalid options", tt.name)
		}
	}
	for _, ok := range []string{"127.0.0.1:0", ":9876", "[::1]:9876", "localhost:9876"} {
		o := DefaultOptions()
		o.ListenAddr = ok
		if err := o.Validate(); err != nil {
			t.Fatalf("listenAddr %q: %v", ok, err)
		}
	}
}

func TestSweepLoopExpires(t *testing.T) {
	clk := &manualClock{t: t0}
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.ScanInterval = 5 * time.Millisecond
	o.Logger = zerolog.New(zerolog.NewTestWriter(t))
	o.Now = clk.Now
	s := New(o)
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	defer s.Close()
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("second Start: want error")
	}
	c := newClient(t)
	brokerA.register(t, newClient(t), s.Addr())
	if _, r := getRoute(t, c, s.Addr(), "TopicA"); r == nil {
		t.Fatal("route missing after registration")
	}
	clk.Advance(o.BrokerExpiry + time.Second)
	pollUntil(t, "the sweep loop to expire the broker", func() bool {
		return call(t, c, s.Addr(), routeReq("TopicA")).Code == code.TopicNotExist
	})
}

func TestCloseWithoutStart(t *testing.T) {
	s := New(DefaultOptions())
	if err := s.Close(); err != nil {
		t.Fatalf("close before start: %v", err)
	}
	if s.Addr() != "" {
		t.Fatalf("addr before start: %q", s.Addr())
	}
}

func TestQueryDataVersionTCP(t *testing.T) {
	clk := &manualClock{t: t0}
	s := startServer(t, clk)
	c := newClient(t)
	brokerA.register(t, c, s.Addr())
	ext := map[string]string{"brokerName": "broker-a", "brokerAddr": brokerA.addr, "clusterName": brokerA.cluster, "brokerId": "0"}
	same := body.DataVersion{Timestamp: 1690000000000, Counter: brokerA.version}
	resp := call(t, c, s.Addr(), codec.NewRequest(queryDataVersion, ext, same.AppendJSON(nil)))
	if resp.Code != code.Success || resp.ExtFields["changed"] != "false" || string(resp.Body) != `{"counter":1,"timestamp":1690000000000}` {
		t.Fatalf("same version: code %d ext %v body %s", resp.Code, resp.ExtFields, resp.Body)
	}
	next := body.DataVersion{Timestamp: 1690000000001, Counter: 2}
	resp = call(t, c, s.Addr(), codec.NewRequest(queryDataVersion, ext, next.AppendJSON(nil)))
	if resp.Code != code.Success || resp.ExtFields["changed"] != "true" {
		t.Fatalf("new version: code %d ext %v", resp.Code, resp.ExtFields)
	}
	resp = call(t, c, s.Addr(), codec.NewRequest(queryDataVersion, ext, []byte("{")))
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "data version") {
		t.Fatalf("bad body: code %d remark %q", resp.Code, resp.Remark)
	}
}

func TestNamesrvMetricsEndpoint(t *testing.T) {
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.MetricsPromExporterHost, o.MetricsPromExporterPort = "127.0.0.1", 0
	s := New(o)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/nope": 404} {
		resp, err := http.Get("http://" + s.MetricsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Get("http://" + s.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `rocketgo_namesrv_brokers{node_type="nameserver"} 0`) {
		t.Errorf("/metrics lacks the broker gauge:\n%.2000s", b)
	}
}
