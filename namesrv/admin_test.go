package namesrv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// permOf returns the perm of brokerName's queue data in topic's route.
func permOf(t *testing.T, c *transport.Client, ns, topic, brokerName string) int32 {
	t.Helper()
	_, r := getRoute(t, c, ns, topic)
	if r == nil {
		t.Fatalf("no route for %s", topic)
	}
	for _, qd := range r.QueueDatas {
		if qd.BrokerName == brokerName {
			return qd.Perm
		}
	}
	t.Fatalf("route of %s has no queue data of %s", topic, brokerName)
	return 0
}

func writePerm(t *testing.T, c *transport.Client, ns string, op int32, brokerName string) int32 {
	t.Helper()
	h := header.WritePermOfBrokerRequest{BrokerName: brokerName}
	resp := call(t, c, ns, codec.NewRequest(op, h.Encode(), nil))
	if resp.Code != code.Success {
		t.Fatalf("code %d on %s: %d %q", op, brokerName, resp.Code, resp.Remark)
	}
	if op == code.WipeWritePermOfBroker {
		var rh header.WipeWritePermOfBrokerResponse
		if err := rh.Decode(resp.ExtFields); err != nil {
			t.Fatal(err)
		}
		return rh.WipeTopicCount
	}
	var rh header.AddWritePermOfBrokerResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		t.Fatal(err)
	}
	return rh.AddTopicCount
}

// TestWritePermOfBroker follows RouteInfoManager.operateWritePermOfBroker: wipe clears
// PermWrite of every topic of the broker group and answers how many topics it touched;
// an unchanged registration keeps the wipe; add sets read|write; a registration with a
// new DataVersion rebuilds the queue data from the broker's own perms.
func TestWritePermOfBroker(t *testing.T) {
	s := startServer(t, &manualClock{t: t0})
	c := newClient(t)
	ns := s.Addr()
	brokerA.register(t, c, ns)
	b := broker{cluster: "DefaultCluster", name: "broker-b", addr: "127.0.0.2:10911", version: 1,
		topics: []body.TopicConfig{topicConfig("TopicA", 2)}}
	b.register(t, c, ns)

	if n := writePerm(t, c, ns, code.WipeWritePermOfBroker, "broker-a"); n != 2 {
		t.Fatalf("wipeTopicCount %d, want 2 (TopicA, TBW102)", n)
	}
	if p := permOf(t, c, ns, "TopicA", "broker-a"); p != body.PermRead {
		t.Fatalf("wiped perm %d, want %d (read only)", p, body.PermRead)
	}
	if p := permOf(t, c, ns, "TopicA", "broker-b"); p != 6 {
		t.Fatalf("broker-b perm %d after wiping broker-a, want 6", p)
	}
	// The periodic registration of an unchanged broker must not undo the wipe.
	brokerA.register(t, c, ns)
	if p := permOf(t, c, ns, "TBW102", "broker-a"); p != body.PermRead {
		t.Fatalf("perm %d after an unchanged re-registration, want %d", p, body.PermRead)
	}
	if n := writePerm(t, c, ns, code.WipeWritePermOfBroker, "no-such-broker"); n != 0 {
		t.Fatalf("wipeTopicCount of an unknown broker %d, want 0", n)
	}

	if n := writePerm(t, c, ns, code.AddWritePermOfBroker, "broker-a"); n != 2 {
		t.Fatalf("addTopicCount %d, want 2", n)
	}
	if p := permOf(t, c, ns, "TopicA", "broker-a"); p != body.PermRead|body.PermWrite {
		t.Fatalf("perm after add %d, want 6", p)
	}

	// A changed DataVersion rebuilds the queue data: the broker's own perm wins.
	writePerm(t, c, ns, code.WipeWritePermOfBroker, "broker-a")
	changed := brokerA
	changed.version = 2
	changed.register(t, c, ns)
	if p := permOf(t, c, ns, "TopicA", "broker-a"); p != 6 {
		t.Fatalf("perm after a changed registration %d, want the broker's 6", p)
	}

	resp := call(t, c, ns, codec.NewRequest(code.WipeWritePermOfBroker, nil, nil))
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "brokerName") {
		t.Fatalf("wipe without brokerName: %d %q", resp.Code, resp.Remark)
	}
}

