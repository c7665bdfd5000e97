package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// A fresh cluster serves TBW102 (autoCreateTopicEnable) from its broker: perm 7
// (inherit, read, write) and the broker's defaultTopicQueueNums of 8.
func TestStartServesDefaultTopic(t *testing.T) {
	t.Parallel()
	c := Start(t)
	if c.NamesrvAddr() == "" || c.BrokerAddr() == "" {
		t.Fatalf("addresses: namesrv %q, broker %q", c.NamesrvAddr(), c.BrokerAddr())
	}
	r := c.WaitRoute(t, "TBW102", 0)
	q, _ := r.Queue(DefaultBrokerName)
	if q.Perm != 7 || q.ReadQueueNums != 8 || q.WriteQueueNums != 8 {
		t.Fatalf("TBW102 queue data %+v, want perm 7 and 8 queues", q)
	}
	for _, b := range r.BrokerDatas {
		if b.BrokerName == DefaultBrokerName && b.Cluster != DefaultClusterName {
			t.Fatalf("broker data %+v, want cluster %s", b, DefaultClusterName)
		}
	}
	if _, err := c.Route("no-such-topic"); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("route of an unknown topic: %v, want ErrNoRoute", err)
	}
	if _, err := os.Stat(c.StoreDir()); err != nil {
		t.Fatalf("store dir: %v", err)
	}
}

// Without autoCreateTopicEnable the broker still registers TBW102, but without the
// inherit bit (perm 6), so nothing can be created from it.
func TestAutoCreateOff(t *testing.T) {
	t.Parallel()
	c := Start(t, WithAutoCreateTopic(false))
	r := c.WaitRoute(t, "TBW102", 0)
	if q, _ := r.Queue(DefaultBrokerName); q.Perm&1 != 0 {
		t.Fatalf("TBW102 perm %d with autoCreateTopicEnable=false, want no inherit bit", q.Perm)
	}
}

// CreateTopic makes a topic with the asked queue count whose queues are empty; the
// inspection helpers see it as a client would.
func TestCreateTopicAndInspect(t *testing.T) {
	t.Parallel()
	c := Start(t, WithFlushMode("SYNC_FLUSH"))
	r := c.CreateTopic(t, "harness-topic", 3)
	q, _ := r.Queue(DefaultBrokerName)
	if q.ReadQueueNums != 3 || q.WriteQueueNums != 3 || q.Perm != 6 {
		t.Fatalf("created topic queue data %+v, want 3/3 perm 6", q)
	}
	if got := r.MasterAddr(DefaultBrokerName); got != c.BrokerAddr() {
		t.Fatalf("master address %q, want %q", got, c.BrokerAddr())
	}
	for qid := 0; qid < 3; qid++ {
		if max := c.MaxOffset(t, "harness-topic", qid); max != 0 {
			t.Fatalf("queue %d max offset %d, want 0", qid, max)
		}
	}
	if ids := c.ConsumerIDs(t, "nobody"); len(ids) != 0 {
		t.Fatalf("consumers of an unknown group: %v", ids)
	}
}

// Restart keeps the store directory, the topics and the addresses, the VIP channel's
// too, even when somebody holds listenPort - 2 (where a broker opened on a fixed port
// would put its VIP channel).
func TestRestartKeepsStoreAndAddress(t *testing.T) {
	t.Parallel()
	c := Start(t)
	c.CreateTopic(t, "kept", 2)
	addr, dir, vip := c.BrokerAddr(), c.StoreDir(), c.Broker().VIPAddr()
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port-2))); err == nil {
		defer ln.Close()
	} // else it is held already (by anybody, the VIP channel included): the same case
	before := c.Broker()
	c.Restart(t)
	if c.BrokerAddr() != addr || c.StoreDir() != dir || c.Broker().VIPAddr() != vip {
		t.Fatalf("after restart: addr %q dir %q vip %q, want %q %q %q", c.BrokerAddr(), c.StoreDir(), c.Broker().VIPAddr(), addr, dir, vip)
	}
	if c.Broker() == before {
		t.Fatalf("Broker() returns the closed broker after Restart")
	}
	r := c.WaitRoute(t, "kept", 0)
	if q, _ := r.Queue(DefaultBrokerName); q.ReadQueueNums != 2 {
		t.Fatalf("topic after restart: %+v, want 2 queues", q)
	}
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil || len(entries) == 0 {
		t.Fatalf("store dir after restart: %v entries, err %v", len(entries), err)
	}
}

// routeCases are the golden route bodies of TestDecodeRoute, also the fuzz seeds.
var routeCases = []struct {
	name string
	body string
	ok   bool
}{
	{"compact quoted keys", `{"queueDatas":[{"brokerName":"b","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicSysFlag":0}],"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":{"0":"127.0.0.1:10911"}}],"filterServerTable":{}}`, true},
	{"empty", `{"queueDatas":[],"brokerDatas":[]}`, true},
	{"null queueDatas", `{"queueDatas":null,"brokerDatas":[]}`, false},
	{"missing queueDatas", `{"brokerDatas":[]}`, false},
	{"missing brokerAddrs", `{"queueDatas":[],"brokerDatas":[{"cluster":"c","brokerName":"b"}]}`, false},
	{"spaced brokerAddrs", `{"queueDatas":[],"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":{"0": "127.0.0.1:10911"}}]}`, false},
	{"unquoted keys", `{"queueDatas":[],"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":{0:"127.0.0.1:10911"}}]}`, false},
	{"not json", `queueDatas`, false},
	{"null brokerAddrs", `{"queueDatas":[],"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":null}]}`, false},
	{"escaped brokerAddrs", `{"queueDatas":[],"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":{"0":"127.0.0.1\u003a1"}}]}`, false},
}

func TestDecodeRoute(t *testing.T) {
	for _, tc := range routeCases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeRoute([]byte(tc.body))
			if tc.ok != (err == nil) {
				t.Fatalf("decode %s: err %v, want ok=%v", tc.body, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrBadRoute) {
				t.Fatalf("decode error %v is not ErrBadRoute", err)
			}
			if tc.name == "compact quoted keys" && (r.MasterAddr("b") != "127.0.0.1:10911" || len(r.QueueDatas) != 1) {
				t.Fatalf("decoded %+v", r)
			}
		})
	}
}

// FuzzDecodeRoute: decodeRoute never panics, and a route it accepts, encoded again as
// compact JSON, decodes to the same value.
func FuzzDecodeRoute(f *testing.F) {
	for _, tc := range routeCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRoute(body)
		if err != nil {
			if !errors.Is(err, ErrBadRoute) {
				t.Fatalf("error %v is not ErrBadRoute", err)
			}
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // the route rules forbid escapes in brokerAddrs
		if err := enc.Encode(r); err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		again, err := decodeRoute(buf.Bytes())
		if err != nil {
			t.Fatalf("re-decode of %s (from %q): %v", buf.Bytes(), body, err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the route:\n%+v\n%+v", r, again)
		}
	})
}

func BenchmarkDecodeRoute(b *testing.B) {
	body := []byte(routeCases[0].body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRoute(body); err != nil {
			b.Fatal(err)
		}
	}
}