func kvReq(op int32, ns, key string) *codec.Command {
	return codec.NewRequest(op, (&header.KVConfigRequest{Namespace: ns, Key: key}).Encode(), nil)
}

func putKV(t *testing.T, c *transport.Client, addr, ns, key, value string) {
	t.Helper()
	h := header.PutKVConfigRequest{Namespace: ns, Key: key, Value: value}
	if resp := call(t, c, addr, codec.NewRequest(code.PutKVConfig, h.Encode(), nil)); resp.Code != code.Success {
		t.Fatalf("put %s/%s: %d %q", ns, key, resp.Code, resp.Remark)
	}
}

// startKVServer starts a namesrv keeping its KV table in path.
func startKVServer(t *testing.T, path string, orderMessageEnable bool) *Server {
	t.Helper()
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.MetricsExporterType = "DISABLE"
	o.Logger = zerolog.New(zerolog.NewTestWriter(t))
	o.KvConfigPath = path
	o.OrderMessageEnable = orderMessageEnable
	s := New(o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestKVConfig: PUT/GET/DELETE_KV_CONFIG and GET_KVLIST_BY_NAMESPACE answer as
// DefaultRequestProcessor does, and the table, written as kvConfig.json, survives a
// restart.
func TestKVConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "namesrv", "kvConfig.json")
	s := startKVServer(t, path, false)
	c := newClient(t)
	ns := s.Addr()

	resp := call(t, c, ns, kvReq(code.GetKVConfig, "NS", "k"))
	if resp.Code != code.QueryNotFound || resp.Remark != "No config item, Namespace: NS Key: k" {
		t.Fatalf("get absent: %d %q", resp.Code, resp.Remark)
	}
	putKV(t, c, ns, "NS", "k", "v1")
	putKV(t, c, ns, "NS", "k", "v2")
	putKV(t, c, ns, "NS", "gone", "x")
	putKV(t, c, ns, "ORDER_TOPIC_CONFIG", "orders", "broker-a:4")
	resp = call(t, c, ns, kvReq(code.GetKVConfig, "NS", "k"))
	if resp.Code != code.Success || resp.ExtFields["value"] != "v2" {
		t.Fatalf("get: %d %q %v", resp.Code, resp.Remark, resp.ExtFields)
	}
	if resp := call(t, c, ns, kvReq(code.DeleteKVConfig, "NS", "gone")); resp.Code != code.Success {
		t.Fatalf("delete: %d %q", resp.Code, resp.Remark)
	}
	if resp := call(t, c, ns, kvReq(code.DeleteKVConfig, "NS", "never")); resp.Code != code.Success {
		t.Fatalf("delete of an absent key: %d %q, want SUCCESS as in Java", resp.Code, resp.Remark)
	}
	list := func(namespace string) *codec.Command {
		h := header.GetKVListByNamespaceRequest{Namespace: namespace}
		return call(t, c, ns, codec.NewRequest(code.GetKVListByNamespace, h.Encode(), nil))
	}
	if resp := list("NS"); resp.Code != code.Success || string(resp.Body) != `{"table":{"k":"v2"}}` {
		t.Fatalf("list: %d %q %s", resp.Code, resp.Remark, resp.Body)
	}
	if resp := list("none"); resp.Code != code.QueryNotFound || resp.Remark != "No config item, Namespace: none" {
		t.Fatalf("list of an unknown namespace: %d %q", resp.Code, resp.Remark)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"configTable":{"NS":{"k":"v2"},"ORDER_TOPIC_CONFIG":{"orders":"broker-a:4"}}}`; string(raw) != want {
		t.Fatalf("kvConfig.json:\n%s\nwant\n%s", raw, want)
	}
	// A registering broker is answered with the ORDER_TOPIC_CONFIG table, as in 4.9.
	if resp := call(t, c, ns, brokerA.request(t)); string(resp.Body) != `{"table":{"orders":"broker-a:4"}}` {
		t.Fatalf("register answer body %q", resp.Body)
	}

	s.Close()
	s2 := startKVServer(t, path, false)
	resp = call(t, c, s2.Addr(), kvReq(code.GetKVConfig, "NS", "k"))
	if resp.Code != code.Success || resp.ExtFields["value"] != "v2" {
		t.Fatalf("after restart: %d %q %v", resp.Code, resp.Remark, resp.ExtFields)
	}
	if resp := call(t, c, s2.Addr(), kvReq(code.GetKVConfig, "NS", "gone")); resp.Code != code.QueryNotFound {
		t.Fatalf("deleted key after restart: %d", resp.Code)
	}

	if resp := call(t, c, s2.Addr(), codec.NewRequest(code.PutKVConfig, map[string]string{"namespace": "NS"}, nil)); resp.Code != code.SystemError {
		t.Fatalf("put without key: %d %q", resp.Code, resp.Remark)
	}
}

// TestKVConfigBadFile: a kvConfig.json that is not a KV table stops the start with
// a reason instead of being overwritten at the next change.
func TestKVConfigBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kvConfig.json")
	if err := os.WriteFile(path, []byte(`{"configTable":["x"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.MetricsExporterType = "DISABLE"
	o.KvConfigPath = path
	s := New(o)
	defer s.Close()
	err := s.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("start with a bad kvConfig.json: %v", err)
	}
}

// TestOrderTopicConf: with orderMessageEnable the route carries the topic's
// ORDER_TOPIC_CONFIG entry; without it (the default) it does not, as in 4.9.
func TestOrderTopicConf(t *testing.T) {
	s := startKVServer(t, filepath.Join(t.TempDir(), "kvConfig.json"), false)
	c := newClient(t)
	ns := s.Addr()
	brokerA.register(t, c, ns)
	putKV(t, c, ns, "ORDER_TOPIC_CONFIG", "TopicA", "broker-a:4")
	if resp, _ := getRoute(t, c, ns, "TopicA"); strings.Contains(string(resp.Body), "orderTopicConf") {
		t.Fatalf("orderTopicConf without orderMessageEnable: %s", resp.Body)
	}
	update := func(text string) *codec.Command {
		return call(t, c, ns, codec.NewRequest(code.UpdateNamesrvConfig, nil, []byte(text)))
	}
	if resp := update("orderMessageEnable=true\n"); resp.Code != code.Success || resp.Remark != "" {
		t.Fatalf("update: %d %q", resp.Code, resp.Remark)
	}
	if _, r := getRoute(t, c, ns, "TopicA"); r.OrderTopicConf != "broker-a:4" {
		t.Fatalf("orderTopicConf %q, want broker-a:4", r.OrderTopicConf)
	}
	if _, r := getRoute(t, c, ns, "TBW102"); r.OrderTopicConf != "" {
		t.Fatalf("orderTopicConf of a topic without entry: %q", r.OrderTopicConf)
	}
}

// TestNamesrvConfig: GET_NAMESRV_CONFIG lists every setting; UPDATE_NAMESRV_CONFIG
// applies orderMessageEnable, names start-only keys in its remark, refuses unknown
// keys, bad values and (NO_PERMISSION, as 4.9) the path keys, changing nothing then.
func TestNamesrvConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kvConfig.json")
	s := startKVServer(t, path, false)
	c := newClient(t)
	ns := s.Addr()
	get := func() string {
		resp := call(t, c, ns, codec.NewRequest(code.GetNamesrvConfig, nil, nil))
		if resp.Code != code.Success {
			t.Fatalf("get config: %d %q", resp.Code, resp.Remark)
		}
		return string(resp.Body)
	}
	want := "brokerExpiry=120000\nenablePprof=false\nkvConfigPath=" + path + "\nlistenAddr=127.0.0.1:0\nmaxFrameBytes=16777216\n" +
		"metricsExporterType=DISABLE\nmetricsPromExporterHost=\nnamesrvMetricsPromExporterPort=5558\norderMessageEnable=false\nscanInterval=10000\n"
	if got := get(); got != want {
		t.Fatalf("config:\n%s\nwant\n%s", got, want)
	}
	update := func(text string) *codec.Command {
		return call(t, c, ns, codec.NewRequest(code.UpdateNamesrvConfig, nil, []byte(text)))
	}
	for _, tc := range []struct {
		body   string
		code   int32
		remark string
	}{
		{"kvConfigPath=/tmp/x\n", code.NoPermission, "Can not update config path"},
		{"configStorePath=/tmp/x\n", code.NoPermission, "Can not update config path"},
		{"orderMessageEnable=true\nnoSuchKey=1\n", code.SystemError, "unknown namesrv config keys: noSuchKey"},
		{"orderMessageEnable=yes\n", code.SystemError, "bad namesrv config values: orderMessageEnable=yes: want true or false"},
	} {
		if resp := update(tc.body); resp.Code != tc.code || resp.Remark != tc.remark {
			t.Errorf("update %q: %d %q, want %d %q", tc.body, resp.Code, resp.Remark, tc.code, tc.remark)
		}
	}
	if got := get(); got != want {
		t.Fatalf("a refused update changed the config:\n%s", got)
	}
	resp := update("# comment\norderMessageEnable = true\nbrokerExpiry=5000\n")
	if resp.Code != code.Success || resp.Remark != "not applied, read only at start: brokerExpiry" {
		t.Fatalf("update: %d %q", resp.Code, resp.Remark)
	}
	if got := get(); !strings.Contains(got, "orderMessageEnable=true\n") || !strings.Contains(got, "brokerExpiry=120000\n") {
		t.Fatalf("config after update:\n%s", got)
	}
}

// FuzzDecodeKVFile: any kvConfig.json content is a table or an error, never a panic.
func FuzzDecodeKVFile(f *testing.F) {
	f.Add([]byte(`{"configTable":{"ORDER_TOPIC_CONFIG":{"orders":"broker-a:4"}}}`))
	f.Add([]byte(`{"configTable":{"ns":null}}`))
	f.Add([]byte(`{"configTable":["x"]}`))
	f.Add([]byte(" \n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		table, err := decodeKVFile(raw)
		if err == nil && table == nil {
			t.Fatal("nil table without error")
		}
		for ns, kv := range table {
			if kv == nil {
				t.Fatalf("namespace %q decoded to a nil map", ns)
			}
		}
	})
}

// TestKVConfigWriteFailure: a change that cannot be written is refused and not made.
func TestKVConfigWriteFailure(t *testing.T) {
	// The directory does not exist at start (an empty table); a file then takes its
	// name, so the write fails.
	notDir := filepath.Join(t.TempDir(), "namesrv")
	s := startKVServer(t, filepath.Join(notDir, "kvConfig.json"), false)
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	h := header.PutKVConfigRequest{Namespace: "NS", Key: "k", Value: "v"}
	resp := call(t, c, s.Addr(), codec.NewRequest(code.PutKVConfig, h.Encode(), nil))
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "persist KV config") {
		t.Fatalf("put on an unwritable path: %d %q", resp.Code, resp.Remark)
	}
	if resp := call(t, c, s.Addr(), kvReq(code.GetKVConfig, "NS", "k")); resp.Code != code.QueryNotFound {
		t.Fatalf("a refused put is visible: %d %v", resp.Code, resp.ExtFields)
	}
}

// TestKVConfigBounded: the table stays under its limit (maxKVFileBytes, 1 KiB here);
// a put beyond is refused.
func TestKVConfigBounded(t *testing.T) {
	kv, err := openKV("")
	if err != nil {
		t.Fatal(err)
	}
	kv.limit = 1 << 10
	big := strings.Repeat("v", kv.limit/2)
	if err := kv.put("NS", "a", big); err != nil {
		t.Fatal(err)
	}
	if err := kv.put("NS", "b", big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("put past the bound: %v", err)
	}
	if _, ok := kv.get("NS", "b"); ok {
		t.Fatal("a refused put is visible")
	}
}
